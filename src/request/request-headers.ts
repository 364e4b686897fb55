import { TOKEN, trimOws } from '../http/syntax.js';
import type { CgiEnv } from '../types.js';

// What the Headers class accepts in a value once it has been turned into bytes.
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const PRINTABLE_ASCII = /^[\t\x20-\x7e]*$/;

// Never taken from HTTP_*: the real CONTENT_* variables win (RFC 3875 section 4.1.2/4.1.3),
// `Proxy` is the httpoxy vector, and a de-chunked body no longer has a transfer coding.
const SKIPPED = new Set(['HTTP_CONTENT_LENGTH', 'HTTP_CONTENT_TYPE', 'HTTP_PROXY', 'HTTP_TRANSFER_ENCODING']);

/**
 * The request's header fields as [name, value] pairs: every HTTP_* meta-variable
 * (RFC 3875 section 4.1.18) with underscores turned back into dashes, plus CONTENT_TYPE and
 * the body length the bridge will deliver. Values are given back as the bytes the client sent
 * (latin1 strings, as node:http does); fields the Headers class would reject are left out.
 */
export function requestHeaderEntries(env: CgiEnv, contentLength: number | undefined): [string, string][] {
  const entries: [string, string][] = [];
  for (const variable in env) {
    if (!variable.startsWith('HTTP_') || SKIPPED.has(variable)) continue;
    const value = env[variable];
    // RFC 3875 section 4.1: an empty variable is the same as an unset one (python sets HTTP_COOKIE='').
    if (!value) continue;
    const name = variable.slice(5).replaceAll('_', '-').toLowerCase();
    if (!TOKEN.test(name)) continue;
    const field = headerValue(value);
    if (field !== undefined) entries.push([name, field]);
  }
  // Apache's `RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]`, the shared-hosting
  // substitute for CGIPassAuth, arrives renamed by the internal redirect.
  const redirected = env.HTTP_AUTHORIZATION ? undefined : env.REDIRECT_HTTP_AUTHORIZATION;
  const authorization = redirected && headerValue(redirected);
  if (authorization) entries.push(['authorization', authorization]);
  const type = env.CONTENT_TYPE && headerValue(env.CONTENT_TYPE);
  if (type) entries.push(['content-type', type]);
  if (contentLength !== undefined) entries.push(['content-length', String(contentLength)]);
  return entries;
}

/** The header value as the bytes the server received, or undefined if no header can hold it. */
function headerValue(value: string): string | undefined {
  const bytes = PRINTABLE_ASCII.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
  return HEADER_VALUE.test(bytes) ? trimOws(bytes) : undefined;
}
