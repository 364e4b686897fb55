import { CgiEnvError } from '../errors.js';
import { DEFAULT_MAX_BODY_SIZE, partsToRequest, requestParts } from '../request/env-to-request.js';
import { LazyRequest } from '../request/lazy-request.js';
import type { BodyLength, BodySource } from '../request/request-body.js';
import { type CgiOutput, drained, endOutput } from '../response/output.js';
import { formatHead, type HeadOptions, headOf } from '../response/response-head.js';
import { reasonPhrase } from '../response/status-text.js';
import { isInMemory, type ResponseParts, responseParts } from '../response/response-parts.js';
import { writeHeadAndBody, writeWhole } from '../response/write-response.js';
import type { CgiApp, CgiEnv } from '../types.js';
import { callApp, checkedResponse, findBodyError, stack } from './call-app.js';
import { executionContext, settleBackgroundWork } from './execution-context.js';

/** What every front door may tune about an exchange. */
export interface ExchangeOptions {
  /** Largest request body accepted, in bytes; larger gives 413 (default 1 GiB, as Apache). */
  maxBodySize?: number;
  /**
   * Route on the path after the script (default true): `/cgi-bin/app.cgi/users/42` and
   * `/users/42` rewritten to it both reach the app as `/users/42`, the public prefix is
   * `env.FETCH_CGI_BASE`, and a root-relative `Location` gets it back. False hands the app the
   * public URL unchanged.
   */
  stripBase?: boolean;
  /** NPH output (RFC 3875 section 5): a full status line instead of `Status:` (default false). */
  nph?: boolean;
  /**
   * Called when the app throws or returns something that is not a Response, before anything was
   * sent; may return the Response to send instead of the generic 500. The error's stack goes to
   * the log either way, never to the client.
   */
  onError?: (error: unknown, request: Request) => Response | undefined | void | Promise<Response | undefined | void>;
  /**
   * Longest time for the whole response, in ms (default: none). When it runs out, a 504 if
   * nothing was sent yet, else the response is cut off; one line in the log either way.
   */
  timeout?: number;
  /** Hand the app a lazy request (request/lazy-request.ts) instead of the runtime's Request. */
  lazyRequest?: boolean;
}

/** One exchange: a request's meta-variables, where its body comes from and its response goes. */
export interface ExchangeInit {
  app: CgiApp;
  /**
   * The request's meta-variables: a CGI environment, FastCGI params, SCGI headers. The
   * exchange's own: they become the app's `env`, with FETCH_CGI_BASE added and HTTP_PROXY gone.
   */
  params: CgiEnv;
  /** Opens the source of a body of `length` bytes; called only when the app reads a body. */
  openBody(length: number | 'eof'): BodySource;
  /** Where the response bytes go; an 'error' there means the client went away. */
  sink: CgiOutput;
  /** Takes one diagnostic (a line, or a stack); never the client's. */
  log(text: string): void;
  options?: ExchangeOptions;
  /** Awaited before the app runs or anything is logged (Bun checks stderr asynchronously). */
  ready?: Promise<void>;
}

/** How an exchange ended: what a front door turns into an exit code or a protocol status. */
export type Outcome =
  /** The app's response, whole. */
  | { kind: 'sent'; status: number }
  /** The bridge answered a request it could not hand the app (400, 413, 501). */
  | { kind: 'refused'; status: number }
  /** The app failed: a generic 500 (or onError's answer) went out, or the response was cut off. */
  | { kind: 'failed'; headSent: boolean }
  /** The timeout ran out: a 504 went out, or the response was cut off. */
  | { kind: 'timed-out'; headSent: boolean }
  /** The client went away, or the front door aborted the exchange: nothing more was sent. */
  | { kind: 'gone'; reason: 'client' | 'aborted' };

/**
 * One request and its response, knowing nothing of processes or sockets: builds the `Request`
 * from the meta-variables, calls the app, writes the `Response` to the sink with backpressure,
 * and keeps the request's `signal` and `waitUntil` work. Every error of the exchange ends in
 * its outcome; none escapes it.
 */
export class Exchange {
  readonly #init: ExchangeInit;
  readonly #options: ExchangeOptions;
  readonly #tasks: Promise<unknown>[] = [];
  #gone: 'client' | 'aborted' | 'timeout' | undefined;
  #headSent = false;
  #outcome: Outcome | undefined;
  #method = 'GET';
  #bodyLength: BodyLength;
  // Made on first use: AbortController loads a dozen of Node's modules, and most requests
  // never read request.signal nor wait for the output to drain.
  #abort: AbortController | undefined;
  /** Ends the wait for the app's promised answer when the exchange stops early (#awaitAnswer). */
  #endWait: ((outcome: Outcome) => void) | undefined;

