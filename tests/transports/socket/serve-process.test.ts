/**
 * A built script as a long-lived process: started the ways web servers and process managers
 * start a FastCGI program (an address in FETCH_CGI_LISTEN; a listening socket on fd 0, as
 * mod_fcgid, lighttpd's bin-path and spawn-fcgi do; systemd's LISTEN_FDS), and stopped the
 * ways they stop one (SIGTERM, a request limit, idleness).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildScript } from '../../../src/cli/build.js';
import { FastCgiClient } from '../../../src/host/fastcgi-client.js';
import { parseCgiResponse } from '../../../src/host/parse-cgi-response.js';
import { encodeHeaderBlock } from '../../../src/protocols/scgi/header-block.js';
import { assertInstalled, testRuntimes } from '../../frameworks/runtimes.js';

const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-socket-'));
const script = join(dir, 'app.fcgi');
const entry = new URL('../../fixtures/socket-app.ts', import.meta.url).pathname;
/** The same app built for each runtime scripts are tested on: its socket part runs there too. */
const runtimeScripts = testRuntimes.map((runtime) => ({
  runtime,
  path: join(dir, `app-${runtime.name.replace(' ', '')}.fcgi`),
}));
let counter = 0;

before(async () => {
  await buildScript({ entry, outfile: script });
  for (const { runtime, path } of runtimeScripts) {
    assertInstalled(runtime);
    await buildScript({ entry, outfile: path, runtime: runtime.runtime, node: runtime.binary });
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

// What mod_fcgid, lighttpd and spawn-fcgi do: bind and listen, put the socket on fd N, exec.
const LAUNCHER = `
import os, socket, sys
path, script, fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(64)
if listener.fileno() != fd:
    os.dup2(listener.fileno(), fd)
os.set_inheritable(fd, True)
if fd == 3:
    os.environ['LISTEN_FDS'] = '1'
    os.environ['LISTEN_PID'] = str(os.getpid())
os.execv(script, [script])
`;

interface Started {
  child: ChildProcess;
  socket: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts the script as a web server would, with nothing of this process's environment. */
async function start(
  how: 'env' | 'fd0' | 'systemd',
  env: Record<string, string> = {},
  file = script,
): Promise<Started> {
  const socket = join(dir, `s${counter++}.sock`);
  const base = { PATH: '/usr/local/bin:/usr/bin:/bin', ...env };
  const child =
    how === 'env'
      ? spawn(file, [], { env: { ...base, FETCH_CGI_LISTEN: `unix:${socket}` }, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('python3', ['-c', LAUNCHER, socket, file, how === 'fd0' ? '0' : '3'], {
          env: base,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  for (let waited = 0; !existsSync(socket); waited += 20) {
    if (waited > 10_000) throw new Error(`no socket after 10 s; stderr: ${stderr}`);
    await sleep(20);
  }
  // The socket file exists once bound; the process may need a moment more to serve on it.
  await sleep(how === 'env' ? 50 : 300);
  return { child, socket, stderr: () => stderr, exit };
}

async function fastcgiGet(socket: string, path: string, extra: Record<string, string> = {}) {
  const client = await FastCgiClient.connect(socket);
  const request = client.request({
    REQUEST_METHOD: 'GET',
    PATH_INFO: path,
    SCRIPT_NAME: '',
    SERVER_NAME: 'x',
    SERVER_PORT: '80',
    ...extra,
  });
  const response = await parseCgiResponse(
    (async function* () {
      yield await request.output();
    })(),
  );
  return { status: response.status, text: await response.text() };
}

const HOW = { env: 'FETCH_CGI_LISTEN', fd0: 'a listening socket on fd 0', systemd: 'LISTEN_FDS' } as const;

describe('a built script started on a socket', () => {
  for (const { runtime, path } of runtimeScripts) {
    for (const how of ['env', 'fd0', 'systemd'] as const) {
      test(`serves FastCGI and SCGI on ${runtime.name}, started with ${HOW[how]}`, async () => {
        const started = await start(how, {}, path);
        try {
          const fastcgi = await fastcgiGet(started.socket, '/hello');
          assert.deepEqual(fastcgi, { status: 200, text: `hello from ${started.child.pid}` });
          const scgi = connect(started.socket);
          scgi.write(encodeHeaderBlock({ REQUEST_METHOD: 'GET', PATH_INFO: '/hello', SERVER_NAME: 'x' }, 0));
          const response = await parseCgiResponse(scgi);
          assert.equal(await response.text(), `hello from ${started.child.pid}`);
        } finally {
          started.child.kill('SIGTERM');
          assert.equal(await started.exit, 0);
        }
      });
    }
  }

  test('keeps each request in its own env, never in process.env', async () => {
    const started = await start('env');
    try {
      const { text } = await fastcgiGet(started.socket, '/env', { X_WHO: 'the params' });
      assert.deepEqual(JSON.parse(text), { fromParams: 'the params', inProcessEnv: null });
    } finally {
      started.child.kill('SIGTERM');
      await started.exit;
    }
  });

  test('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const started = await start('env');
    const slow = fastcgiGet(started.socket, '/slow', { QUERY_STRING: 'ms=600' });
    await sleep(150);
    started.child.kill('SIGTERM');
    assert.deepEqual(await slow, { status: 200, text: 'slow done' });
    assert.equal(await started.exit, 0);
    assert.equal(existsSync(started.socket), false, 'the socket file is left behind');
  });

  test('an exception or rejection outside any response is logged and the process serves on', async () => {
    const started = await start('env');
    try {
      assert.equal((await fastcgiGet(started.socket, '/reject')).text, 'rejected on the side');
      await sleep(100);
      assert.equal((await fastcgiGet(started.socket, '/hello')).status, 200);
      assert.match(started.stderr(), /unhandled rejection in the app[^]*stray rejection/);
      assert.match(started.stderr(), /uncaught exception in the app[^]*stray exception/);
    } finally {
      started.child.kill('SIGTERM');
      await started.exit;
    }
  });

  test('stops cleanly after FETCH_CGI_MAX_REQUESTS requests, the last one answered whole', async () => {
    const started = await start('env', { FETCH_CGI_MAX_REQUESTS: '2' });
    assert.equal((await fastcgiGet(started.socket, '/hello')).status, 200);
    assert.equal((await fastcgiGet(started.socket, '/slow', { QUERY_STRING: 'ms=200' })).text, 'slow done');
    assert.equal(await started.exit, 0);
    assert.match(started.stderr(), /served 2 requests \(the maxRequests option\); stopping/);
  });

  test('stops after FETCH_CGI_IDLE_TIMEOUT seconds without a request', async () => {
    const started = await start('env', { FETCH_CGI_IDLE_TIMEOUT: '0.3' });
    assert.equal(await started.exit, 0);
    assert.match(started.stderr(), /no request for 300 ms/);
  });

  test('makes its unix socket mode 0660, or FETCH_CGI_SOCKET_MODE', async () => {
    for (const [env, mode] of [
      [{}, 0o660],
      [{ FETCH_CGI_SOCKET_MODE: '600' }, 0o600],
    ] as const) {
      const started = await start('env', env);
      try {
        assert.equal(statSync(started.socket).mode & 0o777, mode);
      } finally {
        started.child.kill('SIGTERM');
        await started.exit;
      }
    }
  });

  test('a bad FETCH_CGI_LISTEN or setting is one line on stderr and exit code 2', async () => {
    for (const env of [
      { FETCH_CGI_LISTEN: 'nowhere' },
      { FETCH_CGI_LISTEN: `unix:${join(dir, 'x.sock')}`, FETCH_CGI_CONCURRENCY: 'lots' },
    ]) {
      const child = spawn(script, [], { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      assert.equal(code, 2);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr, /FETCH_CGI_LISTEN|FETCH_CGI_CONCURRENCY must be a number/);
    }
  });
});
