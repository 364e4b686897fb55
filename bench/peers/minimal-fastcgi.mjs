// The limit row of the persistent-mode bench: the least a FastCGI responder in Node can do per
// request. It frames records, ignores params and body, and answers every request with the same
// bytes: no framework, no Request, no Response. Listens on 127.0.0.1:$PORT; keeps connections.
import { createServer } from 'node:net';

const body = 'Content-Type: text/plain; charset=UTF-8\r\nContent-Length: 5\r\n\r\nHello';

/** STDOUT with the answer, the empty STDOUT, END_REQUEST: one buffer per request id. */
function answer(id) {
  const out = Buffer.from(body, 'latin1');
  const pad = (8 - (out.length % 8)) % 8;
  const bytes = Buffer.alloc(8 + out.length + pad + 8 + 16);
  bytes.set([1, 6, id >> 8, id & 255, out.length >> 8, out.length & 255, pad, 0], 0);
  out.copy(bytes, 8);
  let at = 8 + out.length + pad;
  bytes.set([1, 6, id >> 8, id & 255, 0, 0, 0, 0], at);
  bytes.set([1, 3, id >> 8, id & 255, 0, 8, 0, 0], at + 8);
  return bytes;
}
const answers = new Map();

createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    let data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (data.length - at >= 8) {
      const length = (data[at + 4] << 8) | data[at + 5];
      const size = 8 + length + data[at + 6];
      if (data.length - at < size) break;
      const type = data[at + 1];
      const id = (data[at + 2] << 8) | data[at + 3];
      // The empty STDIN record ends a request: answer it.
      if (type === 5 && length === 0) {
        let bytes = answers.get(id);
        if (!bytes) answers.set(id, (bytes = answer(id)));
        socket.write(bytes);
      }
      at += size;
    }
    pending = data.subarray(at);
  });
  socket.on('error', () => socket.destroy());
}).listen(Number(process.env.PORT), '127.0.0.1');
