import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lighttpdHarnessConfig, lighttpdSite } from './configs/lighttpd.js';
import { launchServer, startProcess } from './launch.js';
import { createRunDir, installScripts } from './run-dir.js';
import type { RunningServer, StartOptions } from './types.js';

/** lighttpd with mod_cgi and mod_rewrite, in the foreground, CGIs as www-data. */
export async function startLighttpd(options: StartOptions): Promise<RunningServer> {
  const runDir = await createRunDir('lighttpd');
  await installScripts(join(runDir, 'docroot/cgi-bin'), options.scripts);
  const conf = join(runDir, 'lighttpd.conf');
  const stdoutLog = join(runDir, 'logs/stdout.log');
  const site = lighttpdSite({ streamResponseBody: options.stream ?? true });
  return launchServer({
    kind: 'lighttpd',
    runDir,
    portCount: 1,
    logFiles: [join(runDir, 'logs/error.log'), stdoutLog],
    prettyPath: '/app',
    rootPretty: true,
    async start([port = 0], started) {
      await writeFile(conf, lighttpdHarnessConfig({ port, runDir, site }));
      started.push(startProcess(['/usr/sbin/lighttpd', '-D', '-f', conf], stdoutLog));
    },
  });
}
