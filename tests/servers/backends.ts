/**
 * Web servers in front of a long-lived fetch-cgi process (FastCGI or SCGI):
 * `startBackend(kind, { script })` installs the built script in a private run directory,
 * starts the process the way that set-up does (the harness with FETCH_CGI_LISTEN, spawn-fcgi,
 * lighttpd's bin-path, Apache's mod_fcgid), then the server on a random loopback port, and
 * returns a handle to stop both. The app is mounted at `RunningServer.scriptPath`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { appListenCommand, spawnFcgiCommand } from './configs/command-lines.js';
import { apacheAppHarnessConfig, apacheAppSite, apacheFcgidHtaccess } from './configs/apache-persistent.js';
import { lighttpdHarnessConfig } from './configs/lighttpd.js';
import { lighttpdAppSite } from './configs/lighttpd-persistent.js';
import { nginxHarnessConfig } from './configs/nginx.js';
import { nginxAppSite } from './configs/nginx-persistent.js';
import { launchServer, type Started, startProcess } from './launch.js';
import { waitForFile } from './processes.js';
import { createRunDir, installScripts } from './run-dir.js';
import type { BackendKind, RunningServer } from './types.js';

export interface BackendOptions {
  /** The built script: it serves FastCGI and SCGI when started on a socket. */
  script: string;
}

/** Starts the app as www-data listening on `address` (FETCH_CGI_LISTEN), as a process manager would. */
async function startApp(script: string, address: string, logFile: string, started: Started[]): Promise<void> {
  const app = startProcess(appListenCommand(script, address), logFile);
  started.push(app);
  if (address.startsWith('unix:')) {
    await waitForFile(address.slice(5), () => app.child.exitCode === null && app.child.signalCode === null);
  }
}

/** nginx (master as root, workers as www-data) with `site`, in the foreground. */
async function startNginx(runDir: string, site: string, started: Started[]): Promise<void> {
  const conf = join(runDir, 'nginx.conf');
  await writeFile(conf, nginxHarnessConfig({ runDir, site }));
  started.push(
    startProcess(['/usr/sbin/nginx', '-e', join(runDir, 'logs/error.log'), '-c', conf], join(runDir, 'logs/nginx.log')),
  );
}

/** lighttpd with `site`, in the foreground, as www-data. */
async function startLighttpd(runDir: string, port: number, site: string, started: Started[]): Promise<void> {
  const conf = join(runDir, 'lighttpd.conf');
  await writeFile(conf, lighttpdHarnessConfig({ port, runDir, site }));
  started.push(startProcess(['/usr/sbin/lighttpd', '-D', '-f', conf], join(runDir, 'logs/nginx.log')));
}

/** Apache (mpm_event) with `site` and `modules`, in the foreground, children as www-data. */
async function startApache(
  runDir: string,
  port: number,
  site: string,
  modules: string[],
  started: Started[],
  htaccess = false,
) {
  const conf = join(runDir, 'apache2.conf');
  await writeFile(conf, apacheAppHarnessConfig({ port, runDir, site, modules, htaccess }));
  started.push(startProcess(['/usr/sbin/apache2', '-f', conf, '-DFOREGROUND'], join(runDir, 'logs/nginx.log')));
}

