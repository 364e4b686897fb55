import { alignBunResponse } from './bun-response.js';
import { CgiHeaders } from './cgi-headers.js';
import { CgiRequest, unwrapRequest } from './cgi-request.js';
import { CgiResponse } from './cgi-response.js';
import { EXIT, Exchange } from './exchange.js';
import { settleBackgroundWork } from './execution-context.js';
import { fetchClassesUnloaded, installLightFetch } from './fetch-globals.js';
import { type ProcessIo, takeOverProcessIo } from './process-io.js';
import type { BodyLength, BodySource } from './request-body.js';
import { ProcessStdin } from './stdin.js';
import type { CgiApp, CgiEnv } from './types.js';
import type { CgiOutput } from './output.js';
export interface ServeCgiOptions {
  /** The meta-variables (default `process.env`). */
  env?: CgiEnv;
  /** The request body source (default `process.stdin`, opened only when there is a body). */
  stdin?: BodySource;
  /**
   * The HTTP channel (default `process.stdout`). With the default, stray output such as
   * `console.log` is sent to stderr while the bridge runs, and the process exits when done.
   */
  stdout?: CgiOutput;
  /** Where diagnostics go (default `process.stderr`). Never the client. */
  stderr?: { write(text: string): unknown };
  /** Largest request body accepted, in bytes; larger gives 413 (default 1 GiB, as Apache). */
  maxBodySize?: number;
  /**
   * Route on the path after the script (default true): `/cgi-bin/app.cgi/users/42` and
   * `/users/42` rewritten to it both reach the app as `/users/42`, the public prefix is
   * `env.FETCH_CGI_BASE`, and a root-relative `Location` gets it back. False hands the app the
   * public URL unchanged.
   */
  stripBase?: boolean;
  /** NPH output (RFC 3875 section 5); default: when the script's name starts with `nph-`. */
  nph?: boolean;
  /**
   * Called when the app throws or returns something that is not a Response, before anything was
   * sent; may return the Response to send instead of the generic 500. The error's stack goes to
   * stderr either way, never to the client.
   */
  onError?: (error: unknown, request: Request) => Response | undefined | void | Promise<Response | undefined | void>;
  /**
   * Longest time for the whole response, in ms (default: none). When it runs out, a 504 if
   * nothing was sent yet, else the response is cut off; one line on stderr either way.
   */
  timeout?: number;
  /** How long `ctx.waitUntil` work may run after the response, in ms (default 30 000). */
  waitUntilTimeout?: number;
  /** End the process when done (default: when `stdout` is the process's own). */
  exit?: boolean;
  /**
   * Defer loading Node's fetch classes until the app uses them, with a lazy request and a light
   * global `Response` (default: on Node when serving on the process's own stdout). Saves some
   * 20 ms per request; the app sees no difference.
   */
  lazyFetch?: boolean;
}

const NOT_CGI =
  'fetch-cgi: not running under CGI (REQUEST_METHOD and GATEWAY_INTERFACE are unset): let a web server run this file as a CGI script, or try it with `npx fetch-cgi request <script> /`';

/**
 * Serves one CGI request with a fetch-style app: reads the meta-variables and stdin, calls
 * `app` with a `Request`, the environment and an execution context, and writes the `Response`
 * to stdout as a CGI response. Settles with the exit code once the response is written and
 * `ctx.waitUntil` work is done; with the process's own stdout it then ends the process.
 *
 * @example
 * import { Hono } from 'hono';
 * import { serveCgi } from 'fetch-cgi';
 * const app = new Hono().get('/', (c) => c.text(`Hello from ${c.env.SERVER_SOFTWARE}`));
 * serveCgi(app);
 */
export async function serveCgi(app: CgiApp, options: ServeCgiOptions = {}): Promise<number> {
  // One copy: every read of process.env is a call into C++ (some 2 µs), and the bridge reads many.
  const env = options.env ?? { ...process.env };
  const ownProcess = options.stdout === undefined;
  // process.stderr is only built when there is something to say.
  const log = (text: string) => void (options.stderr ?? process.stderr).write(`${text}\n`);
  const stdin = options.stdin === undefined ? new ProcessStdin() : undefined;
  const exit = (code: number) => {
    if (!(options.exit ?? ownProcess)) return code;
    if (stdin?.reading) exitDespiteBlockedRead();
    process.exit(code);
  };
  if (!env.REQUEST_METHOD && !env.GATEWAY_INTERFACE) {
    log(NOT_CGI);
    return exit(EXIT.notCgi);
  }
  if (options.env === undefined) {
    // httpoxy: a client's `Proxy:` header must never become the app's HTTP client proxy.
    delete process.env.HTTP_PROXY;
    delete process.env.http_proxy;
  }
  const lazy = (options.lazyFetch ?? ownProcess) && fetchClassesUnloaded();
  if (lazy)
    installLightFetch({ request: CgiRequest, response: CgiResponse, headers: CgiHeaders, unwrap: unwrapRequest });
  else alignBunResponse();
  const io = ownProcess ? takeOverProcessIo() : undefined;
  const openInput = (length: BodyLength) => options.stdin ?? (stdin as ProcessStdin).open(length);
  const output = io?.output ?? (options.stdout as CgiOutput);
  const exchange = new Exchange(app, env, options, output, log, lazy, openInput, io?.ready);
  io?.onTerminate(() => exchange.clientGone('sigterm'));
  if (ownProcess) {
    process.on('uncaughtException', (error) => exchange.crash(error).then(exit));
    // The event loop emptied with the app's promise unsettled: nothing would ever answer.
    process.once('beforeExit', () => exchange.stalled().then(exit));
  }

  const code = await exchange.run();
  io?.responseDone();
  if (exchange.gone === undefined) await afterResponse(exchange, io, stdin, options.waitUntilTimeout ?? 30_000, log);
  return exit(code);
}

/**
 * Ends the process while a read of stdin waits in libuv's thread pool (a stalled upload, when a
 * timeout, SIGTERM or a crash ends the request): `process.exit` joins those threads and would
 * wait forever, so only a signal can end it. The server sees the script killed by SIGTERM.
 */
function exitDespiteBlockedRead(): void {
  process.removeAllListeners('SIGTERM');
  process.kill(process.pid, 'SIGTERM');
}

/**
 * What is left once the response is written: waitUntil work, and the rest of a request body the
 * app did not read, which is dropped (see ProcessStdin) as Node's http server dumps an unread
 * body: at once when the app never opened it, else once its waitUntil work, which may still be
 * reading it, is done. Meanwhile the server sees the response end. With neither, the process
 * simply ends, which closes everything.
 */
async function afterResponse(
  exchange: Exchange,
  io: ProcessIo | undefined,
  stdin: ProcessStdin | undefined,
  waitUntilTimeout: number,
  log: (text: string) => void,
): Promise<void> {
  const length = exchange.bodyLength;
  const rest = stdin?.hasRestToDrop(length) === true;
  const tasks = exchange.tasks.length > 0;
  if (!rest && !tasks) return;
  io?.detachOutput();
  const appMayRead = tasks && stdin?.opened === true;
  if (rest && !appMayRead) await stdin?.dropRest(length);
  if (!tasks) return;
  if (!(rest && appMayRead)) io?.closeInput();
  await settleBackgroundWork(exchange.tasks, waitUntilTimeout, log);
  if (rest && appMayRead) await stdin?.dropRest(length);
}
