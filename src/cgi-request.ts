import { CgiHeaders } from './cgi-headers.js';
import { type CgiRequestParts, type EnvToRequestOptions, partsToRequest } from './env-to-request.js';
import { realFetchClasses } from './fetch-globals.js';

const REAL = Symbol('fetch-cgi.real-request');

/**
 * The request handed to the app while the bridge serves on Node: `method`, `url`, `signal` and
 * reading `headers` answer at once; anything else (`body`, `text()`, `clone()`, changing a
 * header, ...) builds the runtime's real `Request` first, once. With the real classes loaded, `instanceof Request` holds
 * and `new Request(request)` or `fetch(request)` take it as the real one.
 */
export class CgiRequest {
  readonly #parts: CgiRequestParts;
  readonly #options: EnvToRequestOptions;
  #headers: CgiHeaders | undefined;
  [REAL]: Request | undefined;

  constructor(parts: CgiRequestParts, options: EnvToRequestOptions & { signal: AbortSignal }) {
    this.#parts = parts;
    this.#options = options;
  }

  /** The real Request this one stands for, built on first use. */
  realRequest(): Request {
    this[REAL] ??= partsToRequest(this.#parts, this.#options, realFetchClasses().Request);
    return this[REAL];
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
    this.#headers ??= new CgiHeaders(this.#parts.headers, () => this.realRequest().headers);
    return this.#headers as unknown as Headers;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.realRequest().body;
  }

  get bodyUsed(): boolean {
    return this[REAL]?.bodyUsed ?? false;
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
    return this.realRequest().arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.realRequest().blob();
  }

  bytes(): Promise<Uint8Array> {
    const request = this.realRequest() as Request & { bytes?: () => Promise<Uint8Array> };
    return request.bytes ? request.bytes() : request.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  formData(): Promise<FormData> {
    return this.realRequest().formData();
  }

  json(): Promise<unknown> {
    return this.realRequest().json();
  }

  text(): Promise<string> {
    return this.realRequest().text();
  }

  clone(): Request {
    return this.realRequest().clone();
  }
}

/** The real Request behind a {@link CgiRequest}; anything else is returned as it is. */
export function unwrapRequest(input: unknown): unknown {
  return input instanceof CgiRequest ? input.realRequest() : input;
}
