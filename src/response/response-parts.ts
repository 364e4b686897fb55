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
