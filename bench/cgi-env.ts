/** The PATH every measured process gets: the system directories, as a web server passes it. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The environment Apache 2.4 (mpm_event + mod_cgid) gives a CGI for `GET /cgi-bin/app.cgi<pathInfo>`
 * (copied from tests/fixtures/envdumps/apache-get.txt), built from nothing: no variable of the
 * benchmark's own environment reaches the measured process. `REDIRECT_STATUS=200` (set by
 * lighttpd and nginx, and what php-cgi insists on) is included so the same environment serves
 * every variant; the others ignore it.
 */
export function cgiEnv(pathInfo: string, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const root = '/var/www/html';
  return {
    CONTEXT_DOCUMENT_ROOT: `${root}/cgi-bin/`,
    CONTEXT_PREFIX: '/cgi-bin/',
    DOCUMENT_ROOT: root,
    GATEWAY_INTERFACE: 'CGI/1.1',
    HTTP_ACCEPT: 'text/html,application/xhtml+xml,*/*;q=0.8',
    HTTP_ACCEPT_ENCODING: 'gzip, deflate',
    HTTP_ACCEPT_LANGUAGE: 'en-GB,en;q=0.9',
    HTTP_HOST: '127.0.0.1:8080',
    HTTP_USER_AGENT: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    PATH: SYSTEM_PATH,
    PATH_INFO: pathInfo,
    PATH_TRANSLATED: `${root}${pathInfo}`,
    QUERY_STRING: 'q=1',
    REDIRECT_STATUS: '200',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '45872',
    REQUEST_METHOD: 'GET',
    REQUEST_SCHEME: 'http',
    REQUEST_URI: `/cgi-bin/app.cgi${pathInfo}?q=1`,
    SCRIPT_FILENAME: `${root}/cgi-bin/app.cgi`,
    SCRIPT_NAME: '/cgi-bin/app.cgi',
    SERVER_ADDR: '127.0.0.1',
    SERVER_ADMIN: '[no address given]',
    SERVER_NAME: '127.0.0.1',
    SERVER_PORT: '8080',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SIGNATURE: '',
    SERVER_SOFTWARE: 'Apache/2.4.71 (Debian)',
    ...extra,
  };
}
