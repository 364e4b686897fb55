/**
 * Faults through real servers (Apache with mod_cgid and with mod_cgi): the client going away
 * mid-upload and mid-download (the server then closes the script's stdin or stdout early), a
 * half-closed upload, a head the server refuses, the server's own script timeout, the app hanging (the bridge's `timeout` option) before and after
 * its head, and SIGTERM mid-response. Each fault runs on both servers at once; on each, it must
 * leave no script process behind within a few seconds, and what the error log gains must be
 * short and clear: at most one line from the bridge (exactly one where only the bridge can
 * explain what happened), never a stack trace.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildScript } from '../../src/cli/build.js';
import { scriptProcesses, scriptsGone } from '../helpers/cgi-processes.js';
import { startServer, type RunningServer, type ServerKind } from '../servers/index.js';
import { type Connection, openRequest } from './client.js';

const KINDS: readonly ServerKind[] = ['apache-event', 'apache-prefork'];
/** Apache's CGIScriptTimeout for these servers, in seconds. */
const SCRIPT_TIMEOUT = 2;
/** The bridge's `timeout` option for the hanging routes, in ms. */
const APP_TIMEOUT = 800;
const KiB = 1024;

const buildDir = mkdtempSync('/tmp/fetch-cgi-faults-');
chmodSync(buildDir, 0o755);
const servers = new Map<ServerKind, Promise<RunningServer>>();
/** Faults survived, for the summary line. */
let survived = 0;

before(async () => {
  const script = join(buildDir, 'app.cgi');
  await buildScript({ entry: new URL('./app.ts', import.meta.url).pathname, outfile: script });
  for (const kind of KINDS) {
    const started = startServer(kind, { scripts: { 'app.cgi': script }, scriptTimeout: SCRIPT_TIMEOUT });
    started.catch(() => {});
    servers.set(kind, started);
  }
});

after(async () => {
  await Promise.allSettled([...servers.values()].map(async (started) => (await started).stop()));
  rmSync(buildDir, { recursive: true, force: true });
});

/** What one fault left behind on one server. */
interface Outcome {
  kind: ServerKind;
  connection: Connection;
  /** What the server's error log gained, Apache's own start-up lines aside. */
  log: string;
  /** Lines of `log` written by the bridge. */
  bridgeLines: string[];
  /** Script processes still alive 5 s after the connection ended. */
  left: number[];
  /** From the request to the connection's end, in ms. */
  elapsed: number;
}

/**
 * Stages a fault on every server at once: `stage` opens the connection and does the damage;
 * the connection is then given `closeWithin` ms to end before the test drops it. Returns what
 * each server's log gained and which script processes outlived it.
 */
async function onEachServer(
  stage: (server: RunningServer) => Promise<Connection>,
  closeWithin = 5000,
): Promise<Outcome[]> {
  return Promise.all(
    KINDS.map(async (kind) => {
      const server = await servers.get(kind);
      assert.ok(server, `${kind} was not started`);
      const docroot = join(server.runDir, 'docroot');
      assert.deepEqual(scriptProcesses(docroot), [], `${kind}: a script from an earlier fault is still running`);
      const logFile = join(server.runDir, 'logs/error.log');
      const logStart = statSync(logFile).size;
      const started = Date.now();
      const connection = await stage(server);
      await Promise.race([connection.closed, sleep(closeWithin)]);
      const elapsed = Date.now() - started;
      connection.socket.destroy();
      const left = await scriptsGone(docroot, 5000);
      await sleep(150); // Apache writes the script's last stderr line after it exits
      const log = readFileSync(logFile).subarray(logStart).toString('utf8');
      const bridgeLines = log.split('\n').filter((line) => line.includes('fetch-cgi:'));
      return { kind, connection, log, bridgeLines, left, elapsed };
    }),
  );
}

/** The checks every fault shares: no process left, no stack trace, at most one bridge line. */
function assertClean(outcome: Outcome, bridgeLine?: RegExp): void {
  const { kind, log, bridgeLines, left } = outcome;
  assert.deepEqual(left, [], `${kind}: script processes left behind\n${log}`);
  assert.doesNotMatch(log, /^\s+at /m, `${kind}: a stack trace in the error log\n${log}`);
  assert.ok(bridgeLines.length <= 1, `${kind}: more than one line from the bridge\n${log}`);
  if (bridgeLine) {
    assert.equal(bridgeLines.length, 1, `${kind}: expected one line from the bridge\n${log}`);
    assert.match(bridgeLines[0] ?? '', bridgeLine, kind);
  }
  survived += 1;
}

/** Waits until the server has started the script for the current request. */
async function scriptStarted(server: RunningServer): Promise<void> {
  const docroot = join(server.runDir, 'docroot');
  for (const deadline = Date.now() + 5000; scriptProcesses(docroot).length === 0;) {
    assert.ok(Date.now() < deadline, `${server.kind}: the script never started`);
    await sleep(10);
  }
}

