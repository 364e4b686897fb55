/** The six real CGI set-ups the end-to-end suite runs through. */
export type ServerKind = 'apache-event' | 'apache-prefork' | 'lighttpd' | 'nginx' | 'busybox' | 'mini_httpd';

/**
 * The set-ups that put a web server in front of a long-lived fetch-cgi process, over FastCGI
 * or SCGI; `spawn-fcgi` is nginx in front of a process spawn-fcgi started.
 */
export type BackendKind =
  | 'nginx-fastcgi'
  | 'nginx-fastcgi-keepconn'
  | 'nginx-scgi'
  | 'spawn-fcgi'
  | 'lighttpd-fastcgi'
  | 'lighttpd-fastcgi-spawn'
  | 'lighttpd-scgi'
  | 'apache-proxy-fcgi'
  | 'apache-proxy-fcgi-tcp'
  | 'apache-proxy-scgi'
  | 'apache-fcgid'
  | 'apache-fcgid-htaccess';

/** Every {@link BackendKind}, in a stable order. */
export const backendKinds: readonly BackendKind[] = [
  'nginx-fastcgi',
  'nginx-fastcgi-keepconn',
  'nginx-scgi',
  'spawn-fcgi',
  'lighttpd-fastcgi',
  'lighttpd-fastcgi-spawn',
  'lighttpd-scgi',
  'apache-proxy-fcgi',
  'apache-proxy-fcgi-tcp',
  'apache-proxy-scgi',
  'apache-fcgid',
  'apache-fcgid-htaccess',
];

/** Every {@link ServerKind}, in a stable order. */
export const serverKinds: readonly ServerKind[] = [
  'apache-event',
  'apache-prefork',
  'lighttpd',
  'nginx',
  'busybox',
  'mini_httpd',
];

/** What {@link startServer} needs to know. */
export interface StartOptions {
  /**
   * File name inside `docroot/cgi-bin/` → path of an executable to copy there, e.g.
   * `{ 'app.cgi': '/tmp/x/app.cgi' }`. `app.cgi` is the one pretty URLs are rewritten to.
   */
  scripts: Record<string, string>;
  /**
   * Turn off the response buffering a server does by default and can be told not to do:
   * lighttpd `server.stream-response-body = 2`, nginx `fastcgi_buffering off`. Default
   * `true`, which is the configuration docs/deploy/ recommends. The other servers stream
   * anyway.
   */
  stream?: boolean;
  /**
   * Seconds the server waits for output from a script before it gives up, answers the client
   * and kills the script (Apache `CGIScriptTimeout`; default: the server's own, 60 s). Apache
   * only: other kinds refuse the option.
   */
  scriptTimeout?: number;
}

/** A started server; call {@link RunningServer.stop} when done. */
export interface RunningServer {
  kind: ServerKind | BackendKind;
  /** e.g. `http://127.0.0.1:41234` */
  origin: string;
  /** URL path of the script reached directly: `/cgi-bin/app.cgi`. */
  scriptPath: string;
  /**
   * URL prefix rewritten onto `cgi-bin/app.cgi` with the rest as PATH_INFO (`'/app'`), or
   * null when the server cannot rewrite.
   */
  prettyPath: string | null;
  /** Whether any other path outside `/cgi-bin/` and the pretty prefix also runs app.cgi. */
  rootPretty: boolean;
  /**
   * Apache only: the origin of a second site whose document root holds `app.cgi` and the
   * `.htaccess` of docs/deploy/shared-hosting.md, and nothing else configured. Else null.
   */
  htaccessOrigin: string | null;
  runDir: string;
  /** The server's error log (and fcgiwrap's stderr), for failure messages. */
  logs(): Promise<string>;
  /** The pids of the server and all its descendants right now (Apache children, CGIs). */
  processIds(): number[];
  /** Signals exactly the processes it started, waits until they are gone, removes runDir. */
  stop(): Promise<void>;
}
