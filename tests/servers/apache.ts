import { copyFile, chmod, mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apacheHarnessConfig, apacheHtaccess, apacheVhost } from './configs/apache.js';
import { launchServer, startProcess } from './launch.js';
import { assertWwwDataCanRun, createRunDir, installScripts } from './run-dir.js';
import type { RunningServer, StartOptions } from './types.js';

/**
 * Apache with mpm_event + mod_cgid (`'event'`) or mpm_prefork + mod_cgi (`'prefork'`),
 * running in the foreground as root with CGIs as www-data. Besides the main site it
 * serves a second, `.htaccess`-only site (see RunningServer.htaccessOrigin).
 */
export async function startApache(mpm: 'event' | 'prefork', options: StartOptions): Promise<RunningServer> {
  const kind = mpm === 'event' ? 'apache-event' : 'apache-prefork';
  const runDir = await createRunDir(kind);
  await installScripts(join(runDir, 'docroot/cgi-bin'), options.scripts);
  await installHostedSite(join(runDir, 'hosted'), options.scripts['app.cgi']);
  const conf = join(runDir, 'apache2.conf');
  const pidFile = join(runDir, 'rt/apache2.pid');
  const stdoutLog = join(runDir, 'logs/stdout.log');
  return launchServer({
    kind,
    runDir,
    portCount: 2,
    logFiles: [join(runDir, 'logs/error.log'), stdoutLog],
    prettyPath: '/app',
    rootPretty: true,
    htaccessOrigin: (ports) => `http://127.0.0.1:${ports[1]}`,
    async start([port = 0, htaccessPort = 0], started) {
      const vhost = apacheVhost({
        address: `127.0.0.1:${port}`,
        serverName: '127.0.0.1',
        documentRoot: `${runDir}/docroot`,
      });
      const timeout = options.scriptTimeout === undefined ? {} : { scriptTimeout: options.scriptTimeout };
      await writeFile(conf, apacheHarnessConfig({ mpm, port, htaccessPort, runDir, vhost, ...timeout }));
      started.push({
        ...startProcess(['/usr/sbin/apache2', '-f', conf, '-DFOREGROUND'], stdoutLog),
        // The same pid as the foreground parent, unless someone changes how it is started.
        extraPids: () => {
          try {
            return [Number(readFileSync(pidFile, 'utf8').trim())].filter((pid) => pid > 0);
          } catch {
            return [];
          }
        },
      });
    },
  });
}

/** A document root with the shared-hosting `.htaccess` and a copy of app.cgi, if given. */
async function installHostedSite(dir: string, appScript: string | undefined): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  await writeFile(join(dir, '.htaccess'), apacheHtaccess(), { mode: 0o644 });
  if (appScript === undefined) return;
  await copyFile(appScript, join(dir, 'app.cgi'));
  await chmod(join(dir, 'app.cgi'), 0o755);
  assertWwwDataCanRun(join(dir, 'app.cgi'));
}
