import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FastCgiClient } from '../../src/host/fastcgi-client.js';
import { cleanEnv, root, runCli, tempDir } from './helpers.js';

const cliMain = join(root, 'src/cli/main.ts');

describe('fetch-cgi listen', () => {
  test('builds an entry and serves it over FastCGI on a unix socket until SIGTERM, then exits 0', async () => {
    const socket = join(tempDir('fetch-cgi-listen-'), 'app.sock');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cliMain, 'listen', 'examples/hello/app.ts', `unix:${socket}`, '--socket-mode', '600'],
      { cwd: root, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (let waited = 0; !existsSync(socket); waited += 50) {
      assert.ok(waited < 20_000, `no socket after 20 s: ${stderr}`);
      await sleep(50);
    }
    await sleep(200);
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    const client = await FastCgiClient.connect(socket);
    const request = client.request({ REQUEST_METHOD: 'GET', PATH_INFO: '/', SCRIPT_NAME: '', SERVER_NAME: 'x' });
    assert.match((await request.output()).toString(), /^Status: 200 OK\r\n[^]*Hello from fetch-cgi/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stderr, /serving examples\/hello\/app\.ts over FastCGI and SCGI on unix:/);
  });

  test('refuses an address it cannot listen on with exit code 2', async () => {
    const result = await runCli(['listen', 'examples/hello/app.ts', 'somewhere']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot listen on "somewhere"/);
  });
});
