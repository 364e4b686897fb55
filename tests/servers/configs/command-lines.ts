/**
 * busybox httpd and mini_httpd take their whole configuration on the command line; these
 * argument lists are what the harness runs and what docs/deploy/ embeds.
 */

/** Where a small server listens and serves from. */
export interface CommandLineOptions {
  /** Bind address, e.g. `127.0.0.1` (or `0.0.0.0`). */
  address: string;
  port: number;
  /** Holds `cgi-bin/`; absolute. */
  documentRoot: string;
}

/**
 * busybox httpd in the foreground, running `cgi-bin/*` as www-data. `-c` names the
 * (possibly empty) config file so that /etc/httpd.conf is not read.
 */
export function busyboxCommand({ address, port, documentRoot }: CommandLineOptions, configFile: string): string[] {
  return [
    '/bin/busybox',
    'httpd',
    '-f',
    '-p',
    `${address}:${port}`,
    '-h',
    documentRoot,
    '-u',
    'www-data:www-data',
    '-c',
    configFile,
  ];
}

/** mini_httpd in the foreground, running `cgi-bin/*` as www-data, logging to `logFile`. */
export function miniHttpdCommand({ address, port, documentRoot }: CommandLineOptions, logFile: string): string[] {
  return [
    '/usr/sbin/mini_httpd',
    '-D',
    '-p',
    String(port),
    '-h',
    address,
    '-d',
    documentRoot,
    '-c',
    'cgi-bin/*',
    '-u',
    'www-data',
    '-l',
    logFile,
  ];
}

/**
 * The built script as a long-lived FastCGI and SCGI process on `address`, as www-data, with
 * nothing of the caller's environment but what it needs: what a process manager runs.
 */
export function appListenCommand(script: string, address: string): string[] {
  return [
    '/usr/bin/setpriv',
    '--reuid=www-data',
    '--regid=www-data',
    '--clear-groups',
    '/usr/bin/env',
    `FETCH_CGI_LISTEN=${address}`,
    script,
  ];
}

/** spawn-fcgi starting the script in its place (`-n`), its socket on fd 0, as www-data. */
export function spawnFcgiCommand(script: string, socket: string): string[] {
  return ['/usr/bin/spawn-fcgi', '-n', '-s', socket, '-M', '0660', '-u', 'www-data', '-g', 'www-data', '--', script];
}

/** An argument list as a line to paste into a shell; quotes only what needs it. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
}
