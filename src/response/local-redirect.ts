import { quote } from '../http/quote.js';

const LOCAL_REDIRECT = Symbol.for('fetch-cgi.local-redirect');

/**
 * A CGI local redirect (RFC 3875 section 6.2.2): the server itself serves `path` instead, and
 * the client never sees a redirect. Only servers that implement it (Apache) do so; elsewhere
 * prefer an ordinary `Response.redirect()`, which is sent as a client redirect with its status.
 *
 * @example
 * app.get('/old', () => localRedirect('/cgi-bin/app.cgi/new'));
 */
export function localRedirect(path: string): Response {
  if (!path.startsWith('/') || path.startsWith('//') || !/^[\x21-\x7e]+$/.test(path)) {
    throw new TypeError(`fetch-cgi: a local redirect needs an absolute path such as /index.html, got ${quote(path)}`);
  }
  const response = new Response(null, { headers: { location: path } });
  Object.defineProperty(response, LOCAL_REDIRECT, { value: path });
  return response;
}

/** The path of a response made by {@link localRedirect}, else undefined. */
export function localRedirectPath(response: object): string | undefined {
  return (response as { [LOCAL_REDIRECT]?: string })[LOCAL_REDIRECT];
}