  constructor(init: ExchangeInit) {
    this.#init = init;
    this.#options = init.options ?? {};
    init.sink.on('error', () => this.#stop('client'));
  }

  /** How much of the body input is this request's, once the meta-variables have been read. */
  get bodyLength(): BodyLength {
    return this.#bodyLength;
  }

  /** How the exchange ended, once it has: at once, when `run()` could answer without waiting. */
  get outcome(): Outcome | undefined {
    return this.#outcome;
  }

  /** Whether the app left `waitUntil` work. */
  get hasBackgroundWork(): boolean {
    return this.#tasks.length > 0;
  }

  /** Waits for the `waitUntil` work, at most `timeout` ms in all; logs what was left unfinished. */
  settleBackgroundWork(timeout: number): Promise<void> {
    return settleBackgroundWork(this.#tasks, timeout, this.#init.log);
  }

  /**
   * The front door gives up on the exchange (SIGTERM, FastCGI's ABORT_REQUEST): logs `reason`
   * once, aborts `request.signal` and stops the response. Nothing after it is done.
   */
  abort(reason: string): void {
    if (this.#gone || this.#outcome) return;
    this.#init.log(`fetch-cgi: ${reason}; stopping`);
    this.#stop('aborted');
  }

  /** The front door learnt that the client went away (a closed connection): stops quietly. */
  clientGone(): void {
    this.#stop('client');
  }

  /** Serves the request; settles once the response is written (or abandoned), never rejects. */
  run(): Promise<Outcome> {
    const answer = this.start();
    return answer instanceof Promise ? answer : Promise.resolve(answer);
  }

  /**
   * As `run()`, but an outcome known at once (most: the app answered without waiting, with a
   * body in memory) comes back as it is, not in a promise, for a front door that serves
   * thousands of requests a second.
   */
  start(): Outcome | Promise<Outcome> {
    // The client went away while the request waited for its turn: the app is not called.
    if (this.#gone) return (this.#outcome = this.#goneOutcome());
    if (this.#options.timeout) return this.#runTimed(this.#options.timeout);
    // No awaits on the way when the app answers at once with a body in memory (most answers):
    // each would cost a turn of the microtask queue, per request, in a long-lived process.
    let answer: Outcome | Promise<Outcome>;
    try {
      answer = this.#respond();
    } catch (error) {
      return this.#internalError(error);
    }
    if (!isThenable(answer)) return (this.#outcome = answer);
    return answer.then(
      (outcome) => (this.#outcome = outcome),
      (error: unknown) => this.#internalError(error),
    );
  }

  async #runTimed(timeout: number): Promise<Outcome> {
    let timeoutAnswer: Promise<Outcome> | undefined;
    const timer = setTimeout(() => (timeoutAnswer = this.#timedOut()), timeout);
    try {
      const outcome = await this.#respond();
      this.#outcome = timeoutAnswer ? await timeoutAnswer : outcome;
    } catch (error) {
      this.#internalError(error);
    } finally {
      clearTimeout(timer);
    }
    return this.#outcome as Outcome;
  }

  /** A bug of the bridge's own: logged, and the exchange still ends. */
  #internalError(error: unknown): Outcome {
    this.#init.log(`fetch-cgi: internal error\n${stack(error)}`);
    return (this.#outcome = { kind: 'failed', headSent: this.#headSent });
  }

  /** An error from outside the request flow (an uncaught exception in the app's callbacks). */
  async fail(error: unknown): Promise<Outcome> {
    this.#init.log(`fetch-cgi: uncaught exception in the app\n${stack(error)}`);
    if (!this.#headSent && !this.#gone) await this.#sendPlain(500, { kind: 'failed', headSent: false });
    return { kind: 'failed', headSent: this.#headSent };
  }

  /** Nothing is left that could settle the app's promise: answers 500 if the exchange is open. */
  async stalled(): Promise<Outcome> {
    if (this.#outcome) return this.#outcome;
    this.#init.log("fetch-cgi: the app's response never settled and nothing is left to wait for");
    if (!this.#headSent && !this.#gone) await this.#sendPlain(500, { kind: 'failed', headSent: false });
    return { kind: 'failed', headSent: this.#headSent };
  }

  #stop(why: 'client' | 'aborted' | 'timeout'): void {
    if (this.#gone || this.#outcome) return;
    this.#gone = why;
    (this.#abort ??= new AbortController()).abort(new DOMException('The client went away', 'AbortError'));
    this.#endWait?.(this.#goneOutcome());
  }

  /** `request.signal`, made when first read. */
  get signal(): AbortSignal {
    return (this.#abort ??= new AbortController()).signal;
  }

  #respond(): Outcome | Promise<Outcome> {
    const { params, ready } = this.#init;
    let parts;
    try {
      parts = requestParts(params, this.#options);
    } catch (error) {
      if (!(error instanceof CgiEnvError)) throw error;
      return this.#refuse(error);
    }
    this.#method = parts.method;
    this.#bodyLength = parts.bodyLength;
    const bodyOptions = new BodyOptions(
      this,
      () => this.#init.openBody(parts.bodyLength as number | 'eof'),
      this.#options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
    );
    const request = this.#options.lazyRequest
      ? (new LazyRequest(parts, bodyOptions) as unknown as Request)
      : partsToRequest(parts, bodyOptions);
    // The params are this exchange's own (see ExchangeInit): they become the app's env.
    params.FETCH_CGI_BASE = parts.base;
    // httpoxy: a client's `Proxy:` header must never reach the app as a proxy setting.
    if (params.HTTP_PROXY !== undefined) delete params.HTTP_PROXY;
    if (params.http_proxy !== undefined) delete params.http_proxy;
    const base = parts.base;
    // Awaited this late so that the check overlaps the work above.
    if (ready) return ready.then(() => this.#callApp(request, base));
    return this.#callApp(request, base);
  }

  async #refuse(error: CgiEnvError): Promise<Outcome> {
    if (this.#init.ready) await this.#init.ready;
    this.#init.log(error.message);
    return this.#sendPlain(error.status, { kind: 'refused', status: error.status });
  }

  #callApp(request: Request, base: string): Outcome | Promise<Outcome> {
    let result: unknown;
    try {
      const ctx = executionContext(this.#tasks, this.#init.log);
      result = callApp(this.#init.app, request, this.#init.params, ctx);
    } catch (error) {
      return this.#appFailed(error, request);
    }
    // Most apps answer with a promise; waiting for it ends when the exchange stops early.
    if (isThenable(result)) return this.#awaitAnswer(result, request, base);
    return this.#answer(result, request, base);
  }

  /**
   * The answer once the app's promise settles, or the end as soon as the exchange stops early
   * (the client went away, an abort, the timeout): #stop resolves the same promise first, and
   * the app's late answer then finds the exchange gone and sends nothing. One promise and one
   * reaction: an async function racing a second promise made five, and each is a call into
   * async_hooks when the app uses AsyncLocalStorage (Hono's JSX does).
   *
   * The exchange keeps the promise's own resolve function, never a closure of this scope: with
   * an arrow function kept there (`() => settle(...)`), the request, its answer and the app's
   * promise survived two scavenges and went to the old generation, 0.4-1 MB at every scavenge
   * under ApacheBench with an AsyncLocalStorage app, where keeping `resolve` leaves none
   * (docs/performance.md, "A closure kept on the exchange").
   */
  #awaitAnswer(result: PromiseLike<unknown>, request: Request, base: string): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.#endWait = resolve;
      if (this.#gone) return resolve(this.#goneOutcome());
      const settle = (next: () => Outcome | Promise<Outcome>) => {
        try {
          resolve(next());
        } catch (error) {
          reject(error);
        }
      };
      try {
        result.then(
          (value) => settle(() => this.#answer(value, request, base)),
          (error: unknown) => settle(() => this.#appFailed(error, request)),
        );
      } catch (error) {
        settle(() => this.#appFailed(error, request));
      }
    });
  }

  #answer(value: unknown, request: Request, base: string): Outcome | Promise<Outcome> {
    if (this.#gone) return this.#goneOutcome();
    let head: string;
    let body: ResponseParts;
    try {
      const response = checkedResponse(value);
      body = responseParts(response);
      head = headOf(response, body, this.#headOptions(base));
    } catch (error) {
      return this.#appFailed(error, request);
    }
    return this.#send(head, body, { kind: 'sent', status: body.status });
  }

  #appFailed(error: unknown, request: Request): Outcome | Promise<Outcome> {
    if (this.#gone) return this.#goneOutcome();
    return this.#failed(error, request);
  }

  #timedOut(): Promise<Outcome> {
    const headSent = this.#headSent;
    this.#init.log(`fetch-cgi: no complete response after ${this.#options.timeout} ms (the timeout option); stopping`);
    this.#stop('timeout');
    const outcome: Outcome = { kind: 'timed-out', headSent };
    return Promise.resolve(headSent ? outcome : this.#sendPlain(504, outcome, true));
  }

  async #failed(error: unknown, request: Request): Promise<Outcome> {
    const bodyError = findBodyError(error);
    if (bodyError) {
      this.#init.log(bodyError.message);
      return this.#sendPlain(bodyError.status, { kind: 'refused', status: bodyError.status });
    }
    this.#init.log(`fetch-cgi: the app failed before sending a response\n${stack(error)}`);
    const failed: Outcome = { kind: 'failed', headSent: false };
    try {
      const custom = await this.#options.onError?.(error, request);
      if (custom) {
        const response = checkedResponse(custom);
        const parts = responseParts(response);
        return await this.#send(headOf(response, parts, this.#headOptions('')), parts, failed);
      }
    } catch (hookError) {
      this.#init.log(`fetch-cgi: the onError hook failed too\n${stack(hookError)}`);
    }
    return this.#sendPlain(500, failed);
  }

  /** A short plain-text response the bridge itself gives (400, 413, 500, 504, ...). */
  #sendPlain(status: number, outcome: Outcome, evenIfGone = false): Outcome | Promise<Outcome> {
    const parts: ResponseParts = {
      status,
      statusText: '',
      fields: [['content-type', 'text/plain; charset=utf-8']],
      cookies: [],
      body: reasonPhrase(status, ''),
    };
    return this.#send(formatHead(parts, { method: this.#method }), parts, outcome, evenIfGone);
  }

  #send(head: string, parts: ResponseParts, outcome: Outcome, evenIfGone = false): Outcome | Promise<Outcome> {
    if (this.#headSent || (this.#gone && !evenIfGone)) return outcome;
    this.#headSent = true;
    const { sink } = this.#init;
    const { body } = parts;
    if (sink.endsAtOnce && isInMemory(body) && writeWhole(head, { status: parts.status, body }, sink, this.#method)) {
      sink.end();
      return this.#gone && !evenIfGone ? this.#goneOutcome() : outcome;
    }
    return this.#sendWaiting(head, parts, outcome, evenIfGone);
  }

  /** #send for a body that streams, or an output that makes the writer wait. */
  async #sendWaiting(head: string, parts: ResponseParts, outcome: Outcome, evenIfGone: boolean): Promise<Outcome> {
    const { sink } = this.#init;
    // The writer reads the signal only when it has to wait: a stream, or a full sink.
    const options = evenIfGone ? { method: this.#method } : new WriteOptions(this, this.#method);
    try {
      if (sink.endsAtOnce && isInMemory(parts.body)) await drained(sink, evenIfGone ? undefined : this.signal);
      else await writeHeadAndBody(head, parts, sink, options);
      await endOutput(sink);
      return this.#gone && !evenIfGone ? this.#goneOutcome() : outcome;
    } catch (error) {
      if (this.#gone) return this.#goneOutcome();
      this.#init.log(`fetch-cgi: the response failed after its headers were sent\n${stack(error)}`);
      return { kind: 'failed', headSent: true };
    }
  }

  #goneOutcome(): Outcome {
    if (this.#gone === 'timeout') return { kind: 'timed-out', headSent: this.#headSent };
    return { kind: 'gone', reason: this.#gone === 'aborted' ? 'aborted' : 'client' };
  }

  #headOptions(base: string): HeadOptions {
    const { params } = this.#init;
    return {
      method: this.#method,
      nph: this.#options.nph ?? false,
      protocol: params.SERVER_PROTOCOL ?? 'HTTP/1.1',
      locationBase: this.#options.stripBase === false ? '' : base,
      behindNginx: params.SERVER_SOFTWARE?.startsWith('nginx') ?? false,
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** The body source of an exchange's request, its limit, and `signal`, made when first read. */
class BodyOptions {
  constructor(
    readonly exchange: Exchange,
    readonly input: () => BodySource,
    readonly maxBodySize: number,
  ) {}

  get signal(): AbortSignal {
    return this.exchange.signal;
  }
}

/** How the writer sends an exchange's response: the method, and `signal`, made when first read. */
class WriteOptions {
  constructor(
    readonly exchange: Exchange,
    readonly method: string,
  ) {}

  get signal(): AbortSignal {
    return this.exchange.signal;
  }
}
