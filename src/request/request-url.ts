import { CgiEnvError } from '../errors.js';
import type { CgiEnv } from '../types.js';

/** Where the app lives in the public URL space, and the URL it should see. */
export interface RequestTarget {
  /** The absolute URL handed to the app. */
  url: string;
  /**
   * The public path prefix in front of the app's routes: `/cgi-bin/app.cgi` when the script is
   * reached directly, `/app` when `/app/users/42` was rewritten onto it, `''` at the site root.
   */
  base: string;
}

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const PORT = '(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
// A name whose last label starts with a letter (else the parser takes it for an IPv4 address).
const HOST = `(?:(?:${OCTET}\\.){3}${OCTET}|(?:[a-z0-9-]+\\.)*[a-z][a-z0-9-]*)`;
/**
 * An origin the WHATWG parser would give back unchanged: a lower-case host name or canonical
 * IPv4 address, and a port that is not the scheme's default and has no leading zero; and,
 * checked apart, no punycode label.
 */
const SETTLED_ORIGIN = new RegExp(`^(?:http://${HOST}(?::(?!80$)${PORT})?|https://${HOST}(?::(?!443$)${PORT})?)$`);
/**
 * A path and query the parser would give back unchanged: only characters that no part of the
 * URL percent-encodes or rewrites; and, checked apart, no dot segment in the path
 * ({@link DOT_SEGMENT}).
 */
const SETTLED_PATH = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@%/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@%/?]*)?$/;
/** A `.` or `..` segment, written out or percent-encoded: the parser resolves it. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e)(?:\.|%2e)?(?:\/|$)/i;

/** The last origin found settled: a web server sends the same one with nearly every request. */
let settledOrigin = '';

function isSettledOrigin(origin: string): boolean {
  if (origin === settledOrigin) return true;
  if (!SETTLED_ORIGIN.test(origin) || origin.includes('xn--')) return false;
  settledOrigin = origin;
  return true;
}

function isSettledPath(pathAndQuery: string): boolean {
  if (!SETTLED_PATH.test(pathAndQuery)) return false;
  const query = pathAndQuery.indexOf('?');
  return !DOT_SEGMENT.test(query === -1 ? pathAndQuery : pathAndQuery.slice(0, query));
}

/**
 * `origin` + `pathAndQuery` as the WHATWG URL parser gives it back; throws a TypeError for one
 * it refuses. A URL the parser would not change is used as it is (a long-lived process builds
 * one per request): the origin, checked once while it stays the same, and the path and query.
 * Anything else is parsed.
 */
function normalizeUrl(origin: string, pathAndQuery: string): string {
  if (isSettledOrigin(origin) && isSettledPath(pathAndQuery)) return origin + pathAndQuery;
  return new URL(origin + pathAndQuery).href;
}

/** `href` as the WHATWG URL parser gives it back; throws a TypeError for one it refuses. */
export function normalizeHref(href: string): string {
  const scheme = href.indexOf('//');
  const path = scheme === -1 ? -1 : href.indexOf('/', scheme + 2);
  if (path === -1) return new URL(href).href;
  return normalizeUrl(href.slice(0, path), href.slice(path));
}

// RFC 3986 pchar plus '/' and '%': what a raw request path may hold. A REQUEST_URI with
// anything else (busybox puts the decoded path there) cannot be trusted as raw.
const RAW_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;

/**
 * Works out the app's URL from the meta-variables, as RFC 3875 sections 4.1.5 (PATH_INFO),
 * 4.1.7 (QUERY_STRING), 4.1.13 (SCRIPT_NAME) and 4.1.14/4.1.15 (SERVER_NAME, SERVER_PORT)
 * describe them, plus the REQUEST_URI, HTTP_HOST and HTTPS extensions real servers add.
 *
 * With `stripBase` (the default), the path is the part after the script (PATH_INFO), in the raw
 * encoding REQUEST_URI still holds where it can be matched, so `a%2Fb` stays one segment.
 * Without it, the path is the public one the client asked for.
 */
