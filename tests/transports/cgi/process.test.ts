import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildScript } from '../../../src/cli/build.js';
import type { CgiEnv } from '../../../src/types.js';
import { cgiEnv } from '../../helpers/envdump.js';
import { downloadChunk } from '../../fixtures/process-app.js';
import { assertInstalled, testRuntimes } from '../../frameworks/runtimes.js';

const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-process-'));
const helloScript = join(dir, 'hello.cgi');
const fixtureScript = join(dir, 'app.cgi');
const MiB = 1024 * 1024;

before(async () => {
  await buildScript({
    entry: new URL('../../../examples/hello/app.ts', import.meta.url).pathname,
    outfile: helloScript,
  });
  await buildScript({
    entry: new URL('../../fixtures/process-app.ts', import.meta.url).pathname,
    outfile: fixtureScript,
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The environment a web server would pass: the CGI variables and PATH, nothing of ours. */
function serverEnv(overrides: CgiEnv): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  for (const [name, value] of Object.entries(cgiEnv(overrides))) if (value !== undefined) env[name] = value;
  return env;
}

function start(script: string, env: CgiEnv): ChildProcess {
  return spawn(script, [], { env: serverEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
}

interface Finished {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function finish(child: ChildProcess, stdin?: Buffer | ((stdin: NodeJS.WritableStream) => void)): Promise<Finished> {
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  if (typeof stdin === 'function') stdin(child.stdin as NodeJS.WritableStream);
  else child.stdin?.end(stdin);
  child.stdin?.on('error', () => {});
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr })));
}

function headAndBody(stdout: Buffer): { head: string; body: Buffer } {
  const end = stdout.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no CGI header block in ${JSON.stringify(stdout.subarray(0, 200).toString())}`);
  return { head: stdout.subarray(0, end + 2).toString('latin1'), body: stdout.subarray(end + 4) };
}

const waitFor = async (predicate: () => boolean, ms: number) => {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return predicate();
};

/**
 * Streams `chunks` numbered 64 KiB chunks out of the fixture and checks them by SHA-256.
 * `stallEveryMs` pauses the reading side that often, so the pipe fills and the script's writes
 * go part to the descriptor, part through the stream, and wait for drain.
 */
async function download(chunks: number, stallEveryMs?: number, script = fixtureScript): Promise<void> {
  const expected = createHash('sha256');
  for (let index = 0; index < chunks; index += 1) expected.update(downloadChunk(index));
  const child = start(script, { PATH_INFO: '/download', QUERY_STRING: `chunks=${chunks}` });
  const received = createHash('sha256');
  let headSeen = false;
  let pending = Buffer.alloc(0);
  let bodyBytes = 0;
  let stalls = 0;
  const stall = stallEveryMs
    ? setInterval(() => {
        stalls += 1;
        child.stdout?.pause();
        setTimeout(() => child.stdout?.resume(), stallEveryMs / 2);
      }, stallEveryMs)
    : undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    if (headSeen) {
      received.update(chunk);
      bodyBytes += chunk.length;
      return;
    }
    pending = Buffer.concat([pending, chunk]);
    const end = pending.indexOf('\r\n\r\n');
    if (end === -1) return;
    headSeen = true;
    assert.equal(pending.subarray(0, end).toString(), 'Status: 200 OK\r\nContent-Type: application/octet-stream');
    received.update(pending.subarray(end + 4));
    bodyBytes += pending.length - end - 4;
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearInterval(stall);
  assert.equal(code, 0);
  assert.equal(bodyBytes, chunks * 64 * 1024);
  assert.equal(received.digest('hex'), expected.digest('hex'));
  if (stallEveryMs) assert.ok(stalls > 3, `the reader stalled only ${stalls} times`);
}

/** Closes the reading end after the first bytes of a long download, as a client that goes away. */
async function closeEarly(script: string): Promise<void> {
  const child = start(script, { PATH_INFO: '/download', QUERY_STRING: 'chunks=100000' });
  child.stdin?.end();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise((resolve) => child.stdout?.once('data', resolve));
  const closedAt = Date.now();
  child.stdout?.destroy();
  const code = await exited;
  assert.ok(Date.now() - closedAt < 2000, 'gone within 2 s');
  assert.equal(code, 0);
  assert.equal(stderr, '');
}

describe('the built example app as a CGI process', () => {
  test('answers a GET on its raw stdout, exit code 0, nothing on stderr', async () => {
    const result = await finish(
      start(helloScript, {
        PATH_INFO: '/users/42',
        REQUEST_URI: '/cgi-bin/app.cgi/users/42',
        SERVER_SOFTWARE: 'Apache/2.4',
      }),
    );
    assert.equal(
      result.stdout.toString(),
      'Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n{"id":"42","server":"Apache/2.4"}',
    );
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
  });

  test('reads a JSON POST body from stdin', async () => {
    const body = Buffer.from('{"hello":"world"}');
    const env = {
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/echo',
      CONTENT_TYPE: 'application/json',
      CONTENT_LENGTH: String(body.length),
    };
    const result = await finish(start(helloScript, env), body);
    assert.equal(headAndBody(result.stdout).body.toString(), '{"received":{"hello":"world"}}');
  });

  test('not run under CGI: one usage line on stderr, empty stdout, non-zero exit', async () => {
    const child = spawn(helloScript, [], { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await finish(child);
    assert.equal(result.code, 2);
    assert.equal(result.stdout.length, 0);
    assert.match(result.stderr, /^fetch-cgi: not running under CGI[^\n]*\n$/);
  });
});

describe('a CGI process: bodies', () => {
  test('a small body arrives intact in pieces, each read of it waiting for the next', async () => {
    const pieces = [Buffer.from('first piece, '), Buffer.from('then the second, '), Buffer.from('and the last')];
    const body = Buffer.concat(pieces);
    const child = start(fixtureScript, {
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/upload',
      CONTENT_LENGTH: String(body.length),
    });
    const result = finish(child, (stdin) => {
      pieces.forEach((piece, index) => setTimeout(() => stdin.write(piece), index * 100));
      // stdin stays open: the body ends at CONTENT_LENGTH, not at EOF.
    });
    const { body: answer } = headAndBody((await result).stdout);
    assert.equal(answer.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  });

  test('a small body from a stdin the server left non-blocking arrives intact', async () => {
    // Node cannot make a descriptor non-blocking; python3 (on every Debian) can, as some servers do.
    const body = 'x'.repeat(5000);
    const launcher = [
      'import os, subprocess, sys, time',
      'r, w = os.pipe()',
      'os.set_blocking(r, False)',
      'child = subprocess.Popen([sys.argv[1]], stdin=r, stdout=subprocess.PIPE)',
      'time.sleep(0.3)',
      `os.write(w, b"${body}")`,
      'sys.stdout.buffer.write(child.communicate()[0])',
    ].join('\n');
    const env = serverEnv({ REQUEST_METHOD: 'POST', PATH_INFO: '/upload', CONTENT_LENGTH: String(body.length) });
    const output = await new Promise<Buffer>((resolve, reject) =>
      execFile(
        'python3',
        ['-c', launcher, fixtureScript],
        { env, encoding: 'buffer', timeout: 10_000 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    const expected = `${body.length} ${createHash('sha256').update(body).digest('hex')}`;
    assert.equal(headAndBody(output).body.toString(), expected);
  });

  test('a 100 MiB upload reaches the app intact (SHA-256)', async () => {
    const hash = createHash('sha256');
    const size = 100 * MiB;
    const result = await finish(
      start(fixtureScript, { REQUEST_METHOD: 'POST', PATH_INFO: '/upload', CONTENT_LENGTH: String(size) }),
      (stdin) => {
        let sent = 0;
        const chunk = Buffer.alloc(MiB);
        const pump = () => {
          while (sent < size) {
            chunk.writeUInt32BE(sent / MiB, 0);
            hash.update(chunk);
            sent += chunk.length;
            if (!stdin.write(chunk)) return void stdin.once('drain', pump);
          }
          stdin.end();
        };
        pump();
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(headAndBody(result.stdout).body.toString(), `${size} ${hash.digest('hex')}`);
  });

  test('a 100 MiB download leaves the process intact (SHA-256), stdout drained before exit', async () => {
    await download(1600);
  });

  test('a 32 MiB download to a reader that keeps stalling arrives intact, in order', async () => {
    await download(512, 10);
  });

  test('a request body that ends early gives a 400 instead of a hang', async () => {
    const result = await finish(
      start(fixtureScript, { REQUEST_METHOD: 'POST', PATH_INFO: '/upload', CONTENT_LENGTH: '1000' }),
      Buffer.alloc(10),
    );
    assert.match(result.stdout.toString(), /^Status: 400 Bad Request\r\n/);
    assert.match(result.stderr, /request body ended after 10 of 1000 bytes/);
  });
});

describe('a CGI process: the process around the response', () => {
  test('stray console output goes to stderr, never into the response', async () => {
    const result = await finish(start(fixtureScript, { PATH_INFO: '/console' }));
    assert.equal(headAndBody(result.stdout).body.toString(), 'clean');
    assert.match(result.stdout.toString(), /^Status: 200 OK\r\n/);
    assert.equal(result.stderr, 'stray log\nstray info\nstray write\n');
  });

  test('httpoxy: HTTP_PROXY from a client header is gone from process.env before the app runs', async () => {
    const result = await finish(
      start(fixtureScript, { PATH_INFO: '/proxy-env', HTTP_PROXY: 'http://evil:8080', http_proxy: 'http://evil:8080' }),
    );
    assert.deepEqual(JSON.parse(headAndBody(result.stdout).body.toString()), {
      HTTP_PROXY: null,
      http_proxy: null,
      env: null,
    });
  });

  test('an exception thrown later in a callback gives a 500, the stack on stderr only', async () => {
    const result = await finish(start(fixtureScript, { PATH_INFO: '/throw-later' }));
    assert.equal(result.code, 1);
    assert.equal(
      result.stdout.toString(),
      'Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\r\nInternal Server Error',
    );
    assert.match(result.stderr, /late failure with secret=hunter2/);
  });

  test('with stderr on the stdout pipe (mini_httpd), diagnostics never reach the response', async () => {
    const env = serverEnv({ PATH_INFO: '/throw-later' });
    const child = spawn('/bin/sh', ['-c', 'exec "$0" 2>&1', fixtureScript], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const result = await finish(child);
    assert.equal(
      result.stdout.toString(),
      'Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\r\nInternal Server Error',
    );
    const stray = await finish(
      spawn('/bin/sh', ['-c', 'exec "$0" 2>&1', fixtureScript], {
        env: serverEnv({ PATH_INFO: '/console' }),
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    assert.equal(
      stray.stdout.toString(),
      'Status: 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 5\r\n\r\nclean',
    );
  });

  test('an app whose promise can never settle gets a 500 instead of no response at all', async () => {
    const result = await finish(start(fixtureScript, { PATH_INFO: '/never' }));
    assert.equal(result.code, 1);
    assert.match(result.stdout.toString(), /^Status: 500 Internal Server Error\r\n/);
    assert.match(result.stderr, /never settled/);
  });

  test('exits promptly after the response even when the app left a timer running', async () => {
    const started = Date.now();
    const result = await finish(start(fixtureScript, { PATH_INFO: '/timer' }));
    assert.equal(result.code, 0);
    assert.equal(headAndBody(result.stdout).body.toString(), 'timer left running');
    assert.ok(Date.now() - started < 900, 'the 1 s interval did not keep the process alive');
  });

  test('waitUntil work runs after stdout and stderr were closed, and survives SIGTERM (mod_cgid, lighttpd)', async () => {
    const marker = join(dir, 'wait-marker');
    const child = start(fixtureScript, { PATH_INFO: '/wait', QUERY_STRING: `marker=${marker}&ms=400` });
    child.stdin?.end();
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk));
    const stdoutClosed = new Promise((resolve) => child.stdout?.on('end', resolve));
    const stderrClosed = new Promise((resolve) => child.stderr?.on('end', resolve));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await Promise.all([stdoutClosed, stderrClosed]);
    assert.match(stdout, /\r\n\r\nresponded$/);
    assert.equal(existsSync(marker), false, 'the response ended before the background work');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(existsSync(marker), true, 'the background work finished after SIGTERM');
  });

  test('a reader that closes stdout early ends the process quietly and promptly', async () => {
    await closeEarly(fixtureScript);
  });

  test('SIGTERM in the middle of a response ends the process with one line on stderr', async () => {
    const pidfile = join(dir, 'sigterm-pid');
    const child = start(fixtureScript, {
      PATH_INFO: '/download',
      QUERY_STRING: `chunks=1000&delay=50&pidfile=${pidfile}`,
    });
    child.stdin?.end();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
    child.stdout?.resume();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.ok(await waitFor(() => existsSync(pidfile), 5000));
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /SIGTERM/);
  });

  test('SIGTERM while the app waits for a stalled upload ends the process', async () => {
    // The body's first bytes come, the rest never does: the app's read of stdin waits in libuv's
    // thread pool, which process.exit alone would wait for forever.
    const child = start(fixtureScript, { REQUEST_METHOD: 'POST', PATH_INFO: '/upload', CONTENT_LENGTH: '1000' });
    child.stdin?.write(Buffer.alloc(100));
    child.stdout?.resume();
    child.stderr?.resume();
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGTERM');
    const result = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000, 'still running'))]);
    child.kill('SIGKILL');
    child.stdin?.destroy();
    assert.equal(result, 'SIGTERM');
  });

  test('a body the app never reads is read off stdin before the process ends', async () => {
    // With the body unread, mod_cgid's socket would be reset when the script exits: the process
    // must take every byte off its stdin, even when they come after the response.
    const child = start(fixtureScript, {
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/ignore-body',
      CONTENT_LENGTH: String(MiB),
    });
    let written = 0;
    let exited = false;
    const result = finish(child, (stdin) => {
      const writeMore = () => {
        if (exited || written >= MiB) return stdin.end();
        stdin.write(Buffer.alloc(64 * 1024), (error) => {
          if (error) return;
          written += 64 * 1024;
          setTimeout(writeMore, 10);
        });
      };
      writeMore();
    });
    const { code, stdout } = await result;
    exited = true;
    assert.equal(code, 0);
    assert.match(stdout.toString(), /^Status: 202 Accepted\r\n/);
    assert.equal(written, MiB, 'the process ended before it had read the whole body');
  });
});

describe('a CGI process on Bun, whose response goes through Bun.write', () => {
  const bun = testRuntimes.find((runtime) => runtime.runtime === 'bun');
  const bunScript = join(dir, 'app-bun.cgi');
  before(async () => {
    assert.ok(bun);
    assertInstalled(bun);
    await buildScript({
      entry: new URL('../../fixtures/process-app.ts', import.meta.url).pathname,
      outfile: bunScript,
      runtime: 'bun',
      node: bun.binary,
    });
  });

  test('answers, with stray console output on stderr, never in the response', async () => {
    const result = await finish(start(bunScript, { PATH_INFO: '/console' }));
    assert.equal(result.stdout.toString(), 'Status: 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nclean');
    assert.equal(result.code, 0);
    assert.match(result.stderr, /stray log\n/);
  });

  test('with stderr on the stdout pipe (mini_httpd), diagnostics never reach the response', async () => {
    for (const [path, expected] of [
      ['/throw-later', /^Status: 500 Internal Server Error\r\n[^]*\r\n\r\nInternal Server Error$/],
      ['/console', /^Status: 200 OK\r\n[^]*\r\n\r\nclean$/],
    ] as const) {
      const child = spawn('/bin/sh', ['-c', 'exec "$0" 2>&1', bunScript], {
        env: serverEnv({ PATH_INFO: path }),
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      assert.match((await finish(child)).stdout.toString(), expected, path);
    }
  });

  test('an exception thrown later in a callback gives a 500, the stack on stderr only', async () => {
    const result = await finish(start(bunScript, { PATH_INFO: '/throw-later' }));
    assert.equal(result.code, 1);
    assert.match(result.stdout.toString(), /^Status: 500 Internal Server Error\r\n[^]*\r\n\r\nInternal Server Error$/);
    assert.match(result.stderr, /late failure with secret=hunter2/);
  });

  test('a 32 MiB download to a reader that keeps stalling arrives intact, in order', async () => {
    await download(512, 10, bunScript);
  });

  test('a reader that closes stdout early ends the process quietly and promptly', async () => {
    await closeEarly(bunScript);
  });

  test('a small upload reaches the app intact', async () => {
    const body = Buffer.from('x'.repeat(5000));
    const result = await finish(
      start(bunScript, { REQUEST_METHOD: 'POST', PATH_INFO: '/upload', CONTENT_LENGTH: String(body.length) }),
      body,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      headAndBody(result.stdout).body.toString(),
      `${body.length} ${createHash('sha256').update(body).digest('hex')}`,
    );
  });
});
