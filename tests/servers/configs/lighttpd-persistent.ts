/**
 * lighttpd in front of a long-lived fetch-cgi process: mod_fastcgi on a socket the app listens
 * on, mod_fastcgi starting the app itself (`bin-path`), or mod_scgi. `lighttpdAppSite` is what
 * docs/deploy/fastcgi-lighttpd.md embeds; the harness wraps it with lighttpdHarnessConfig.
 */

/** How lighttpd reaches the app. */
export interface LighttpdAppOptions {
  protocol: 'fastcgi' | 'scgi';
  /** The unix socket: the app's (`FETCH_CGI_LISTEN=unix:...`), or the one lighttpd makes for `binPath`. */
  socket: string;
  /** lighttpd starts this executable itself, its listening socket on fd 0 (FastCGI only). */
  binPath?: string;
  /** The URL prefix the app is mounted at, e.g. `/app`. */
  mount: string;
}

/**
 * Hands `/app` and everything under it to the app: SCRIPT_NAME is the prefix, PATH_INFO the
 * rest. Responses go to the client as the app writes them.
 */
export function lighttpdAppSite({ protocol, socket, binPath, mount }: LighttpdAppOptions): string {
  const spawn = binPath
    ? `        # lighttpd starts the app, its listening socket on fd 0, and restarts it if it dies.
        "bin-path" => "${binPath}",
        "max-procs" => 1,
`
    : '';
  return `server.modules += ( "mod_${protocol}" )
# Send the app's output as it comes instead of buffering the whole response.
server.stream-response-body = 2

${protocol}.server = (
    "${mount}" => ((
        "socket" => "${socket}",
${spawn}        # The app is no file under the document root.
        "check-local" => "disable",
    )),
)
`;
}
