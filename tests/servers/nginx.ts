import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fcgiwrapCommand, nginxHarnessConfig, nginxSite } from './configs/nginx.js';
import { launchServer, startProcess } from './launch.js';
import { waitForFile } from './processes.js';
import { createRunDir, installScripts } from './run-dir.js';
import type { RunningServer, StartOptions } from './types.js';

/**
 * fcgiwrap (4 workers, as www-data, on a unix socket in the run directory) behind nginx
 * (master as root, workers as www-data), both in the foreground.
 */
export async function startNginx(options: StartOptions): Promise<RunningServer> {
  const runDir = await createRunDir('nginx');
  await installScripts(join(runDir, 'docroot/cgi-bin'), options.scripts);
  const conf = join(runDir, 'nginx.conf');
  const socket = join(runDir, 'rt/fcgiwrap.sock');
  const errorLog = join(runDir, 'logs/error.log');
  const nginxStdout = join(runDir, 'logs/nginx.stdout.log');
  const fcgiwrapLog = join(runDir, 'logs/fcgiwrap.stderr.log');
  return launchServer({
    kind: 'nginx',
    runDir,
    portCount: 1,
    logFiles: [errorLog, nginxStdout, fcgiwrapLog],
    prettyPath: '/app',
    rootPretty: true,
    async start([port = 0], started) {
      const site = nginxSite({
        listen: `127.0.0.1:${port}`,
        serverName: '127.0.0.1',
        root: `${runDir}/docroot`,
        socket,
        unbuffered: options.stream ?? true,
      });
      await writeFile(conf, nginxHarnessConfig({ runDir, site }));
      // fcgiwrap refuses to bind over a socket file left by an earlier attempt.
      await rm(socket, { force: true });
      const fcgiwrap = startProcess(fcgiwrapCommand(socket), fcgiwrapLog);
      started.push(fcgiwrap);
      const alive = () => fcgiwrap.child.exitCode === null && fcgiwrap.child.signalCode === null;
      await waitForFile(socket, alive);
      // -e: without it nginx opens /var/log/nginx/error.log before reading the config.
      started.push(startProcess(['/usr/sbin/nginx', '-e', errorLog, '-c', conf], nginxStdout));
    },
  });
}
