import { HOP_BY_HOP, TOKEN } from '../http/syntax.js';
import { quote } from '../http/quote.js';
import { localRedirectPath } from './local-redirect.js';
import { bodyByteLength, isInMemory, type ResponseParts, responseParts } from './response-parts.js';
import { reasonPhrase } from './status-text.js';

/** How a response head is written. */
export interface HeadOptions {
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
  /**
   * The web server is nginx, which buffers a response from a CGI, FastCGI or SCGI backend by
   * default (faster for answers in memory): a body that streams then gets
   * `X-Accel-Buffering: no`, which nginx reads and removes, so the stream reaches the client as
   * it is written. An app's own `X-Accel-Buffering` is left as it is.
   */
  behindNginx?: boolean;
}

const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The CGI response header block for `response` (RFC 3875 section 6): `Status: NNN Reason`
 * first (busybox httpd only recognises it there), every field on its own CRLF line, each
 * `Set-Cookie` separately, then the blank line. Throws a `TypeError` for a field that could
 * inject a line; nothing can reach the output through the status text.
 */
export function formatResponseHead(response: Response, options: HeadOptions = {}): string {
  return headOf(response, responseParts(response), options);
}

/** The head for `response` whose parts were already read. */
export function headOf(response: Response, parts: ResponseParts, options: HeadOptions = {}): string {
  const localPath = localRedirectPath(response);
  // RFC 3875 section 6.2.2: a local redirect is the Location field and nothing else.
  if (localPath !== undefined) return `Location: ${localPath}\r\n\r\n`;
  return formatHead(parts, options);
}

/** The header block for response parts; see {@link formatResponseHead}. */
export function formatHead(parts: ResponseParts, options: HeadOptions = {}): string {
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
  let hasAccelBuffering = false;
  let hasLength = false;
  for (const [name, value] of parts.fields) {
    // The status is ours to write: an app's own `Status` field would make a second one.
    if (HOP_BY_HOP.has(name) || name === 'status') continue;
    if (name === 'content-length') {
      if (noContent) continue;
      hasLength = true;
    }
    if (name === 'date') hasDate = true;
    if (name === 'x-accel-buffering') hasAccelBuffering = true;
    const field = name === 'location' ? withBase(value, options.locationBase) : value;
    head += formatField(name, field);
  }
  for (const cookie of parts.cookies) head += formatField('set-cookie', cookie);
  const { body } = parts;
  // A body held whole has a known length: with it the server can keep its client's connection
  // without chunking (nginx chunks a length-less answer to HTTP/1.1 clients, which costs it CPU
  // and its client a round of parsing) and HTTP/1.0 clients need no close to see the end.
  // Not for HEAD: the body the app gave then may be empty where GET's would not be.
  if (!hasLength && !noContent && options.method !== 'HEAD' && isInMemory(body)) {
    head += `Content-Length: ${bodyByteLength(body)}\r\n`;
  }
  if (options.behindNginx && !hasAccelBuffering && !isInMemory(body)) head += 'X-Accel-Buffering: no\r\n';
  if (options.nph) {
    if (!hasDate) head += `Date: ${new Date().toUTCString()}\r\n`;
    // NPH output has no length the server could reuse the connection with.
    head += 'Connection: close\r\n';
  }
  return `${head}\r\n`;
}

function formatField(name: string, value: string): string {
  if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) {
    throw new TypeError(`fetch-cgi: the app's response has an invalid ${quote(name)} header`);
  }
  return `${canonicalName(name)}: ${value}\r\n`;
}

/** Canonical names made so far: an app sends the same few fields with every response. */
const canonicalNames = new Map<string, string>();

/** `content-type` as `Content-Type`: servers that pass headers through raw show them this way. */
function canonicalName(name: string): string {
  let canonical = canonicalNames.get(name);
  if (canonical === undefined) {
    canonical = name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
    // Bounded: the names are the app's, and a long-lived process sees many responses.
    if (canonicalNames.size < 256) canonicalNames.set(name, canonical);
  }
  return canonical;
}

function withBase(location: string, base: string | undefined): string {
  if (!base || !location.startsWith('/') || location.startsWith('//')) return location;
  return base + location;
}

function statusLineProtocol(protocol: string | undefined): string {
  // Only HTTP/1.x has status lines; behind HTTP/2 or HTTP/3 the server speaks 1.1 to the script.
  return protocol === 'HTTP/1.0' ? protocol : 'HTTP/1.1';
}
