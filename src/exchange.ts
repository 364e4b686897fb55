import { CgiRequest } from './cgi-request.js';
import { CgiResponse, type ResponseParts } from './cgi-response.js';
import { DEFAULT_MAX_BODY_SIZE, partsToRequest, requestParts } from './env-to-request.js';
import { CgiBodyError, CgiEnvError } from './errors.js';
import { executionContext } from './execution-context.js';
import type { ServeCgiOptions } from './serve-cgi.js';
import type { BodyLength, BodySource } from './request-body.js';
import { reasonPhrase } from './status-text.js';
import type { CgiApp, CgiEnv } from './types.js';
import { type CgiOutput, endOutput } from './output.js';
import { formatHead, headOf, responseParts, writeHeadAndBody } from './write-response.js';

/** The exit codes serveCgi settles with (docs/api.md, "Errors and exit codes"). */
export const EXIT = { ok: 0, failed: 1, notCgi: 2, terminated: 143 } as const;

/** One request and its response, with the state every error path needs. */
export class Exchange {
  readonly tasks: Promise<unknown>[] = [];
  gone: 'epipe' | 'sigterm' | 'timeout' | undefined;
  #headSent = false;
  #done = false;
  #method = 'GET';
  /** How much of the input is the request body, once the environment has been read. */
  bodyLength: BodyLength;
  // Made on first use: AbortController loads a dozen of Node's modules, and most requests
  // never read request.signal nor wait for the output to drain.
  #abort: AbortController | undefined;
  readonly #goneSignal: Promise<void>;
  #markGone!: () => void;

  constructor(
    readonly app: CgiApp,
    readonly env: CgiEnv,
    readonly options: ServeCgiOptions,
    readonly output: CgiOutput,
    readonly log: (text: string) => void,
    readonly lazy: boolean,
    /** The process's stdin as the source of a body of the given length, opened when the app reads. */
    readonly openInput: (length: BodyLength) => BodySource,
    /** Settles when stderr is safe to write and the app may run (Bun checks it asynchronously). */
    readonly ready?: Promise<void>,
  ) {
    this.#goneSignal = new Promise((resolve) => (this.#markGone = resolve));
    output.on('error', () => this.clientGone('epipe'));
  }

  get #signal(): AbortSignal {
    return (this.#abort ??= new AbortController()).signal;
  }

  /** `options` with a `signal` that is made when first read. */
  #withLazySignal<T extends object>(options: T): T & { readonly signal: AbortSignal } {
    return Object.defineProperty(options, 'signal', { get: () => this.#signal, enumerable: true }) as T & {
      readonly signal: AbortSignal;
    };
  }