/** Starts one set-up; see the module comment. */
export async function startBackend(kind: BackendKind, options: BackendOptions): Promise<RunningServer> {
  if (process.getuid?.() !== 0) throw new Error(`servers: starting ${kind} needs root (the app runs as www-data)`);
  const runDir = await createRunDir(kind);
  await installScripts(join(runDir, 'docroot/cgi-bin'), { 'app.fcgi': options.script });
  const script = join(runDir, 'docroot/cgi-bin/app.fcgi');
  const socket = join(runDir, 'rt/app.sock');
  const appLog = join(runDir, 'logs/app.log');
  const logFiles = [join(runDir, 'logs/error.log'), appLog, join(runDir, 'logs/nginx.log')];
  const plan = (start: (ports: readonly number[], started: Started[]) => Promise<void>, portCount = 1) =>
    launchServer({ kind, runDir, portCount, logFiles, prettyPath: null, rootPretty: false, start }).then(
      (running): RunningServer => ({ ...running, scriptPath: '/app' }),
    );
  switch (kind) {
    case 'nginx-fastcgi':
    case 'nginx-fastcgi-keepconn':
    case 'nginx-scgi':
      return plan(async ([port = 0], started) => {
        await startApp(script, `unix:${socket}`, appLog, started);
        const site = nginxAppSite({
          listen: `127.0.0.1:${port}`,
          serverName: '127.0.0.1',
          protocol: kind === 'nginx-scgi' ? 'scgi' : 'fastcgi',
          backend: `unix:${socket}`,
          keepConn: kind === 'nginx-fastcgi-keepconn',
          mount: '/app',
        });
        await startNginx(runDir, site, started);
      });
    case 'spawn-fcgi':
      return plan(async ([port = 0], started) => {
        // -n: spawn-fcgi execs the app in its place, the listening socket on fd 0.
        const app = startProcess(spawnFcgiCommand(script, socket), appLog);
        started.push(app);
        await waitForFile(socket, () => app.child.exitCode === null);
        const site = nginxAppSite({
          listen: `127.0.0.1:${port}`,
          serverName: '127.0.0.1',
          protocol: 'fastcgi',
          backend: `unix:${socket}`,
          mount: '/app',
        });
        await startNginx(runDir, site, started);
      });
    case 'lighttpd-fastcgi':
    case 'lighttpd-scgi':
      return plan(async ([port = 0], started) => {
        await startApp(script, `unix:${socket}`, appLog, started);
        const protocol = kind === 'lighttpd-scgi' ? 'scgi' : 'fastcgi';
        await startLighttpd(runDir, port, lighttpdAppSite({ protocol, socket, mount: '/app' }), started);
      });
    case 'lighttpd-fastcgi-spawn':
      return plan(async ([port = 0], started) => {
        const site = lighttpdAppSite({ protocol: 'fastcgi', socket, binPath: script, mount: '/app' });
        await startLighttpd(runDir, port, site, started);
      });
    case 'apache-proxy-fcgi':
    case 'apache-proxy-scgi':
      return plan(async ([port = 0], started) => {
        await startApp(script, `unix:${socket}`, appLog, started);
        const proxy = kind === 'apache-proxy-fcgi' ? 'proxy-fcgi' : 'proxy-scgi';
        const site = apacheAppSite({ kind: proxy, backend: `unix:${socket}`, mount: '/app' });
        const modules = proxy === 'proxy-fcgi' ? ['proxy', 'proxy_fcgi'] : ['proxy', 'proxy_scgi', 'setenvif'];
        await startApache(runDir, port, site, modules, started);
      });
    case 'apache-proxy-fcgi-tcp':
      // The second port is the app's: on 127.0.0.1, as a TCP listener binds unless told otherwise.
      return plan(async ([port = 0, appPort = 0], started) => {
        await startApp(script, `127.0.0.1:${appPort}`, appLog, started);
        const site = apacheAppSite({ kind: 'proxy-fcgi', backend: `127.0.0.1:${appPort}`, mount: '/app' });
        await startApache(runDir, port, site, ['proxy', 'proxy_fcgi'], started);
      }, 2);
    case 'apache-fcgid':
      return plan(async ([port = 0], started) => {
        const site = apacheAppSite({ kind: 'fcgid', script, mount: '/app' });
        await startApache(runDir, port, site, ['alias', 'fcgid'], started);
      });
    case 'apache-fcgid-htaccess': {
      // A shared host's web space: app.fcgi and the .htaccess in the document root.
      await installScripts(join(runDir, 'docroot'), { 'app.fcgi': options.script });
      writeFileSync(join(runDir, 'docroot/.htaccess'), apacheFcgidHtaccess(), { mode: 0o644 });
      const mounted = await plan(async ([port = 0], started) => {
        const site = 'FcgidMaxRequestLen 1073741824\nFcgidIOTimeout 300\nFcgidOutputBufferSize 0\n';
        await startApache(runDir, port, site, ['fcgid', 'rewrite', 'mime'], started, true);
      });
      return { ...mounted, scriptPath: '' };
    }
    default:
      throw new Error(`servers: ${kind} is not set up yet`);
  }
}
