import { DEFAULT_MAX_BODY_SIZE, partsToRequest, requestParts } from './env-to-request.js';
import { CgiBodyError, CgiEnvError } from './errors.js';
import { executionContext, settleBackgroundWork } from './execution-context.js';
import type { BodySource } from './request-body.js';
import { takeOverProcessIo } from './process-io.js';
import { reasonPhrase } from './status-text.js';
import type { CgiApp, CgiEnv } from './types.js';
import { type CgiOutput, endOutput, formatResponseHead, writeResponseBody } from './write-response.js';

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
  /** How long `ctx.waitUntil` work may run after the response, in ms (default 30 000). */
  waitUntilTimeout?: number;
  /** End the process when done (default: when `stdout` is the process's own). */
  exit?: boolean;
}

const NOT_CGI =
  'fetch-cgi: not running under CGI (REQUEST_METHOD and GATEWAY_INTERFACE are unset): let a web server run this file as a CGI script, or try it with `npx fetch-cgi request <script> /`';
const EXIT = { ok: 0, failed: 1, notCgi: 2, terminated: 143 } as const;

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
  const env = options.env ?? process.env;
  const ownProcess = options.stdout === undefined;
  const stderr = options.stderr ?? process.stderr;
  const log = (text: string) => void stderr.write(`${text}\n`);
  const exit = (code: number) => {
    if (options.exit ?? ownProcess) process.exit(code);
    return code;
  };
  if (!env.REQUEST_METHOD && !env.GATEWAY_INTERFACE) {
    log(NOT_CGI);
    return exit(EXIT.notCgi);
  }
  if (env === process.env) {
    // httpoxy: a client's `Proxy:` header must never become the app's HTTP client proxy.
    delete process.env.HTTP_PROXY;
    delete process.env.http_proxy;
  }
  const io = ownProcess ? takeOverProcessIo() : undefined;
  const exchange = new Exchange(app, env, options, io?.output ?? (options.stdout as CgiOutput), log);
  io?.onTerminate(() => exchange.clientGone('sigterm'));
  if (ownProcess) process.on('uncaughtException', (error) => exchange.crash(error).then(exit));

  const code = await exchange.run();
  io?.responseDone();
  if (exchange.tasks.length > 0 && exchange.gone === undefined) {
    io?.detach();
    await settleBackgroundWork(exchange.tasks, options.waitUntilTimeout ?? 30_000, log);
  }
  return exit(code);
}

/** One request and its response, with the state every error path needs. */
class Exchange {
  readonly tasks: Promise<unknown>[] = [];
  gone: 'epipe' | 'sigterm' | undefined;
  #headSent = false;
  #method = 'GET';
  readonly #abort = new AbortController();
  readonly #goneSignal: Promise<void>;
  #markGone!: () => void;

  constructor(
    readonly app: CgiApp,
    readonly env: CgiEnv,
    readonly options: ServeCgiOptions,
    readonly output: CgiOutput,
    readonly log: (text: string) => void,
  ) {
    this.#goneSignal = new Promise((resolve) => (this.#markGone = resolve));
    output.on('error', () => this.clientGone('epipe'));
  }

  clientGone(why: 'epipe' | 'sigterm'): void {
    if (this.gone) return;
    this.gone = why;
    if (why === 'sigterm') this.log('fetch-cgi: SIGTERM from the server before the response was complete; stopping');
    this.#abort.abort(new DOMException('The client went away', 'AbortError'));
    this.#markGone();
  }

