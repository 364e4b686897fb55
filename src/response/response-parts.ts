import { lightResponseParts, type ResponseParts } from './light-response.js';

export type { DirectBody, ResponseParts } from './light-response.js';

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

function setCookies(headers: Headers): string[] {
  if (typeof headers.getSetCookie === 'function') return headers.getSetCookie();
  const combined = headers.get('set-cookie');
  return combined === null ? [] : [combined];
}

/** Whether a response body is already in memory: no stream to read. */
export function isInMemory(body: ResponseParts['body']): body is string | Uint8Array | null {
  return body === null || typeof body === 'string' || body instanceof Uint8Array;
}

/** The string whose UTF-8 length was last counted, and that length: see {@link bodyByteLength}. */
let countedBody = '';
let countedLength = 0;

/**
 * Bytes of a body held whole. The head's Content-Length and the write of head and body both
 * need it, one right after the other: the last string counted is remembered, so a page is
 * counted once (a scan of every character, ~0.25 µs for 1.5 KB). One string is kept, until the
 * next is counted.
 */
export function bodyByteLength(body: string | Uint8Array | null): number {
  if (body === null) return 0;
  if (typeof body !== 'string') return body.byteLength;
  if (body !== countedBody) {
    countedLength = Buffer.byteLength(body);
    countedBody = body;
  }
  return countedLength;
}
