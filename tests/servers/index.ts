/**
 * Real CGI servers for end-to-end tests: `startServer(kind, { scripts })` installs the
 * scripts in a private run directory, starts the server on a random loopback port with a
 * private configuration (the one docs/deploy/ shows), and returns a handle to stop it.
 * Run scripts/install-servers.sh first; the tests must run as root (servers drop to
 * www-data for CGI).
 *
 * @example
 * const server = await startServer('lighttpd', { scripts: { 'app.cgi': '/tmp/app.cgi' } });
 * try {
 *   await fetch(`${server.origin}${server.scriptPath}/hello?x=1`);
 * } finally {
 *   await server.stop();
 * }
 */
import { startApache } from './apache.js';
import { startBusybox } from './busybox.js';
import { startLighttpd } from './lighttpd.js';
import { startMiniHttpd } from './mini-httpd.js';
import { startNginx } from './nginx.js';
import type { RunningServer, ServerKind, StartOptions } from './types.js';

export { backendKinds, serverKinds } from './types.js';
export type { BackendKind, RunningServer, ServerKind, StartOptions } from './types.js';
export { startBackend } from './backends.js';

/** Starts one server set-up; see the module comment. */
export async function startServer(kind: ServerKind, options: StartOptions): Promise<RunningServer> {
  if (process.getuid?.() !== 0) {
    throw new Error(`servers: starting ${kind} needs root (it drops to www-data for CGI)`);
  }
  if (options.scriptTimeout !== undefined && !kind.startsWith('apache')) {
    throw new Error(`servers: ${kind} does not support the scriptTimeout option`);
  }
  switch (kind) {
    case 'apache-event':
      return startApache('event', options);
    case 'apache-prefork':
      return startApache('prefork', options);
    case 'lighttpd':
      return startLighttpd(options);
    case 'nginx':
      return startNginx(options);
    case 'busybox':
      return startBusybox(options);
    case 'mini_httpd':
      return startMiniHttpd(options);
  }
}