export function requestTarget(env: CgiEnv, stripBase = true): RequestTarget {
  const origin = requestOrigin(env);
  const scriptName = trimTrailingSlashes(env.SCRIPT_NAME ?? '');
  const rawUri = rawRequestPath(env.REQUEST_URI);
  let pathInfo = env.PATH_INFO ?? '';
  if (pathInfo !== '' && !pathInfo.startsWith('/')) pathInfo = `/${pathInfo}`;
  pathInfo = withoutRepeatedScriptName(pathInfo, scriptName, rawUri);

  const rewritten = pathInfo === '' && rawUri !== undefined ? folderMount(rawUri, scriptName) : undefined;
  const rawPathInfo = rawUri === undefined ? undefined : (rewritten?.rest ?? rawSuffixFor(rawUri, pathInfo));
  const base =
    rawUri !== undefined && rawPathInfo !== undefined
      ? trimTrailingSlashes(rawUri.slice(0, rawUri.length - rawPathInfo.length))
      : encodePath(scriptName);
  const appPath = rawPathInfo ?? encodePath(pathInfo);
  const path = stripBase ? appPath || '/' : base + appPath || '/';

  const query = env.QUERY_STRING ?? '';
  // '#' cannot arrive in a request line; escaped so the URL parser doesn't take it as a fragment.
  const search = query === '' ? '' : `?${query.replaceAll('#', '%23')}`;
  try {
    return { url: normalizeUrl(origin, path + search), base };
  } catch {
    throw new CgiEnvError(env.REQUEST_URI ? 'REQUEST_URI' : 'PATH_INFO', env.REQUEST_URI ?? pathInfo);
  }
}

/**
 * A URL the server rewrote onto the script internally (an `.htaccess` with
 * `RewriteRule ^ app.cgi`, a DirectoryIndex) comes with no PATH_INFO and a REQUEST_URI that is
 * not the script's own path: the script answers for its folder, and the app routes on the rest
 * of the URL (`/blog/users/42` for `/blog/app.cgi` gives the base `/blog`, the path
 * `/users/42`). The rest in its raw encoding, or undefined when REQUEST_URI is the script's
 * path or lies outside its folder.
 */
function folderMount(rawUri: string, scriptName: string): { rest: string } | undefined {
  const decoded = safeDecode(rawUri);
  if (decoded === undefined || decoded === scriptName || decoded.startsWith(`${scriptName}/`)) return undefined;
  const folder = scriptName.slice(0, scriptName.lastIndexOf('/') + 1);
  for (let slash = rawUri.indexOf('/'); slash !== -1; slash = rawUri.indexOf('/', slash + 1)) {
    if (safeDecode(rawUri.slice(0, slash + 1)) === folder) return { rest: rawUri.slice(slash) };
  }
  return undefined;
}

/** The meta-variables the last origin was worked out from, and that origin. */
let lastOrigin = { https: '', scheme: '', port: '', host: '', name: '', origin: originOf({}) };

/**
 * Scheme and authority from HTTPS/REQUEST_SCHEME/SERVER_PORT, HTTP_HOST or SERVER_NAME. A web
 * server sends the same ones with nearly every request: the last answer is kept for them.
 */
export function requestOrigin(env: CgiEnv): string {
  const https = env.HTTPS ?? '';
  const scheme = env.REQUEST_SCHEME ?? '';
  const port = env.SERVER_PORT ?? '';
  const host = env.HTTP_HOST ?? '';
  const name = env.SERVER_NAME ?? '';
  const last = lastOrigin;
  if (
    host === last.host &&
    name === last.name &&
    port === last.port &&
    https === last.https &&
    scheme === last.scheme
  ) {
    return last.origin;
  }
  const origin = originOf(env);
  lastOrigin = { https, scheme, port, host, name, origin };
  return origin;
}

