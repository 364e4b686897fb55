/**
 * nginx + fcgiwrap configuration text. `nginxSite` and `fcgiwrapCommand` are what
 * docs/deploy/nginx-fcgiwrap.md embeds; `nginxHarnessConfig` adds what a private instance
 * needs (pid file, logs, temp paths in the run directory, user).
 */

/** Where the site lives and how nginx reaches fcgiwrap. */
export interface NginxSiteOptions {
  /** The `listen` argument, e.g. `80` or `127.0.0.1:41234`. */
  listen: string;
  serverName: string;
  /** Absolute, without a trailing slash; the scripts live in `ROOT/cgi-bin/`. */
  root: string;
  /** fcgiwrap's socket path. */
  socket: string;
  /** `fastcgi_buffering off`: pass the script's output on as fcgiwrap delivers it. */
  unbuffered: boolean;
}

/**
 * A server block that runs `cgi-bin/*` through fcgiwrap and maps every other path onto
 * `cgi-bin/app.cgi`: `/app/x` with PATH_INFO `/x`, any other `/x` with PATH_INFO `/x`.
 */
export function nginxSite({ listen, serverName, root, socket, unbuffered }: NginxSiteOptions): string {
  const buffering = unbuffered
    ? `    # Pass output on as fcgiwrap delivers it. fcgiwrap itself still holds small writes
    # (a few bytes) until more output or the end comes; 32 KiB writes get through at once.
    fastcgi_buffering off;
`
    : '';
  return `server {
    listen ${listen};
    server_name ${serverName};
    root ${root};

    # The default, 1m, answers 413 to bigger uploads; 0 means no limit.
    client_max_body_size 0;
    # Hand the body to the script as it arrives instead of spooling it to disk first.
    # A chunked upload then reaches the script without CONTENT_LENGTH: read stdin to EOF.
    fastcgi_request_buffering off;
${buffering}
    # The CGI environment. Written out rather than "include fastcgi_params": Debian's copy
    # sets HTTP_HOST to $host, which drops the port from the Host header.
    fastcgi_param GATEWAY_INTERFACE CGI/1.1;
    fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
    fastcgi_param SERVER_PROTOCOL $server_protocol;
    fastcgi_param SERVER_NAME $server_name;
    fastcgi_param SERVER_ADDR $server_addr;
    fastcgi_param SERVER_PORT $server_port;
    fastcgi_param REMOTE_ADDR $remote_addr;
    fastcgi_param REMOTE_PORT $remote_port;
    fastcgi_param REQUEST_METHOD $request_method;
    fastcgi_param REQUEST_SCHEME $scheme;
    fastcgi_param HTTPS $https if_not_empty;
    fastcgi_param REQUEST_URI $request_uri;
    fastcgi_param QUERY_STRING $query_string;
    fastcgi_param CONTENT_TYPE $content_type if_not_empty;
    fastcgi_param CONTENT_LENGTH $content_length if_not_empty;
    fastcgi_param DOCUMENT_ROOT $document_root;
    fastcgi_param SCRIPT_NAME $cgi_script;
    fastcgi_param SCRIPT_FILENAME $document_root$cgi_script;
    fastcgi_param PATH_INFO $cgi_path_info;
    # The Host header as sent, port included, as Apache and lighttpd pass it.
    fastcgi_param HTTP_HOST $http_host;

    # /cgi-bin/NAME/rest runs NAME with PATH_INFO /rest.
    location ~ ^(?<cgi_script>/cgi-bin/[^/]+)(?<cgi_path_info>/.*)?$ {
        fastcgi_pass unix:${socket};
    }
    # /app and /app/rest run app.cgi with PATH_INFO /rest.
    location ~ ^/app(?<cgi_path_info>/.*)?$ {
        set $cgi_script /cgi-bin/app.cgi;
        fastcgi_pass unix:${socket};
    }
    # Every other path runs app.cgi with the whole path as PATH_INFO.
    location / {
        set $cgi_script /cgi-bin/app.cgi;
        set $cgi_path_info $uri;
        fastcgi_pass unix:${socket};
    }
}
`;
}

/**
 * fcgiwrap listening on a unix socket with 4 workers (its default of 1 runs one request at
 * a time), run as www-data. nginx's workers, also www-data, must be able to open the socket.
 */
export function fcgiwrapCommand(socket: string): string[] {
  return [
    '/usr/bin/setpriv',
    '--reuid=www-data',
    '--regid=www-data',
    '--clear-groups',
    '/usr/sbin/fcgiwrap',
    '-c',
    '4',
    '-s',
    `unix:${socket}`,
  ];
}

/** What the harness needs around the site to run a private nginx. */
export interface NginxHarnessOptions {
  runDir: string;
  /** The `nginxSite()` text. */
  site: string;
  /** worker_processes (default 2, one per core here). */
  workers?: number;
}

/** A complete private nginx.conf, to be run with `nginx -e LOG -c FILE`. */
export function nginxHarnessConfig({ runDir, site, workers = 2 }: NginxHarnessOptions): string {
  const indented = site.replace(/^(?=.)/gm, '    ');
  return `daemon off;
user www-data www-data;
worker_processes ${workers};
pid ${runDir}/rt/nginx.pid;
error_log ${runDir}/logs/error.log warn;

events {
    worker_connections 512;
}

http {
    access_log off;
    client_body_temp_path ${runDir}/tmp/client_body;
    fastcgi_temp_path ${runDir}/tmp/fastcgi;
    proxy_temp_path ${runDir}/tmp/proxy;
    uwsgi_temp_path ${runDir}/tmp/uwsgi;
    scgi_temp_path ${runDir}/tmp/scgi;

${indented}}
`;
}