  async run(): Promise<number> {
    let parts;
    try {
      parts = requestParts(this.env, this.options);
    } catch (error) {
      if (!(error instanceof CgiEnvError)) throw error;
      this.log(error.message);
      return this.#sendPlain(error.status, EXIT.ok);
    }
    this.#method = parts.method;
    const request = partsToRequest(parts, {
      input: () => this.options.stdin ?? process.stdin,
      signal: this.#abort.signal,
      maxBodySize: this.options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
    });
    const appEnv: CgiEnv = { ...this.env, FETCH_CGI_BASE: parts.base };
    delete appEnv.HTTP_PROXY;
    delete appEnv.http_proxy;

    let response: Response;
    let head: string;
    try {
      const result = await Promise.race([this.#call(request, appEnv), this.#goneSignal]);
      if (this.gone) return this.#goneCode();
      response = checkedResponse(result);
      head = formatResponseHead(response, this.#headOptions(parts.base));
    } catch (error) {
      if (this.gone) return this.#goneCode();
      return this.#fail(error, request);
    }
    return this.#send(head, response, EXIT.ok);
  }

  /** An error outside the request flow (an uncaught exception in the app's callbacks). */
  async crash(error: unknown): Promise<number> {
    this.log(`fetch-cgi: uncaught exception in the app\n${stack(error)}`);
    if (!this.#headSent && !this.gone) await this.#sendPlain(500, EXIT.failed);
    return EXIT.failed;
  }

  #call(request: Request, env: CgiEnv): Promise<unknown> {
    const ctx = executionContext(this.tasks, this.log);
    const { app } = this;
    if (typeof app === 'function') return Promise.resolve(app(request, env, ctx));
    if (app && typeof app.fetch === 'function') return Promise.resolve(app.fetch(request, env, ctx));
    throw new TypeError(
      `fetch-cgi: serveCgi(app) needs a function or an object with a fetch method, got ${describe(app)}`,
    );
  }

  async #fail(error: unknown, request: Request): Promise<number> {
    const bodyError = findBodyError(error);
    if (bodyError) {
      this.log(bodyError.message);
      return this.#sendPlain(bodyError.status, EXIT.ok);
    }
    this.log(`fetch-cgi: the app failed before sending a response\n${stack(error)}`);
    try {
      const custom = await this.options.onError?.(error, request);
      if (custom)
        return await this.#send(
          formatResponseHead(checkedResponse(custom), this.#headOptions('')),
          custom,
          EXIT.failed,
        );
    } catch (hookError) {
      this.log(`fetch-cgi: the onError hook failed too\n${stack(hookError)}`);
    }
    return this.#sendPlain(500, EXIT.failed);
  }

  #sendPlain(status: number, code: number): Promise<number> {
    const response = new Response(reasonPhrase(status, ''), {
      status,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
    return this.#send(formatResponseHead(response), response, code);
  }

  async #send(head: string, response: Response, code: number): Promise<number> {
    if (this.#headSent) return code;
    this.#headSent = true;
    try {
      this.output.write(Buffer.from(head, 'latin1'));
      await writeResponseBody(response, this.output, { method: this.#method, signal: this.#abort.signal });
      await endOutput(this.output);
      return this.gone ? this.#goneCode() : code;
    } catch (error) {
      if (this.gone) return this.#goneCode();
      this.log(`fetch-cgi: the response failed after its headers were sent\n${stack(error)}`);
      return EXIT.failed;
    }
  }

  #goneCode(): number {
    return this.gone === 'sigterm' ? EXIT.terminated : EXIT.ok;
  }

  #headOptions(base: string) {
    const name = (this.env.SCRIPT_NAME || this.env.SCRIPT_FILENAME || process.argv[1] || '').split('/').pop() ?? '';
    return {
      method: this.#method,
      nph: this.options.nph ?? name.startsWith('nph-'),
      protocol: this.env.SERVER_PROTOCOL ?? 'HTTP/1.1',
      locationBase: this.options.stripBase === false ? '' : base,
    };
  }
}

/** A Response, or anything shaped like one (another realm's, undici's from npm). */
function checkedResponse(value: unknown): Response {
  const candidate = value as Response | null;
  if (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.status === 'number' &&
    typeof candidate.headers?.get === 'function' &&
    'body' in candidate
  ) {
    return candidate;
  }
  throw new TypeError(`fetch-cgi: the app returned ${describe(value)} instead of a Response`);
}

function findBodyError(error: unknown): CgiBodyError | undefined {
  for (let cause = error, depth = 0; cause && depth < 5; depth += 1) {
    if (cause instanceof CgiBodyError) return cause;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value === 'string' ? 'a string' : String(value);
}

function stack(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}