function originOf(env: CgiEnv): string {
  const port = env.SERVER_PORT ?? '';
  const https =
    (env.HTTPS !== undefined && /^(on|1|yes)$/i.test(env.HTTPS)) ||
    (env.REQUEST_SCHEME ?? '').toLowerCase() === 'https' ||
    port === '443';
  const scheme = https ? 'https' : 'http';
  const host = env.HTTP_HOST;
  if (host) return `${scheme}://${checkedHost('HTTP_HOST', host)}`;
  const name = env.SERVER_NAME;
  if (!name) return `${scheme}://localhost`;
  // mini_httpd puts the port into SERVER_NAME already; a bare IPv6 address needs brackets.
  let authority = checkedHost('SERVER_NAME', name.includes(':') && !hasPort(name) ? `[${name}]` : name);
  if (!hasPort(authority) && port !== '' && port !== (https ? '443' : '80')) {
    if (!/^\d{1,5}$/.test(port)) throw new CgiEnvError('SERVER_PORT', port);
    authority += `:${port}`;
  }
  return `${scheme}://${authority}`;
}

function hasPort(authority: string): boolean {
  return /^(\[[^\]]*\]|[^:[\]]*):\d*$/.test(authority);
}

function checkedHost(variable: string, host: string): string {
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(:\d*)?$/.test(host)) {
    throw new CgiEnvError(variable, host);
  }
  return host;
}

/** The raw path of REQUEST_URI, or undefined when it is missing or holds a decoded path. */
function rawRequestPath(requestUri: string | undefined): string | undefined {
  if (!requestUri) return undefined;
  let path = requestUri;
  const query = path.indexOf('?');
  if (query !== -1) path = path.slice(0, query);
  // An absolute-form request target (RFC 9112 section 3.2.2), as proxies send it.
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || '/';
  if (!path.startsWith('/') || !RAW_PATH.test(path) || /%(?![0-9A-Fa-f]{2})/.test(path)) {
    return undefined;
  }
  return path;
}

/**
 * IIS and some lighttpd set-ups put the script's own path at the front of PATH_INFO. Only
 * strip it when REQUEST_URI does not show that the client really asked for it twice.
 */
function withoutRepeatedScriptName(pathInfo: string, scriptName: string, rawUri: string | undefined): string {
  if (scriptName === '' || !(pathInfo === scriptName || pathInfo.startsWith(`${scriptName}/`))) {
    return pathInfo;
  }
  if (rawUri !== undefined && safeDecode(rawUri) === scriptName + pathInfo) return pathInfo;
  return pathInfo.slice(scriptName.length);
}

/**
 * The trailing part of `rawPath` that percent-decodes to `decoded`, compared byte by byte from
 * the end; undefined when the server changed the path (merged slashes, resolved dot segments).
 */
export function rawSuffixFor(rawPath: string, decoded: string): string | undefined {
  if (decoded === '') return '';
  const want = Buffer.from(decoded, 'utf8');
  let w = want.length;
  let r = rawPath.length;
  while (w > 0 && r > 0) {
    const escaped = r >= 3 && rawPath[r - 3] === '%';
    if (escaped) {
      const token = rawPath.slice(r - 3, r);
      // Apache with `AllowEncodedSlashes NoDecode` leaves %2F encoded in PATH_INFO.
      if (/^%2f$/i.test(token) && w >= 3 && want.toString('latin1', w - 3, w) === token) {
        w -= 3;
      } else if (Number.parseInt(token.slice(1), 16) === want[w - 1]) {
        w -= 1;
      } else {
        return undefined;
      }
      r -= 3;
      continue;
    }
    const code = rawPath.charCodeAt(r - 1);
    if (code > 0x7f || code !== want[w - 1]) return undefined;
    w -= 1;
    r -= 1;
  }
  return w === 0 ? rawPath.slice(r) : undefined;
}

/** Percent-encodes what may not stand raw in a path; '%' itself, so the result decodes back. */
function encodePath(path: string): string {
  // A lone surrogate cannot be percent-encoded: it becomes U+FFFD, as decoding bytes would.
  const wellFormed = path.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return wellFormed.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu, (ch) => encodeURIComponent(ch));
}

function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end -= 1;
  return path.slice(0, end);
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}
