/**
 * Apache httpd 2.4 configuration text. `apacheVhost` and `apacheHtaccess` are what
 * docs/deploy/ embeds; `apacheHarnessConfig` wraps them into a private server config for
 * the tests (modules, pid file, log, user), which a packaged Apache already has.
 */

/** Where a site lives: `*:80` and `/var/www/example` in the docs, loopback in tests. */
export interface ApacheSiteOptions {
  /** The `<VirtualHost>` address, e.g. `*:80` or `127.0.0.1:41234`. */
  address: string;
  serverName: string;
  /** Absolute, without a trailing slash; the scripts live in `DOCROOT/cgi-bin/`. */
  documentRoot: string;
}

/**
 * A virtual host that runs `cgi-bin/*.cgi` and maps every other path onto
 * `cgi-bin/app.cgi`: `/app/x` with PATH_INFO `/x`, any other `/x` with PATH_INFO `/x`.
 */
export function apacheVhost({ address, serverName, documentRoot }: ApacheSiteOptions): string {
  return `<VirtualHost ${address}>
    ServerName ${serverName}
    DocumentRoot ${documentRoot}
    # The default (Off) answers 404 to any path containing %2F, before the script runs.
    # NoDecode lets it through: PATH_INFO then has %2F still encoded, all else decoded.
    AllowEncodedSlashes NoDecode

    ScriptAlias /cgi-bin/ ${documentRoot}/cgi-bin/
    <Directory ${documentRoot}/cgi-bin>
        Options +ExecCGI
        # Apache withholds the Authorization header from CGI scripts unless told to pass it.
        CGIPassAuth On
        Require all granted
    </Directory>

    RewriteEngine On
    # /app and /app/... run app.cgi with the rest as PATH_INFO. [PT] hands the new path
    # back to the URL mapping, so that ScriptAlias (and so CGI) applies to it.
    RewriteRule ^/app(/.*)?$ /cgi-bin/app.cgi$1 [PT,L]
    # Every other path outside /cgi-bin/ runs app.cgi too, with the whole path as PATH_INFO.
    RewriteCond %{REQUEST_URI} !^/cgi-bin/
    RewriteRule ^(/.*)$ /cgi-bin/app.cgi$1 [PT,L]
</VirtualHost>
`;
}

/**
 * A `.htaccess` for a document root holding `app.cgi`, for hosts where that is all you
 * may configure: every path that is not an existing file runs app.cgi.
 */
export function apacheHtaccess(): string {
  return `Options +ExecCGI
AddHandler cgi-script .cgi
# Pass the Authorization header to the script (Apache 2.4.13 and later).
CGIPassAuth On

RewriteEngine On
# Where CGIPassAuth is not allowed, delete it above and uncomment this line instead. The
# rewritten requests then get the header as REDIRECT_HTTP_AUTHORIZATION (set but empty when
# none was sent), not HTTP_AUTHORIZATION.
#RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
# Everything that is not an existing file runs app.cgi; REQUEST_URI keeps the original URL.
RewriteCond %{REQUEST_FILENAME} !-f
RewriteRule ^ app.cgi [END]
`;
}

/** What the harness needs around the site to run a private Apache. */
export interface ApacheHarnessOptions {
  mpm: 'event' | 'prefork';
  port: number;
  /** Port of the second, `.htaccess`-only site. */
  htaccessPort: number;
  runDir: string;
  /** The `apacheVhost()` text for the main site. */
  vhost: string;
  /** `CGIScriptTimeout` (mod_cgid: `CGIDScriptTimeout`) in seconds; default: `Timeout`, 60 s. */
  scriptTimeout?: number;
}

const modules = '/usr/lib/apache2/modules';

/** What every private Apache needs first: its root, ports, pid file, runtime files, log and user. */
export function apacheServerBasics(runDir: string, ports: readonly number[]): string {
  return `ServerRoot ${runDir}
ServerName 127.0.0.1
${ports.map((port) => `Listen 127.0.0.1:${port}`).join('\n')}
PidFile ${runDir}/rt/apache2.pid
DefaultRuntimeDir ${runDir}/rt
Mutex file:${runDir}/rt default
ErrorLog ${runDir}/logs/error.log
LogLevel warn
User www-data
Group www-data
`;
}

/** A complete private apache2.conf, to be run with `apache2 -f FILE -DFOREGROUND`. */
export function apacheHarnessConfig({
  mpm,
  port,
  htaccessPort,
  runDir,
  vhost,
  scriptTimeout,
}: ApacheHarnessOptions): string {
  // A threaded MPM needs mod_cgid (a separate daemon forks the scripts); prefork uses mod_cgi.
  const cgi =
    mpm === 'event'
      ? `LoadModule cgid_module ${modules}/mod_cgid.so\nScriptSock ${runDir}/rt/cgid.sock`
      : `LoadModule cgi_module ${modules}/mod_cgi.so`;
  // mod_cgid spells the directive with a D; either must follow its LoadModule.
  const directive = mpm === 'event' ? 'CGIDScriptTimeout' : 'CGIScriptTimeout';
  const timeout = scriptTimeout === undefined ? '' : `${directive} ${scriptTimeout}\n`;
  return `${apacheServerBasics(runDir, [port, htaccessPort])}
LoadModule mpm_${mpm}_module ${modules}/mod_mpm_${mpm}.so
${cgi}
${timeout}LoadModule authz_core_module ${modules}/mod_authz_core.so
LoadModule alias_module ${modules}/mod_alias.so
LoadModule rewrite_module ${modules}/mod_rewrite.so
LoadModule mime_module ${modules}/mod_mime.so
TypesConfig /etc/mime.types

<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory ${runDir}/docroot>
    Require all granted
</Directory>

${vhost}
<VirtualHost 127.0.0.1:${htaccessPort}>
    ServerName 127.0.0.1
    DocumentRoot ${runDir}/hosted
    <Directory ${runDir}/hosted>
        AllowOverride All
        Require all granted
    </Directory>
</VirtualHost>
`;
}
