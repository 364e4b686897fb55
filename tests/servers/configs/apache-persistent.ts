/**
 * Apache httpd 2.4 in front of a long-lived fetch-cgi process: mod_proxy_fcgi (unix socket or
 * TCP), mod_proxy_scgi, or mod_fcgid starting the app itself. `apacheAppSite` is what
 * docs/deploy/fastcgi-apache.md embeds; `apacheAppHarnessConfig` wraps it for a private server.
 */
import { apacheServerBasics } from './apache.js';

/** How Apache reaches the app. */
export type ApacheAppOptions =
  | {
      kind: 'proxy-fcgi' | 'proxy-scgi';
      /** Where the app listens: `unix:/run/app.sock` or `127.0.0.1:9000`. */
      backend: string;
      /** The URL prefix the app is mounted at, e.g. `/app`. */
      mount: string;
    }
  | {
      kind: 'fcgid';
      /** The built script, which mod_fcgid starts (and restarts) itself. */
      script: string;
      mount: string;
    };

/** `unix:/path` or `host:port` as a ProxyPass target for `scheme`. */
function proxyTarget(backend: string, scheme: 'fcgi' | 'scgi'): string {
  return backend.startsWith('unix:') ? `${backend}|${scheme}://localhost/` : `${scheme}://${backend}/`;
}

/**
 * The directives that hand `mount` and everything under it to the app, with SCRIPT_NAME the
 * prefix and PATH_INFO the rest, as a CGI script gets them, and the Authorization header.
 */
export function apacheAppSite(options: ApacheAppOptions): string {
  const { mount } = options;
  const common = `# An encoded slash (%2F) reaches the app as it came, instead of a 404 from Apache.
AllowEncodedSlashes NoDecode
<Location "${mount}">
    # Pass the Authorization header to the app (Apache withholds it by default).
    CGIPassAuth On
</Location>
`;
  if (options.kind === 'fcgid') {
    return `${common}# mod_fcgid starts the app (and more of it under load), its listening socket on fd 0.
Alias "${mount}" "${options.script}"
<Location "${mount}">
    SetHandler fcgid-script
    Options +ExecCGI
</Location>
# mod_fcgid's defaults: 128 KiB request bodies at most (413 above), 40 s for each read, and
# 64 KiB of output held before it reaches the client.
FcgidMaxRequestLen 1073741824
FcgidIOTimeout 300
FcgidOutputBufferSize 0
`;
  }
  if (options.kind === 'proxy-fcgi') {
    return `${common}# The raw path goes to the app (nocanon); the app's own routing decodes it. Without
# flushpackets, mod_proxy_fcgi holds small writes (server-sent events) until its buffer fills.
ProxyPass "${mount}" "${proxyTarget(options.backend, 'fcgi')}" nocanon flushpackets=on
ProxyFCGIBackendType GENERIC
# mod_proxy_fcgi sends the whole path as SCRIPT_NAME; the app wants the prefix and the rest.
ProxyFCGISetEnvIf "true" SCRIPT_NAME "${mount}"
ProxyFCGISetEnvIf "%{REQUEST_URI} =~ m#^${mount}(/.*)#" PATH_INFO "$1"
`;
  }
  return `${common}ProxyPass "${mount}" "${proxyTarget(options.backend, 'scgi')}" nocanon
<Location "${mount}">
    # mod_proxy_scgi sends the whole path as SCRIPT_NAME and no PATH_INFO; with the part after
    # the prefix as PATH_INFO (here, once Apache has decoded the path), the app works out its
    # prefix from REQUEST_URI.
    SetEnvIf Request_URI "^${mount}(/.*)$" PATH_INFO=$1
</Location>
`;
}

/**
 * A `.htaccess` for a document root holding `app.fcgi`, for shared hosting with mod_fcgid:
 * every path that is not an existing file runs the app, which stays running between requests.
 */
export function apacheFcgidHtaccess(): string {
  return `Options +ExecCGI
AddHandler fcgid-script .fcgi
# Pass the Authorization header to the app (Apache 2.4.13 and later).
CGIPassAuth On

RewriteEngine On
# Everything that is not an existing file runs app.fcgi; REQUEST_URI keeps the original URL.
RewriteCond %{REQUEST_FILENAME} !-f
RewriteRule ^ app.fcgi [END]
`;
}

/** What the harness needs around the site to run a private Apache. */
export interface ApacheAppHarnessOptions {
  port: number;
  runDir: string;
  /** The `apacheAppSite()` text. */
  site: string;
  /** The modules the site needs besides the MPM and authz_core. */
  modules: readonly string[];
  /** Serve the document root as a shared host would: `.htaccess` files rule it. */
  htaccess?: boolean;
}

const modulesDir = '/usr/lib/apache2/modules';

/** A complete private apache2.conf (mpm_event), to be run with `apache2 -f FILE -DFOREGROUND`. */
export function apacheAppHarnessConfig({ port, runDir, site, modules, htaccess }: ApacheAppHarnessOptions): string {
  const loads = ['mpm_event', 'authz_core', ...modules]
    .map((name) => `LoadModule ${name}_module ${modulesDir}/mod_${name}.so`)
    .join('\n');
  return `${apacheServerBasics(runDir, [port])}${loads}
${
  modules.includes('fcgid')
    ? `FcgidIPCDir ${runDir}/rt/fcgid
FcgidProcessTableFile ${runDir}/rt/fcgid-shm
`
    : ''
}
${modules.includes('mime') ? 'TypesConfig /etc/mime.types\n' : ''}<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory ${runDir}/docroot>
    Require all granted${htaccess ? '\n    AllowOverride All' : ''}
</Directory>

<VirtualHost 127.0.0.1:${port}>
    ServerName 127.0.0.1
    DocumentRoot ${runDir}/docroot
${site.replace(/^(?=.)/gm, '    ')}</VirtualHost>
`;
}
