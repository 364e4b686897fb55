import { realFetchClasses, realFetchLoaded } from '../runtime/fetch-globals.js';
import { normalizeHeaderFields } from './header-fields.js';

/** A response body the writer can send as it is, without the fetch classes. */
export type DirectBody = string | Uint8Array | ReadableStream<unknown> | null;

/** What the writer needs of a response: status, fields, cookies and body. */
export interface ResponseParts {
  status: number;
  statusText: string;
  /** Lower-case names in sorted order, repeated names joined with ", ", as `Headers` iterates. */
  fields: [string, string][];
  /** Every Set-Cookie value, in order. */
  cookies: string[];
  body: DirectBody;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;
const LIGHT = Symbol('fetch-cgi.light-response');

interface LightState {
  body: BodyInit | null | undefined;
  init: ResponseInit | undefined;
  parts: ResponseParts | undefined;
  real: Response | undefined;
}

/**
 * The global `Response` while the bridge serves on Node: the same constructor and members, but
 * the body and init are only stored, so `new Response('hi')` costs nothing and the writer sends
 * it straight from its parts. The runtime's real Response is built the first time the app
 * reads something a stored body cannot answer (`headers`, `body`, `text()`, `clone()`, ...).
 */
export class LightResponse {
  readonly [LIGHT]: LightState;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    const state: LightState = { body, init, parts: undefined, real: undefined };
    this[LIGHT] = state;
    const direct = directBody(body);
    if (direct === undefined) {
      state.real = new (realFetchClasses().Response)(body, init);
      return;
    }
    const status = init?.status ?? 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(
        `Response constructor: init.status must be in the range of 200 to 599, inclusive (got ${status})`,
      );
    }
    const statusText = init?.statusText ?? '';
    if (!REASON_PHRASE.test(String(statusText))) throw new TypeError('Response constructor: invalid statusText');
    if (direct !== null && NULL_BODY_STATUS.has(status)) {
      throw new TypeError(`Response constructor: Invalid response status code ${status}`);
    }
    const { fields, cookies } = normalizeHeaderFields(
      init?.headers,
      typeof direct === 'string' ? 'text/plain;charset=UTF-8' : undefined,
    );
    state.parts = { status, statusText: String(statusText), fields, cookies, body: direct };
  }

  static json(data: unknown, init?: ResponseInit): LightResponse {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the value cannot be serialised to JSON');
    const { fields, cookies } = normalizeHeaderFields(init?.headers, 'application/json');
    const headers = [...fields, ...cookies.map((cookie): [string, string] => ['set-cookie', cookie])];
    return new LightResponse(text, { ...init, headers });
  }

  static redirect(url: string | URL, status = 302): Response {
    return realFetchClasses().Response.redirect(url, status);
  }

  static error(): Response {
    return realFetchClasses().Response.error();
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    if (isLight(value)) return true;
    return realFetchLoaded() && Function.prototype[Symbol.hasInstance].call(realFetchClasses().Response, value);
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }

  get status(): number {
    return this[LIGHT].parts?.status ?? real(this).status;
  }

  get statusText(): string {
    return this[LIGHT].parts?.statusText ?? real(this).statusText;
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get type(): ResponseType {
    return this[LIGHT].parts ? 'default' : real(this).type;
  }

  get url(): string {
    return this[LIGHT].parts ? '' : real(this).url;
  }

  get redirected(): boolean {
    return this[LIGHT].parts ? false : real(this).redirected;
  }

  get bodyUsed(): boolean {
    return this[LIGHT].parts ? false : real(this).bodyUsed;
  }

  get headers(): Headers {
    return real(this).headers;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return real(this).body;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return real(this).arrayBuffer();
  }

  blob(): Promise<Blob> {
    return real(this).blob();
  }

  bytes(): Promise<Uint8Array> {
    const response = real(this) as Response & { bytes?: () => Promise<Uint8Array> };
    return response.bytes ? response.bytes() : response.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }

  formData(): Promise<FormData> {
    return real(this).formData();
  }

  json(): Promise<unknown> {
    return real(this).json();
  }

  text(): Promise<string> {
    return real(this).text();
  }

  clone(): Response {
    return real(this).clone();
  }
}

/**
 * The parts of a light response that the app has not turned into a real one, or undefined
 * (then read the response through its public members).
 */
export function lightResponseParts(response: object): ResponseParts | undefined {
  return isLight(response) ? response[LIGHT].parts : undefined;
}

function isLight(value: unknown): value is LightResponse {
  return typeof value === 'object' && value !== null && LIGHT in value;
}

/** The real Response this light one stands for, built once; the stored parts are then stale. */
function real(response: LightResponse): Response {
  const state = response[LIGHT];
  if (!state.real) {
    state.real = new (realFetchClasses().Response)(state.body, state.init);
    state.parts = undefined;
  }
  return state.real;
}

function directBody(body: BodyInit | null | undefined): DirectBody | undefined {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (typeof (body as ReadableStream).getReader === 'function') return body as ReadableStream;
  return undefined;
}
