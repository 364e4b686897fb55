/**
 * nginx in front of a long-lived fetch-cgi process, over FastCGI (`fastcgi_pass`, with or
 * without a kept-alive upstream) or SCGI (`scgi_pass`). `nginxAppSite` is what
 * docs/deploy/fastcgi-nginx.md embeds; the harness wraps it with nginxHarnessConfig.
 */

/** How nginx reaches the app. */
export interface NginxAppOptions {
  /** The `listen` argument, e.g. `80` or `127.0.0.1:41234`. */
  listen: string;
  serverName: string;
  protocol: 'fastcgi' | 'scgi';
  /** Where the app listens: `unix:/run/app.sock` or `127.0.0.1:9000`, as nginx spells it. */
  backend: string;
  /**
   * Keep FastCGI connections open between requests (an upstream `keepalive` pool and
   * `fastcgi_keep_conn on`), as a busy site should. FastCGI only.
   */
  keepConn?: boolean;
  /** Idle connections the kept-alive pool holds (default 8). With `keepConn` only. */
  keepalive?: number;
  /** SCRIPT_FILENAME to pass, for a backend that runs a file it is told (php-fpm). */
  scriptFilename?: string;
  /** The URL prefix the app is mounted at, e.g. `/app`. */
  mount: string;
}

/** The meta-variables nginx passes, for `fastcgi_param` or `scgi_param`. */
export function appParams(directive: string, mount: string, scriptFilename?: string): string {
  return `    ${directive} GATEWAY_INTERFACE CGI/1.1;
    ${directive} SERVER_SOFTWARE nginx/$nginx_version;
    ${directive} SERVER_PROTOCOL $server_protocol;
    ${directive} SERVER_NAME $server_name;
    ${directive} SERVER_ADDR $server_addr;
    ${directive} SERVER_PORT $server_port;
    ${directive} REMOTE_ADDR $remote_addr;
    ${directive} REMOTE_PORT $remote_port;
    ${directive} REQUEST_METHOD $request_method;
    ${directive} REQUEST_SCHEME $scheme;
    ${directive} HTTPS $https if_not_empty;
    ${directive} REQUEST_URI $request_uri;
    ${directive} QUERY_STRING $query_string;
    ${directive} CONTENT_TYPE $content_type if_not_empty;
${
  directive === 'scgi_param'
    ? `    # nginx sends CONTENT_LENGTH itself, first, as SCGI wants; SCGI=1 only when told.
    scgi_param SCGI 1;
`
    : `    ${directive} CONTENT_LENGTH $content_length if_not_empty;
`
}
    ${directive} SCRIPT_NAME ${mount};
${scriptFilename ? `    ${directive} SCRIPT_FILENAME ${scriptFilename};\n` : ''}    ${directive} PATH_INFO $app_path_info;
    # The Host header as sent, port included.
    ${directive} HTTP_HOST $http_host;
`;
}

/**
 * A server block that hands `/app` and everything under it to the app, streaming both ways:
 * bodies go to the app as they arrive (a chunked upload arrives without CONTENT_LENGTH, read to
 * the end of the stream), responses buffered by nginx unless the app streams them.
 */
export function nginxAppSite({
  listen,
  serverName,
  protocol,
  backend,
  keepConn,
  keepalive = 8,
  scriptFilename,
  mount,
}: NginxAppOptions): string {
  const pool = keepConn ? 'fetch_cgi_app' : backend;
  const upstream = keepConn
    ? `upstream fetch_cgi_app {
    server ${backend};
    # Connections kept open for the next requests: no connect per request.
    keepalive ${keepalive};
}

`
    : '';
  const directive = protocol === 'fastcgi' ? 'fastcgi' : 'scgi';
  const keep = keepConn ? '        fastcgi_keep_conn on;\n' : '';
  return `${upstream}server {
    listen ${listen};
    server_name ${serverName};
    # The default, 1m, answers 413 to bigger uploads; 0 means no limit.
    client_max_body_size 0;

    location ~ ^${mount}(?<app_path_info>/.*)?$ {
        ${directive}_pass ${pool};
${keep}${
    protocol === 'fastcgi'
      ? `        # Bodies to the app as they arrive. Responses stay buffered (nginx's default, and
        # the fastest for answers in memory); fetch-cgi marks a streamed body with
        # X-Accel-Buffering: no, so it reaches the client as the app writes it.
        fastcgi_request_buffering off;`
      : `        # Request buffering stays on: without it nginx 1.22 sends as CONTENT_LENGTH only the
        # part of the body it has read so far. A streamed response is not buffered (fetch-cgi
        # marks it with X-Accel-Buffering: no).`
  }
${appParams(`${directive}_param`, mount, scriptFilename).replace(/^ {4}/gm, '        ')}    }
}
`;
}
