import { bytesToEnvText } from '../http/syntax.js';
import type { CgiEnv } from '../types.js';
import { quote } from '../http/quote.js';

/** What `requestToEnv` needs to know that a `Request` does not carry. */
export interface RequestToEnvOptions {
  /**
   * URL path of the script, without a trailing slash: `/cgi-bin/app.cgi`, or `''` when the
   * script answers at the site root (RFC 3875 section 4.1.13). The request path must equal it
   * or continue it with `/`.
   */
  scriptName: string;
  /** Absolute file name of the script (SCRIPT_FILENAME, set by Apache, lighttpd, nginx). */
  scriptFilename?: string;
  /** File-system folder the site is served from; also enables PATH_TRANSLATED (section 4.1.6). */
  documentRoot?: string;
  /** Network address of the client (section 4.1.8). */
  remoteAddr: string;
  /** Port of the client (not in RFC 3875; every common server sets REMOTE_PORT). */
  remotePort?: number | string;
  /** Defaults to the request URL's host name (section 4.1.14). */
  serverName?: string;
  /** Defaults to the request URL's port, or 80 / 443 for its scheme (section 4.1.15). */
  serverPort?: number | string;
  /** Defaults to `fetch-cgi` (section 4.1.17). */
  serverSoftware?: string;
  /** Defaults to `HTTP/1.1` (section 4.1.16). */
  serverProtocol?: string;
  /** Sets HTTPS=on and REQUEST_SCHEME=https; defaults to whether the request URL is `https:`. */
  https?: boolean;
  /** More variables, set last, so they may override the computed ones. */
  extra?: Record<string, string>;
}

/**
 * Builds the CGI meta-variables a server hands a script for `request`: the inverse of
 * `envToRequest`, as Go's `net/http/cgi/host.go` is of `child.go`. Pure: it reads neither
 * `process.env` nor the request body.
 *
 * - PATH_INFO is the part of the path after `scriptName`, percent-decoded as every real
 *   server does (`%2F` becomes `/`, invalid UTF-8 becomes U+FFFD); unset when empty
 *   (RFC 3875 section 4.1.5).
 * - QUERY_STRING is the raw query, `''` when there is none (section 4.1.7); REQUEST_URI is
 *   the path and query as the `Request` URL spells them.
 * - CONTENT_TYPE and CONTENT_LENGTH come from their headers (sections 4.1.2, 4.1.3); the body
 *   length is not measured, so a caller with a body must set `Content-Length`.
 * - Every other header becomes `HTTP_NAME` (section 4.1.18), values of repeated headers joined
 *   by `, ` (`; ` for Cookie). `Proxy` is never passed, so no HTTP_PROXY reaches the script
 *   (httpoxy, https://httpoxy.org); names with characters other than letters, digits and `-`
 *   are dropped, as Apache does, so `X_Foo` cannot pose as `X-Foo`.
 *
 * @throws {RangeError} when the request path is not under `scriptName`.
 * @example
 * const env = requestToEnv(new Request('http://example.com/cgi-bin/app.cgi/users/42?x=1'), {
 *   scriptName: '/cgi-bin/app.cgi',
 *   remoteAddr: '127.0.0.1',
 * });
 * env.PATH_INFO; // '/users/42'
 */
export function requestToEnv(request: Request, options: RequestToEnvOptions): CgiEnv {
  const url = new URL(request.url);
  const scriptName = options.scriptName;
  const path = url.pathname;
  if (path !== scriptName && !path.startsWith(`${scriptName}/`)) {
    throw new RangeError(`fetch-cgi: request path ${quote(path)} is not under SCRIPT_NAME ${quote(scriptName)}`);
  }
  const https = options.https ?? url.protocol === 'https:';
  const pathInfo = percentDecode(path.slice(scriptName.length));

  const env: CgiEnv = {
    GATEWAY_INTERFACE: 'CGI/1.1', // section 4.1.4
    SERVER_SOFTWARE: options.serverSoftware ?? 'fetch-cgi',
    SERVER_NAME: options.serverName ?? url.hostname.replace(/^\[(.*)\]$/, '$1'),
    SERVER_PORT: String(options.serverPort ?? (url.port || (url.protocol === 'https:' ? 443 : 80))),
    SERVER_PROTOCOL: options.serverProtocol ?? 'HTTP/1.1',
    REQUEST_METHOD: request.method, // section 4.1.12
    REQUEST_SCHEME: https ? 'https' : 'http',
    REQUEST_URI: path + url.search,
    SCRIPT_NAME: scriptName,
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: options.remoteAddr,
  };
  if (pathInfo !== '') {
    env.PATH_INFO = pathInfo;
    // Section 4.1.6: PATH_INFO mapped onto the document root.
    if (options.documentRoot !== undefined) {
      env.PATH_TRANSLATED = options.documentRoot.replace(/\/+$/, '') + pathInfo;
    }
  }
  if (options.remotePort !== undefined) env.REMOTE_PORT = String(options.remotePort);
  if (options.documentRoot !== undefined) env.DOCUMENT_ROOT = options.documentRoot;
  if (options.scriptFilename !== undefined) env.SCRIPT_FILENAME = options.scriptFilename;
  if (https) env.HTTPS = 'on';

  // Headers iterate with lowercase names and repeated values already joined (`; ` for Cookie).
  for (const [name, value] of request.headers) {
    if (name === 'content-type') env.CONTENT_TYPE = bytesToEnvText(value);
    else if (name === 'content-length') env.CONTENT_LENGTH = value;
    else if (name !== 'proxy' && /^[a-z0-9-]+$/.test(name)) {
      env[`HTTP_${name.toUpperCase().replaceAll('-', '_')}`] = bytesToEnvText(value);
    }
  }
  return Object.assign(env, options.extra);
}

/** Decodes `%XX` escapes as UTF-8, leaving malformed escapes as they are. */
function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // Invalid UTF-8 or a stray `%`: decode byte by byte instead.
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const hex = text.slice(i + 1, i + 3);
      if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...new TextEncoder().encode(text[i]));
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }
}
