import { HOP_BY_HOP, TOKEN } from './http-syntax.js';
import { type CgiOutput, drained, drainWaiter, endOutput } from './output.js';
import { lightResponseParts, type ResponseParts } from './cgi-response.js';
import { localRedirectPath } from './local-redirect.js';
import { reasonPhrase } from './status-text.js';
import { quote } from './quote.js';

export interface WriteResponseOptions {
  /** The request method: a HEAD response gets no body (RFC 9110 section 9.3.2). */
  method?: string;
  /**
   * Non-parsed-header output (RFC 3875 section 5): a full HTTP status line instead of
   * `Status:`, for scripts whose file name starts with `nph-`.
   */
  nph?: boolean;
  /** SERVER_PROTOCOL, which the NPH status line follows (default `HTTP/1.1`). */
  protocol?: string;
  /**
   * Public prefix put in front of a root-relative `Location` (`/login` becomes
   * `/cgi-bin/app.cgi/login`), so redirects written for the root work behind any mount.
   */
  locationBase?: string;
  /** Stops the body mid-stream when aborted (the client went away). */
  signal?: AbortSignal;
}

const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Statuses that never have a body, whatever the app put in the `Response`. */
export function forbidsBody(status: number, method?: string): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * What the writer sends for `response`: a light response's stored parts, or a real one's
 * status, fields (sorted, as `Headers` iterates them), Set-Cookie values and body.
 */
export function responseParts(response: Response): ResponseParts {
  const light = lightResponseParts(response);
  if (light) return light;
  // The body first: a lazy response (srvx's, which h3 returns) lists the Content-Type its body
  // implies only once it has built the real Response, which reading the body does.
  const body = response.body;
  const fields: [string, string][] = [];
  for (const [name, value] of response.headers) if (name !== 'set-cookie') fields.push([name, value]);
  return {
    status: response.status,
    statusText: response.statusText ?? '',
    fields,
    cookies: setCookies(response.headers),
    body,
  };
}

/**
 * The CGI response header block for `response` (RFC 3875 section 6): `Status: NNN Reason`
 * first (busybox httpd only recognises it there), every field on its own CRLF line, each
 * `Set-Cookie` separately, then the blank line. Throws a `TypeError` for a field that could
 * inject a line; nothing can reach the output through the status text.
 */
export function formatResponseHead(response: Response, options: WriteResponseOptions = {}): string {
  return headOf(response, responseParts(response), options);
}

/** The head for `response` whose parts were already read. */
export function headOf(response: Response, parts: ResponseParts, options: WriteResponseOptions = {}): string {
  const localPath = localRedirectPath(response);
  // RFC 3875 section 6.2.2: a local redirect is the Location field and nothing else.
  if (localPath !== undefined) return `Location: ${localPath}\r\n\r\n`;
  return formatHead(parts, options);
}

/** The header block for response parts; see {@link formatResponseHead}. */
export function formatHead(parts: ResponseParts, options: WriteResponseOptions = {}): string {
  const { status } = parts;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new TypeError(`fetch-cgi: the app's response has status ${status}, which HTTP cannot send`);
  }
  const reason = reasonPhrase(status, parts.statusText);
  let head = options.nph
    ? `${statusLineProtocol(options.protocol)} ${status} ${reason}\r\n`
    : `Status: ${status} ${reason}\r\n`;
  const noContent = status === 204 || status === 304;
  let hasDate = false;
  for (const [name, value] of parts.fields) {
    // The status is ours to write: an app's own `Status` field would make a second one.
    if (HOP_BY_HOP.has(name) || name === 'status') continue;
    if (name === 'content-length' && noContent) continue;
    if (name === 'date') hasDate = true;
    const field = name === 'location' ? withBase(value, options.locationBase) : value;
    head += formatField(name, field);
  }
  for (const cookie of parts.cookies) head += formatField('set-cookie', cookie);
  if (options.nph) {
    if (!hasDate) head += `Date: ${new Date().toUTCString()}\r\n`;
    // NPH output has no length the server could reuse the connection with.
    head += 'Connection: close\r\n';
  }
  return `${head}\r\n`;
}