  clientGone(why: 'epipe' | 'sigterm' | 'timeout'): void {
    if (this.gone || this.#done) return;
    this.gone = why;
    if (why === 'sigterm') this.log('fetch-cgi: SIGTERM from the server before the response was complete; stopping');
    if (why === 'timeout') {
      this.log(`fetch-cgi: no complete response after ${this.options.timeout} ms (the timeout option); stopping`);
    }
    (this.#abort ??= new AbortController()).abort(new DOMException('The client went away', 'AbortError'));
    this.#markGone();
  }

  async run(): Promise<number> {
    let timeoutAnswer: Promise<number> | undefined;
    const timer = this.options.timeout
      ? setTimeout(() => (timeoutAnswer = this.#timedOut()), this.options.timeout)
      : undefined;
    try {
      const code = await this.#respond();
      return timeoutAnswer ? await timeoutAnswer : code;
    } finally {
      this.#done = true;
      clearTimeout(timer);
    }
  }

  async #respond(): Promise<number> {
    let parts;
    try {
      parts = requestParts(this.env, this.options);
    } catch (error) {
      if (!(error instanceof CgiEnvError)) throw error;
      if (this.ready) await this.ready;
      this.log(error.message);
      return this.#sendPlain(error.status, EXIT.ok);
    }
    this.#method = parts.method;
    this.bodyLength = parts.bodyLength;
    const bodyOptions = this.#withLazySignal({
      input: () => this.openInput(parts.bodyLength),
      maxBodySize: this.options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
    });
    const request = this.lazy
      ? (new CgiRequest(parts, bodyOptions) as unknown as Request)
      : partsToRequest(parts, bodyOptions);
    const appEnv: CgiEnv = { ...this.env, FETCH_CGI_BASE: parts.base };
    delete appEnv.HTTP_PROXY;
    delete appEnv.http_proxy;

    let response: Response;
    let head: string;
    let body: ResponseParts;
    // Awaited this late so that the check overlaps the work above.
    if (this.ready) await this.ready;
    try {
      const result = await Promise.race([this.#call(request, appEnv), this.#goneSignal]);
      if (this.gone) return this.#goneCode();
      response = checkedResponse(result);
      body = responseParts(response);
      head = headOf(response, body, this.#headOptions(parts.base));
    } catch (error) {
      if (this.gone) return this.#goneCode();
      return this.#fail(error, request);
    }
    return this.#send(head, body, EXIT.ok);
  }

  /** An error outside the request flow (an uncaught exception in the app's callbacks). */
  async crash(error: unknown): Promise<number> {
    this.log(`fetch-cgi: uncaught exception in the app\n${stack(error)}`);
    if (!this.#headSent && !this.gone) await this.#sendPlain(500, EXIT.failed);
    return EXIT.failed;
  }

  /** The process ran out of work while the app never answered. */
  async stalled(): Promise<number> {
    if (this.#done) return EXIT.ok;
    this.log("fetch-cgi: the app's response never settled and nothing is left to wait for");
    if (!this.#headSent && !this.gone) await this.#sendPlain(500, EXIT.failed);
    return EXIT.failed;
  }

  #timedOut(): Promise<number> {
    const sent = this.#headSent;
    this.clientGone('timeout');
    return sent ? Promise.resolve(EXIT.failed) : this.#sendPlain(504, EXIT.failed, true);
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
      if (custom) {
        const response = checkedResponse(custom);
        const parts = responseParts(response);
        return await this.#send(headOf(response, parts, this.#headOptions('')), parts, EXIT.failed);
      }
    } catch (hookError) {
      this.log(`fetch-cgi: the onError hook failed too\n${stack(hookError)}`);
    }
    return this.#sendPlain(500, EXIT.failed);
  }

  /** A short plain-text response the bridge itself gives (400, 413, 500, 504, ...). */
  #sendPlain(status: number, code: number, evenIfGone = false): Promise<number> {
    const parts: ResponseParts = {
      status,
      statusText: '',
      fields: [['content-type', 'text/plain; charset=utf-8']],
      cookies: [],
      body: reasonPhrase(status, ''),
    };
    return this.#send(formatHead(parts, { method: this.#method }), parts, code, evenIfGone);
  }

  async #send(head: string, parts: ResponseParts, code: number, evenIfGone = false): Promise<number> {
    if (this.#headSent || (this.gone && !evenIfGone)) return code;
    this.#headSent = true;
    // The writer reads the signal only when it has to wait: a stream, or a full output.
    const options = evenIfGone ? { method: this.#method } : this.#withLazySignal({ method: this.#method });
    try {
      await writeHeadAndBody(head, parts, this.output, options);
      await endOutput(this.output);
      return this.gone && !evenIfGone ? this.#goneCode() : code;
    } catch (error) {
      if (this.gone) return this.#goneCode();
      this.log(`fetch-cgi: the response failed after its headers were sent\n${stack(error)}`);
      return EXIT.failed;
    }
  }

  #goneCode(): number {
    if (this.gone === 'sigterm') return EXIT.terminated;
    return this.gone === 'timeout' ? EXIT.failed : EXIT.ok;
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
  if (value instanceof CgiResponse) return value as unknown as Response;
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