describe('faults through Apache (mod_cgid and mod_cgi)', () => {
  test('a client that disconnects during an upload leaves no process and no stack trace', async () => {
    const outcomes = await onEachServer(async (server) => {
      const connection = openRequest(
        server.origin,
        'POST /cgi-bin/app.cgi/upload?delay=5 HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 8388608',
        new Uint8Array(256 * KiB),
      );
      await scriptStarted(server);
      await sleep(300);
      connection.socket.destroy();
      return connection;
    });
    for (const outcome of outcomes) {
      assertClean(outcome);
      // The server notices first and says so; the bridge, when its stderr is still read, adds one line.
      assert.match(
        outcome.log,
        /Error reading request entity data|request body ended after \d+ of 8388608 bytes/,
        outcome.kind,
      );
    }
  });

  test('a server that closes stdin early (the client half-closed its upload) gets a 400, no process left', async () => {
    const outcomes = await onEachServer(async (server) => {
      const connection = openRequest(
        server.origin,
        'POST /cgi-bin/app.cgi/upload HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 100000',
        new Uint8Array(10 * KiB),
      );
      await scriptStarted(server);
      connection.socket.end();
      return connection;
    });
    for (const outcome of outcomes) {
      assertClean(outcome);
      assert.ok(outcome.elapsed < 4000, `${outcome.kind}: took ${outcome.elapsed} ms`);
      assert.match(
        outcome.log,
        /Error reading request entity data|request body ended after \d+ of 100000 bytes/,
        outcome.kind,
      );
    }
  });

  test('a client that disconnects during a download (the server closes stdout early) leaves no process', async () => {
    const outcomes = await onEachServer(async (server) => {
      const connection = openRequest(server.origin, 'GET /cgi-bin/app.cgi/download?chunks=100000&delay=2 HTTP/1.1');
      await connection.bodyAtLeast(64 * KiB);
      assert.equal(connection.status(), 200, server.kind);
      connection.socket.destroy();
      return connection;
    });
    for (const outcome of outcomes) assertClean(outcome);
  });

  test('a head the server refuses (a 64 KiB field) gets its 500 and the script ends quietly', async () => {
    // Apache reads a refused script's output to EOF before answering, so the body is kept short.
    const outcomes = await onEachServer(async (server) =>
      openRequest(server.origin, 'GET /cgi-bin/app.cgi/long-header?chunks=64 HTTP/1.1'),
    );
    for (const outcome of outcomes) {
      assertClean(outcome);
      assert.match(outcome.log, /Premature end of script headers/, outcome.kind);
      assert.equal(
        outcome.connection.status(),
        500,
        `${outcome.kind}: ${outcome.connection.received().subarray(0, 200)}`,
      );
      assert.ok(outcome.elapsed < 4000, `${outcome.kind}: took ${outcome.elapsed} ms`);
    }
  });

  test('the server timing out a silent script answers 504 and leaves no process', async () => {
    const outcomes = await onEachServer(
      async (server) => openRequest(server.origin, 'GET /cgi-bin/app.cgi/sleep?ms=20000 HTTP/1.1'),
      SCRIPT_TIMEOUT * 1000 + 4000,
    );
    for (const outcome of outcomes) {
      assertClean(outcome);
      assert.equal(outcome.connection.status(), 504, outcome.kind);
      assert.match(outcome.log, /timed out|Timeout waiting for output/i, outcome.kind);
    }
  });

  test('an app that never answers gets the bridge timeout: a 504 and one line', async () => {
    const outcomes = await onEachServer(async (server) =>
      openRequest(server.origin, `GET /cgi-bin/app.cgi/hang?timeout=${APP_TIMEOUT} HTTP/1.1`),
    );
    for (const outcome of outcomes) {
      assertClean(outcome, new RegExp(`no complete response after ${APP_TIMEOUT} ms`));
      const text = outcome.connection.received().toString('latin1');
      assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/, outcome.kind);
      assert.match(text, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/i, outcome.kind);
      assert.ok(outcome.elapsed < APP_TIMEOUT + 1500, `${outcome.kind}: took ${outcome.elapsed} ms`);
    }
  });

  test('an app that hangs after its head gets cut off at the bridge timeout with one line', async () => {
    const outcomes = await onEachServer(async (server) =>
      openRequest(server.origin, `GET /cgi-bin/app.cgi/hang-after-head?timeout=${APP_TIMEOUT} HTTP/1.1`),
    );
    for (const outcome of outcomes) {
      assertClean(outcome, new RegExp(`no complete response after ${APP_TIMEOUT} ms`));
      const text = outcome.connection.received().toString('latin1');
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n[\s\S]*first chunk\n/, outcome.kind);
      // Ended by the script, not by the server's 2 s script timeout.
      assert.ok(outcome.elapsed < APP_TIMEOUT + 1000, `${outcome.kind}: took ${outcome.elapsed} ms`);
    }
  });

  test('SIGTERM in the middle of a response ends the script with one line', async () => {
    const outcomes = await onEachServer(async (server) => {
      const connection = openRequest(server.origin, 'GET /cgi-bin/app.cgi/download?chunks=100000&delay=5 HTTP/1.1');
      await connection.bodyAtLeast(64 * KiB);
      for (const pid of scriptProcesses(join(server.runDir, 'docroot'))) process.kill(pid, 'SIGTERM');
      return connection;
    });
    for (const outcome of outcomes) {
      assertClean(outcome, /SIGTERM from the server before the response was complete/);
      assert.ok(outcome.elapsed < 3000, `${outcome.kind}: the response did not end (${outcome.elapsed} ms)`);
    }
  });

  test('every fault was survived on every server', (t) => {
    t.diagnostic(`faults survived: ${survived} (8 faults x ${KINDS.length} servers)`);
    assert.equal(survived, 8 * KINDS.length);
  });
});
