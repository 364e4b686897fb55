import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FastCgiClient } from '../../src/host/fastcgi-client.js';
import { cleanEnv, root, runCli, tempDir } from './helpers.js';

const cliMain = join(root, 'src/cli/main.ts');

/**
 * An app that answers with its process id, after `?wait=ms` (a timer) or `?busy=ms` (the CPU
 * held, so that a busy worker leaves new connections to the others).
 */
const PID_APP = `export default async (request: Request) => {
  const query = new URL(request.url).searchParams;
  const wait = Number(query.get('wait') ?? 0);
  if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
  const busyUntil = Date.now() + Number(query.get('busy') ?? 0);
  while (Date.now() < busyUntil);
  return new Response(String(process.pid));
};
`;

interface Listening {
  child: ChildProcess;
  socket: string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Kills the command and its workers. */
  kill(): void;
}

/** `fetch-cgi listen app.ts unix:<tmp>/app.sock ...args`, once its log line names the workers. */
async function listen(args: string[]): Promise<Listening> {
  const dir = tempDir('fetch-cgi-workers-');
  const entry = join(dir, 'app.ts');
  writeFileSync(entry, PID_APP);
  const socket = join(dir, 'app.sock');
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'listen', entry, `unix:${socket}`, ...args], {
    cwd: root,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a failed test kills the command and every worker at once.
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  for (
    let waited = 0;
    child.exitCode === null && child.signalCode === null && !/with \d+ workers? \(/.test(stderr);
    waited += 50
  ) {
    assert.ok(waited < 30_000, `not serving after ${waited} ms: ${stderr}`);
    await sleep(50);
  }
  const kill = () => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // All gone.
    }
  };
  return { child, socket, stderr: () => stderr, exited, kill };
}

/** The pid that answers one request on a new connection. */
async function ask(socket: string, query = ''): Promise<number> {
  const client = await FastCgiClient.connect(socket);
  try {
    const request = client.request({
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '',
      PATH_INFO: '/',
      QUERY_STRING: query,
      SERVER_NAME: 'x',
    });
    const output = (await request.output()).toString();
    assert.match(output, /^Status: 200 OK\r\n/);
    return Number(output.split('\r\n\r\n')[1]);
  } finally {
    client.close();
  }
}

/** Whether `pid` is running (not a zombie: an orphan is reaped by init, a test's child may not be). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Workers named in the log line, in the order given. */
const workersOf = (stderr: string) => (/with \d+ workers? \(([\d ]+)\)/.exec(stderr)?.[1] ?? '').split(' ').map(Number);

describe('fetch-cgi listen --workers', () => {
  test('runs N processes on one socket, all of them serving, and replaces one that is killed', async () => {
    const server = await listen(['--workers', '3']);
    try {
      const started = workersOf(server.stderr());
      assert.equal(started.length, 3);
      // Requests that hold a worker's CPU: while one is busy, the others accept. The log line
      // comes when the first worker listens; the others may still be loading, so ask in rounds.
      const pids = new Set<number>();
      for (let round = 0; pids.size < 2; round++) {
        assert.ok(round < 40, `only ${[...pids].join(' ')} answered: ${server.stderr()}`);
        for (const pid of await Promise.all(Array.from({ length: 12 }, () => ask(server.socket, 'busy=50'))))
          pids.add(pid);
      }
      for (const pid of pids) assert.ok(started.includes(pid), `${pid} is not one of the workers ${started}`);

      const victim = started[0] ?? 0;
      process.kill(victim, 'SIGKILL');
      for (let waited = 0; !/killed by SIGKILL; starting another/.test(server.stderr()); waited += 50) {
        assert.ok(waited < 10_000, server.stderr());
        await sleep(50);
      }
      // The survivors and the replacement serve; the socket never went away.
      for (let i = 0; i < 10; i++) assert.notEqual(await ask(server.socket), victim);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      assert.equal(existsSync(server.socket), false, 'the socket file is removed at the end');
      for (const pid of started) assert.throws(() => process.kill(pid, 0), 'every worker has ended');
    } finally {
      server.kill();
    }
  });

  test('workers stop by themselves, finishing what they serve, when the command is killed with SIGKILL', async () => {
    const server = await listen(['--workers', '2']);
    try {
      const started = workersOf(server.stderr());
      assert.equal(started.length, 2);
      const slow = ask(server.socket, 'wait=1500');
      await sleep(200);
      // The command alone: its workers get no signal and must notice.
      process.kill(server.child.pid ?? 0, 'SIGKILL');
      const answered = await Promise.race([slow, sleep(10_000).then(() => 'no answer in 10 s')]);
      assert.ok(started.includes(answered as number), `the request in flight was answered: ${answered}`);
      for (let waited = 0; started.some((pid) => alive(pid)); waited += 100) {
        assert.ok(waited < 10_000, `workers still running ${waited} ms after the command was killed`);
        await sleep(100);
      }
    } finally {
      server.kill();
    }
  });

  test('SIGHUP starts fresh workers and lets the old ones finish what they serve', async () => {
    const server = await listen(['--workers', '2']);
    try {
      const old = workersOf(server.stderr());
      const slow = ask(server.socket, 'wait=1500');
      await sleep(300);
      server.child.kill('SIGHUP');
      // The request in flight finishes on its old worker, after the reload began.
      assert.ok(old.includes(await slow));
      for (let waited = 0; old.some((pid) => existsSync(`/proc/${pid}`)); waited += 50) {
        assert.ok(
          waited < 15_000,
          `the old workers did not end: ${server.stderr()} ${old.map((pid) => (existsSync(`/proc/${pid}`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '')).join('\n')}`,
        );
        await sleep(50);
      }
      const now = await ask(server.socket);
      assert.ok(!old.includes(now), `${now} is an old worker`);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    } finally {
      server.kill();
    }
  });

  test('gives up with exit code 1 when workers keep dying at start', async () => {
    const server = await listen(['--workers', '2', '-e', 'FETCH_CGI_CONCURRENCY=lots']);
    const code = await server.exited;
    assert.equal(code, 1);
    assert.match(server.stderr(), /FETCH_CGI_CONCURRENCY must be a number/);
    assert.match(server.stderr(), /workers keep dying at start, stopping/);
  });

  test('refuses --idle-timeout with --max-requests, and a worker count that is not a number', async () => {
    const both = await runCli([
      'listen',
      'examples/hello/app.ts',
      '9000',
      '--idle-timeout',
      '5',
      '--max-requests',
      '10',
    ]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--idle-timeout and --max-requests do not go together/);
    const bad = await runCli(['listen', 'examples/hello/app.ts', '9000', '--workers', 'many']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--workers/);
  });
});
