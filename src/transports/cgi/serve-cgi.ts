import { Exchange, type ExchangeOptions, type Outcome } from '../../core/exchange.js';
import { prepareFetchClasses } from '../../core/fetch-classes.js';
import type { BodySource } from '../../request/request-body.js';
import type { CgiOutput } from '../../response/output.js';
import type { CgiApp, CgiEnv } from '../../types.js';
import { type ProcessIo, takeOverProcessIo } from './process-io.js';
import { ProcessStdin } from './process-stdin.js';

/** How one CGI request is served; see {@link serveCgiRequest}. */
export interface CgiRequestOptions extends Omit<ExchangeOptions, 'nph' | 'lazyRequest'> {
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
  /** NPH output (RFC 3875 section 5); default: when the script's name starts with `nph-`. */
  nph?: boolean;
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

/** The exit codes serveCgi settles with (docs/api.md, "Errors and exit codes"). */
export const EXIT = { ok: 0, failed: 1, notCgi: 2, terminated: 143 } as const;

const NOT_CGI =
  'fetch-cgi: not running under CGI (REQUEST_METHOD and GATEWAY_INTERFACE are unset) nor on a socket (FETCH_CGI_LISTEN, LISTEN_FDS or fd 0): let a web server run this file as a CGI or FastCGI program, or try it with `npx fetch-cgi request <script> /`';

/**
 * The CGI front door: serves the one request this process was started for (see serveCgi in
 * src/serve-cgi.ts, which picks it): reads the meta-variables and stdin, runs the exchange
 * with stdout as its sink, and settles with the exit code once the response is written and
 * `ctx.waitUntil` work is done; with the process's own stdout it then ends the process.
 */
export async function serveCgiRequest(app: CgiApp, options: CgiRequestOptions = {}): Promise<number> {
  // One copy: every read of process.env is a call into C++ (some 2 µs), and the bridge reads many.
  // The exchange adds FETCH_CGI_BASE to the map it is given: never the caller's own.
  const env = { ...(options.env ?? process.env) };
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
  const lazyRequest = prepareFetchClasses(options.lazyFetch ?? ownProcess);
  const io = ownProcess ? takeOverProcessIo() : undefined;
  const exchange = new Exchange({
    app,
    params: env,
    openBody: (length) => options.stdin ?? (stdin as ProcessStdin).open(length),
    sink: io?.output ?? (options.stdout as CgiOutput),
    log,
    options: { ...options, nph: options.nph ?? isNphScript(env), lazyRequest },
    ...(io?.ready ? { ready: io.ready } : {}),
  });
  io?.onTerminate(() => exchange.abort('SIGTERM from the server before the response was complete'));
  if (ownProcess) {
    process.on('uncaughtException', (error) => exchange.fail(error).then((outcome) => exit(exitCode(outcome))));
    // The event loop emptied with the app's promise unsettled: nothing would ever answer.
    process.once('beforeExit', () => exchange.stalled().then((outcome) => exit(exitCode(outcome))));
  }

  const outcome = await exchange.run();
  io?.responseDone();
  if (outcome.kind === 'sent' || outcome.kind === 'refused' || outcome.kind === 'failed') {
    await afterResponse(exchange, io, stdin, options.waitUntilTimeout ?? 30_000);
  }
  return exit(exitCode(outcome));
}

/** The exit code for how the exchange ended. */
function exitCode(outcome: Outcome): number {
  switch (outcome.kind) {
    case 'sent':
    case 'refused':
      return EXIT.ok;
    case 'gone':
      return outcome.reason === 'aborted' ? EXIT.terminated : EXIT.ok;
    default:
      return EXIT.failed;
  }
}

/** Whether the script's file name starts with `nph-`: its output is then a full HTTP response. */
function isNphScript(env: CgiEnv): boolean {
  const path = env.SCRIPT_NAME || env.SCRIPT_FILENAME || process.argv[1] || '';
  return path.slice(path.lastIndexOf('/') + 1).startsWith('nph-');
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
 * body: at once when the app never started reading it, else once its waitUntil work, which may still be
 * reading it, is done. Meanwhile the server sees the response end. With neither, the process
 * simply ends, which closes everything.
 */
async function afterResponse(
  exchange: Exchange,
  io: ProcessIo | undefined,
  stdin: ProcessStdin | undefined,
  waitUntilTimeout: number,
): Promise<void> {
  const length = exchange.bodyLength;
  const rest = stdin?.hasRestToDrop(length) === true;
  const tasks = exchange.hasBackgroundWork;
  if (!rest && !tasks) return;
  io?.detachOutput();
  const appMayRead = tasks && stdin?.started === true;
  if (rest && !appMayRead) await stdin?.dropRest(length);
  if (!tasks) return;
  if (!(rest && appMayRead)) io?.closeInput();
  await exchange.settleBackgroundWork(waitUntilTimeout);
  if (rest && appMayRead) await stdin?.dropRest(length);
}
