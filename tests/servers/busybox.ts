import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxCommand } from './configs/command-lines.js';
import { launchServer, startProcess } from './launch.js';
import { createRunDir, installScripts } from './run-dir.js';
import type { RunningServer, StartOptions } from './types.js';

/** busybox httpd in the foreground, CGIs as www-data; it cannot rewrite URLs. */
export async function startBusybox(options: StartOptions): Promise<RunningServer> {
  const runDir = await createRunDir('busybox');
  await installScripts(join(runDir, 'docroot/cgi-bin'), options.scripts);
  // An empty private config, so that /etc/httpd.conf (if any) is not read.
  const conf = join(runDir, 'httpd.conf');
  await writeFile(conf, '');
  const log = join(runDir, 'logs/stderr.log');
  return launchServer({
    kind: 'busybox',
    runDir,
    portCount: 1,
    logFiles: [log],
    prettyPath: null,
    rootPretty: false,
    async start([port = 0], started) {
      const argv = busyboxCommand({ address: '127.0.0.1', port, documentRoot: `${runDir}/docroot` }, conf);
      started.push(startProcess(argv, log));
    },
  });
}
