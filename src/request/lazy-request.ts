import { LazyHeaders } from './lazy-headers.js';
import {
  bodyInput,
  bodyLengthToRead,
  type CgiRequestParts,
  DEFAULT_MAX_BODY_SIZE,
  type EnvToRequestOptions,
  partsToRequest,
} from './env-to-request.js';
import { realFetchClasses } from '../runtime/fetch-globals.js';
import { readRequestBody, readWholeBody, readWholeStream } from './request-body.js';

const REAL = Symbol('fetch-cgi.real-request');

/**
 * The request handed to the app while the bridge serves on Node: `method`, `url`, `signal`,
 * reading `headers` and reading the body (`body`, `text()`, `json()`, `arrayBuffer()`,
 * `bytes()`) work without Node's fetch classes, whose first use costs ~20 ms a request;
 * anything else (`clone()`, `formData()`, changing a header, ...) builds the runtime's real
 * `Request` first, once, and hands it the body as it stands. With the real classes loaded,
 * `instanceof Request` holds and `new Request(request)` or `fetch(request)` take it as the real
 * one.
 */
export class LazyRequest {
  readonly #parts: CgiRequestParts;
  readonly #options: EnvToRequestOptions;
  #headers: LazyHeaders | undefined;
  /** The body stream handed out by `body`, made on first use. */
  #body: ReadableStream<Uint8Array> | undefined;
  /** Whether the body was read (or its stream read or cancelled): it cannot be read again. */
  #bodyUsed = false;
  [REAL]: Request | undefined;

  constructor(parts: CgiRequestParts, options: EnvToRequestOptions & { signal: AbortSignal }) {
    this.#parts = parts;
    this.#options = options;
  }

  /** The real Request this one stands for, built on first use. */
  realRequest(): Request {
    if (this[REAL]) return this[REAL];
    const { Request } = realFetchClasses();
    const consumed = this.#bodyUsed || this.#body?.locked === true;
    // A body already read goes over as a used one: the real request then refuses to read or
    // clone it, as it would have itself.
    const body = consumed ? new ReadableStream<Uint8Array>() : this.#body;
    this[REAL] = partsToRequest(this.#parts, this.#options, Request, body);
    if (consumed) void this[REAL].body?.cancel();
    return this[REAL];
  }

  /** How much of stdin is the body, or undefined for none. */
  get #length(): number | 'eof' | undefined {
    return bodyLengthToRead(this.#parts, this.#options);
  }

  /** The whole body, read straight from the input (or from the stream `body` made). */
  #bodyBytes(): Promise<Uint8Array> {
    const length = this.#length;
    if (length === undefined) return Promise.resolve(new Uint8Array(0));
    if (this.#bodyUsed || this.#body?.locked) {
      return Promise.reject(new TypeError('Body is unusable: Body has already been read'));
    }
    this.#bodyUsed = true;
    if (this.#body) return readWholeStream(this.#body);
    return readWholeBody(bodyInput(this.#options), length, this.#maxBodySize);
  }

  get #maxBodySize(): number {
    return this.#options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  }

  get [Symbol.toStringTag](): string {
    return 'Request';
  }

  get method(): string {
    return this.#parts.method;
  }

  get url(): string {
    return this.#parts.url;
  }

  get signal(): AbortSignal {
    return this.#options.signal as AbortSignal;
  }

  get headers(): Headers {
    if (this[REAL]) return this[REAL].headers;
    this.#headers ??= new LazyHeaders(this.#parts.headers, () => this.realRequest().headers);
    return this.#headers as unknown as Headers;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this[REAL]) return this[REAL].body;
    const length = this.#length;
    if (length === undefined) return null;
    this.#body ??= readRequestBody(bodyInput(this.#options), length, this.#maxBodySize, () => {
      this.#bodyUsed = true;
    });
    return this.#body;
  }

  get bodyUsed(): boolean {
    return this[REAL] ? this[REAL].bodyUsed : this.#bodyUsed;
  }

  get cache(): RequestCache {
    return this.realRequest().cache;
  }

  get credentials(): RequestCredentials {
    return this.realRequest().credentials;
  }

  get destination(): RequestDestination {
    return this.realRequest().destination;
  }

  get integrity(): string {
    return this.realRequest().integrity;
  }

  get keepalive(): boolean {
    return this.realRequest().keepalive;
  }

  get mode(): RequestMode {
    return this.realRequest().mode;
  }

  get redirect(): RequestRedirect {
    return this.realRequest().redirect;
  }

  get referrer(): string {
    return this.realRequest().referrer;
  }

  get referrerPolicy(): ReferrerPolicy {
    return this.realRequest().referrerPolicy;
  }

  get duplex(): string | undefined {
    return (this.realRequest() as Request & { duplex?: string }).duplex;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this[REAL]) return this[REAL].arrayBuffer();
    return this.#bodyBytes().then((bytes) => bytes.buffer as ArrayBuffer);
  }

  blob(): Promise<Blob> {
    return this.realRequest().blob();
  }

  bytes(): Promise<Uint8Array> {
    const real = this[REAL] as (Request & { bytes?: () => Promise<Uint8Array> }) | undefined;
    if (!real) return this.#bodyBytes();
    return real.bytes ? real.bytes() : real.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  formData(): Promise<FormData> {
    return this.realRequest().formData();
  }

  json(): Promise<unknown> {
    if (this[REAL]) return this[REAL].json();
    return this.text().then((text) => JSON.parse(text) as unknown);
  }

  text(): Promise<string> {
    if (this[REAL]) return this[REAL].text();
    // UTF-8 decode as the Fetch standard does: a leading BOM dropped, bad bytes replaced.
    return this.#bodyBytes().then((bytes) => new TextDecoder().decode(bytes));
  }

  clone(): Request {
    return this.realRequest().clone();
  }
}

/** The real Request behind a {@link LazyRequest}; anything else is returned as it is. */
export function unwrapRequest(input: unknown): unknown {
  return input instanceof LazyRequest ? input.realRequest() : input;
}