/**
 * Writes `response` to `output` as CGI bytes: the head, then the body chunk by chunk as the
 * app produces it, waiting for `'drain'` whenever `output` is full, then ends `output`.
 * No body for HEAD, 204 and 304. Rejects if the body stream fails or `output` breaks.
 */
export async function writeResponse(
  response: Response,
  output: CgiOutput,
  options: WriteResponseOptions = {},
): Promise<void> {
  const parts = responseParts(response);
  await writeHeadAndBody(headOf(response, parts, options), parts, output, options);
  await endOutput(output);
}

/**
 * Writes a head and then the body. A body already in memory goes out in the same write as the
 * head: one write lets the server answer in one packet (two small ones meet Nagle's algorithm
 * and delayed ACKs on a kept-alive connection: a ~40 ms stall through Apache).
 */
export async function writeHeadAndBody(
  head: string,
  parts: Pick<ResponseParts, 'status' | 'body'>,
  output: CgiOutput,
  options: Pick<WriteResponseOptions, 'method' | 'signal'> = {},
): Promise<void> {
  const { body } = parts;
  const inMemory = typeof body === 'string' || body instanceof Uint8Array;
  if (inMemory && !forbidsBody(parts.status, options.method)) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const whole = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + bytes.byteLength);
    const headLength = whole.write(head, 'latin1');
    whole.set(bytes, headLength);
    if (!output.write(whole)) await drained(output, options.signal);
    return;
  }
  output.write(Buffer.from(head, 'latin1'));
  await writeBody(parts, output, options);
}

/** Sends the body of `parts` to `output` with backpressure; cancels a stream it may not send. */
export async function writeBody(
  parts: Pick<ResponseParts, 'status' | 'body'>,
  output: CgiOutput,
  options: Pick<WriteResponseOptions, 'method' | 'signal'> = {},
): Promise<void> {
  const { body } = parts;
  if (body === null) return;
  const streamed = typeof body === 'object' && !(body instanceof Uint8Array);
  if (forbidsBody(parts.status, options.method)) {
    if (streamed) await body.cancel().catch(() => {});
    return;
  }
  if (!streamed) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (bytes.byteLength > 0 && !output.write(bytes)) await drained(output, options.signal);
    return;
  }
  const { signal } = options;
  const reader = body.getReader();
  const wait = drainWaiter(output, signal, () => void reader.cancel(signal?.reason).catch(() => {}));
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (signal?.aborted) throw signal.reason;
      if (done) return;
      const chunk = toBytes(value);
      if (chunk.byteLength === 0) continue;
      if (!output.write(chunk)) await wait.drained();
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    wait.dispose();
    reader.releaseLock();
  }
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`fetch-cgi: the response body stream produced a ${typeof value}, not bytes`);
}

function formatField(name: string, value: string): string {
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
    throw new TypeError(`fetch-cgi: the app's response has an invalid ${quote(name)} header`);
  }
  return `${canonicalName(name)}: ${value}\r\n`;
}

/** `content-type` as `Content-Type`: servers that pass headers through raw show them this way. */
function canonicalName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

function setCookies(headers: Headers): string[] {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie();
  const combined = headers.get('set-cookie');
  return combined === null ? [] : [combined];
}

function withBase(location: string, base: string | undefined): string {
  if (!base || !location.startsWith('/') || location.startsWith('//')) return location;
  return base + location;
}

function statusLineProtocol(protocol: string | undefined): string {
  // Only HTTP/1.x has status lines; behind HTTP/2 or HTTP/3 the server speaks 1.1 to the script.
  return protocol === 'HTTP/1.0' ? protocol : 'HTTP/1.1';
}
