import type { CgiApp } from './types.js';
import { type CgiRequestOptions, serveCgiRequest } from './transports/cgi/serve-cgi.js';
import type { SocketServeOptions } from './transports/socket/serve-socket.js';

/**
 * How serveCgi serves: the CGI options, and for a process started on a socket (FastCGI, SCGI)
 * the socket's. The environment's `FETCH_CGI_*` settings fill what is left open here.
 */
export interface ServeCgiOptions extends CgiRequestOptions, SocketServeOptions {}

/**
 * Serves a fetch-style app the way the process was started, with no change to the app:
 *
 * - with CGI meta-variables (REQUEST_METHOD or GATEWAY_INTERFACE), or injected streams: the one
 *   CGI request, as a CGI script; settles with the exit code and ends the process;
 * - without them, on a socket: `FETCH_CGI_LISTEN` (an address), systemd's `LISTEN_FDS`, or fd 0
 *   when it is a listening socket (Apache mod_fcgid, lighttpd `bin-path`, spawn-fcgi): FastCGI
 *   and SCGI, many requests at once, until SIGTERM.
 *
 * Options never come from argv: a CGI query string without `=` reaches a script as argv
 * (RFC 3875 section 4.4), so the client controls it.
 *
 * @example
 * import { Hono } from 'hono';
 * import { serveCgi } from 'fetch-cgi';
 * const app = new Hono().get('/', (c) => c.text(`Hello from ${c.env.SERVER_SOFTWARE}`));
 * serveCgi(app);
 */
export async function serveCgi(app: CgiApp, options: ServeCgiOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const injected = options.env !== undefined || options.stdin !== undefined || options.stdout !== undefined;
  if (injected || env.REQUEST_METHOD || env.GATEWAY_INTERFACE) return serveCgiRequest(app, options);
  // Loaded only here: a CGI request never pays for the socket code.
  const socket = await import('./transports/socket/serve-process.js');
  let target;
  try {
    target = socket.listenTargetFromEnvironment(process.env);
  } catch (error) {
    (options.stderr ?? process.stderr).write(`${(error as Error).message}\n`);
    if (options.exit ?? true) process.exit(2);
    return 2;
  }
  // Neither CGI nor a socket: the CGI door says why it cannot serve.
  if (!target) return serveCgiRequest(app, options);
  return socket.serveProcess(app, target, options);
}
