/**
 * The app on several hosts behind one nginx: the upstream nginx balances over FastCGI on TCP,
 * and the systemd units that run the app on each host. docs/deploy/many-hosts.md embeds these;
 * tests/load/many-hosts.test.ts runs the same nginx text and starts each backend as the units do.
 */
import { appParams } from './nginx-persistent.js';

/** How nginx spreads requests over the hosts. */
export interface BalancedSiteOptions {
  /** The `listen` argument, e.g. `80` or `127.0.0.1:41234`. */
  listen: string;
  serverName: string;
  /** Each host's app address as nginx spells it, e.g. `10.0.0.11:9000`. */
  backends: readonly string[];
  /** The URL prefix the app is mounted at, e.g. `/app`. */
  mount: string;
  /** How long a host stays out of the rotation after it failed (nginx's `fail_timeout`). */
  failTimeout: string;
  /** The longest the app may take to start its answer (`fastcgi_read_timeout`). */
  readTimeout: string;
}

/**
 * An upstream of every host with kept-alive connections, and a location that retries a request
 * on the next host when its host cannot be reached, fails or stops answering, for the methods
 * nginx deems idempotent only: a POST is never sent to a second host.
 */
export function nginxBalancedSite({
  listen,
  serverName,
  backends,
  mount,
  failTimeout,
  readTimeout,
}: BalancedSiteOptions): string {
  const servers = backends
    .map((backend) => `    server ${backend} max_fails=1 fail_timeout=${failTimeout};\n`)
    .join('');
  return `upstream fetch_cgi_hosts {
    # One line per host. A host that fails once is left out for fail_timeout, then tried again.
${servers}    # Connections kept open to the hosts, shared by all: no connect per request.
    keepalive 32;
}

server {
    listen ${listen};
    server_name ${serverName};
    client_max_body_size 0;

    location ~ ^${mount}(?<app_path_info>/.*)?$ {
        fastcgi_pass fetch_cgi_hosts;
        fastcgi_keep_conn on;
        # A request whose host refuses the connection, breaks it or stops answering goes to the
        # next host, unless it is a POST, LOCK or PATCH that was already sent: those get a 502
        # or 504 rather than a second run (add non_idempotent only for apps that dedupe).
        # Bodies are read whole first (request buffering stays on), so a retry can resend one.
        fastcgi_next_upstream error timeout;
        # A host that is down or cut off is given up on this soon.
        fastcgi_connect_timeout 1s;
        fastcgi_send_timeout ${readTimeout};
        # The longest the app may take to start its answer; a request on a host that vanished
        # waits this long before it is retried elsewhere.
        fastcgi_read_timeout ${readTimeout};
${appParams('fastcgi_param', mount).replace(/^ {4}/gm, '        ')}    }
}
`;
}

/** What one host runs: the built app on a TCP port, open only to the web server. */
export interface HostUnitOptions {
  /** The built app, e.g. `/srv/app/app.fcgi`. */
  script: string;
  /** The address systemd listens on, as `ListenStream=` takes it, e.g. `10.0.0.11:9000`. */
  listen: string;
  /** The web server's addresses, comma-separated (FCGI_WEB_SERVER_ADDRS). */
  webServers: string;
}

/** `fetch-cgi-app.socket`: systemd holds the port, so a restart loses no connection. */
export function systemdSocketUnit({ listen }: HostUnitOptions): string {
  return `[Unit]
Description=fetch-cgi app socket

[Socket]
ListenStream=${listen}
# Connections that come while the app restarts wait here instead of being refused.
Backlog=511

[Install]
WantedBy=sockets.target
`;
}

/** `fetch-cgi-app.service`: started by the socket, which it finds in LISTEN_FDS. */
export function systemdServiceUnit({ script, webServers }: HostUnitOptions): string {
  return `[Unit]
Description=fetch-cgi app
Requires=fetch-cgi-app.socket

[Service]
ExecStart=${script}
Environment=FCGI_WEB_SERVER_ADDRS=${webServers}
User=www-data
Group=www-data
# SIGTERM: the app stops taking connections and finishes the requests in flight.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=always
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
`;
}
