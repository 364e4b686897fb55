// node-fastcgi, Node's other FastCGI library (an imitation of http.createServer), with a plain
// handler: the peer fetch-cgi + Hono is to beat. Listens on 127.0.0.1:$PORT.
import fcgi from 'node-fastcgi';

fcgi
  .createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' });
    response.end('Hello');
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
