/**
 * The FastCGI Authorizer role through a real server: lighttpd asks the built script (started by
 * lighttpd itself, `"mode" => "authorizer"`) about every request for a static file, serves the
 * file when the app answers 200, and sends the app's answer otherwise.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildScript } from '../src/cli/build.js';
import { lighttpdHarnessConfig } from './servers/configs/lighttpd.js';
import { launchServer, startProcess } from './servers/launch.js';
import { createRunDir, installScripts } from './servers/run-dir.js';
import type { RunningServer } from './servers/index.js';

const buildDir = mkdtempSync('/tmp/fetch-cgi-authorizer-');
chmodSync(buildDir, 0o755);
let server: RunningServer | undefined;

before(async () => {
  const script = join(buildDir, 'auth.fcgi');
  await buildScript({ entry: new URL('./fixtures/authorizer-app.ts', import.meta.url).pathname, outfile: script });
  const runDir = await createRunDir('lighttpd-authorizer');
  await installScripts(join(runDir, 'docroot/cgi-bin'), { 'auth.fcgi': script });
  writeFileSync(join(runDir, 'docroot/secret.txt'), 'the protected file\n', { mode: 0o644 });
  const conf = join(runDir, 'lighttpd.conf');
  server = await launchServer({
    kind: 'lighttpd-fastcgi-spawn',
    runDir,
    portCount: 1,
    logFiles: [join(runDir, 'logs/error.log'), join(runDir, 'logs/stdout.log')],
    prettyPath: null,
    rootPretty: false,
    async start([port = 0], started) {
      const site = `server.modules += ( "mod_fastcgi" )
fastcgi.server = (
    "/" => ((
        "socket" => "${runDir}/rt/auth.sock",
        "bin-path" => "${runDir}/docroot/cgi-bin/auth.fcgi",
        "max-procs" => 1,
        "check-local" => "disable",
        "mode" => "authorizer",
        "docroot" => "${runDir}/docroot",
    )),
)
`;
      await writeFile(conf, lighttpdHarnessConfig({ port, runDir, site }));
      started.push(startProcess(['/usr/sbin/lighttpd', '-D', '-f', conf], join(runDir, 'logs/stdout.log')));
    },
  });
});

after(async () => {
  await server?.stop();
  rmSync(buildDir, { recursive: true, force: true });
});

test('an app answering 200 as a FastCGI Authorizer lets lighttpd serve the file', async () => {
  const response = await fetch(`${server?.origin}/secret.txt`, { headers: { authorization: 'Bearer open-sesame' } });
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'the protected file\n');
});

test('any other answer of the Authorizer goes to the client instead of the file', async () => {
  const response = await fetch(`${server?.origin}/secret.txt`);
  assert.equal(response.status, 403);
  assert.equal(await response.text(), 'denied by the authorizer\n');
});
