import { join } from 'node:path';
import { miniHttpdCommand } from './configs/command-lines.js';
import { launchServer, startProcess } from './launch.js';
import { createRunDir, installScripts } from './run-dir.js';
import type { RunningServer, StartOptions } from './types.js';

/** mini_httpd in the foreground, CGIs as www-data; it cannot rewrite URLs. */
export async function startMiniHttpd(options: StartOptions): Promise<RunningServer> {
  const runDir = await createRunDir('mini_httpd');
  await installScripts(join(runDir, 'docroot/cgi-bin'), options.scripts);
  const accessLog = join(runDir, 'logs/access.log');
  const stderrLog = join(runDir, 'logs/stderr.log');
  return launchServer({
    kind: 'mini_httpd',
    runDir,
    portCount: 1,
    logFiles: [stderrLog, accessLog],
    prettyPath: null,
    rootPretty: false,
    async start([port = 0], started) {
      const argv = miniHttpdCommand({ address: '127.0.0.1', port, documentRoot: `${runDir}/docroot` }, accessLog);
      started.push(startProcess(argv, stderrLog));
    },
  });
}
