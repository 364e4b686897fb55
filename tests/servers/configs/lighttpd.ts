/**
 * lighttpd 1.4 configuration text. `lighttpdSite` is what docs/deploy/lighttpd.md embeds;
 * `lighttpdHarnessConfig` adds what a private instance needs (port, user, log, upload dir).
 */

/** Options of the CGI part of a lighttpd configuration. */
export interface LighttpdSiteOptions {
  /**
   * Send the script's output on as it comes (`server.stream-response-body = 2`). lighttpd's
   * default buffers the whole response before sending any of it.
   */
  streamResponseBody: boolean;
}

/**
 * Runs `cgi-bin/*` as CGI and maps every other path onto `cgi-bin/app.cgi`: `/app/x` with
 * PATH_INFO `/x`, any other `/x` with PATH_INFO `/x`.
 */
export function lighttpdSite({ streamResponseBody }: LighttpdSiteOptions): string {
  const stream = streamResponseBody
    ? `# Send the script's output as it comes instead of buffering the whole response.
# Leave server.stream-request-body alone: set, it makes chunked uploads fail with 411.
server.stream-response-body = 2
`
    : '';
  return `server.modules += ( "mod_rewrite", "mod_cgi" )
${stream}
# Files in /cgi-bin/ are executed directly (by their shebang), not through an interpreter.
$HTTP["url"] =~ "^/cgi-bin/" {
    cgi.assign = ( "" => "" )
}

# The patterns see the path and the query string: capture the query and put it back.
url.rewrite-once = (
    "^/cgi-bin/" => "",
    "^/app(/[^?]*)?(?:\\?(.*))?$" => "/cgi-bin/app.cgi$1?$2",
    "^(/[^?]*)(?:\\?(.*))?$" => "/cgi-bin/app.cgi$1?$2",
)
`;
}

/** What the harness needs around the site to run a private lighttpd. */
export interface LighttpdHarnessOptions {
  port: number;
  runDir: string;
  /** The `lighttpdSite()` text. */
  site: string;
}

/** A complete private lighttpd.conf, to be run with `lighttpd -D -f FILE`. */
export function lighttpdHarnessConfig({ port, runDir, site }: LighttpdHarnessOptions): string {
  return `server.document-root = "${runDir}/docroot"
server.bind = "127.0.0.1"
server.port = ${port}
server.username = "www-data"
server.groupname = "www-data"
server.errorlog = "${runDir}/logs/error.log"
# Request bodies are spooled here; it must be writable by server.username.
server.upload-dirs = ( "${runDir}/tmp" )

${site}`;
}
