/**
 * `fetch-cgi build --standalone` through every real server the suite runs, as CGI (the six
 * CGI set-ups) and as a long-lived FastCGI or SCGI process (the twelve others), run as
 * www-data by servers that cannot reach any JavaScript runtime: node, bun and deno are hidden
 * from them (see hideRuntimesFromServers), which a plain build beside it proves on each CGI
 * server by failing. The shared suite's cases run on each, but for the two 100 MiB ones, which
 * suite.test.ts runs for the same bundle: here they would only measure the servers again.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildScript } from '../src/cli/build.js';
import { hostTarget } from '../src/cli/standalone.js';
import { backendKinds, type RunningServer, serverKinds, startBackend, startServer } from './servers/index.js';
import { hideRuntimesFromServers } from './servers/processes.js';
import { MARKER_DIR } from './suite/app.js';
import { cases } from './suite/cases.js';
import { CASE_TIMEOUT_MS, Gate, notApplicable, withTimeout } from './suite/runner.js';
import { backendServer, server, type Transport } from './suite/transports.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'tests/suite/app.ts');
// Under /tmp with mode 755 so www-data can read what the servers copy from here.
const buildDir = mkdtempSync('/tmp/fetch-cgi-standalone-');
chmodSync(buildDir, 0o755);
const program = join(buildDir, 'app.cgi');
const plain = join(buildDir, 'plain.cgi');

let markBuilt!: () => void;
let failBuild!: (error: unknown) => void;
const built = new Promise<void>((resolve, reject) => {
  markBuilt = resolve;
  failBuild = reject;
});
built.catch(() => {}); // reported by `before` and by every server that waits for it

const started: Promise<RunningServer>[] = [];
const transports: Transport[] = [];
const cgiServers = serverKinds.map((kind) => {
  const running = built.then(() => startServer(kind, { scripts: { 'app.cgi': program, 'plain.cgi': plain } }));
  running.catch(() => {});
  started.push(running);
  transports.push(server(kind, 'direct', running));
  return { kind, running };
});
for (const kind of backendKinds) {
  const running = built.then(() => startBackend(kind, { script: program }));
  running.catch(() => {});
  started.push(running);
  transports.push(backendServer(kind, running));
}
const gate = new Gate(4);

describe('standalone program, no runtime on the host', { concurrency: true }, () => {
  before(async () => {
    mkdirSync(MARKER_DIR, { recursive: true });
    chmodSync(MARKER_DIR, 0o1777);
    try {
      const target = hostTarget();
      assert.ok(target, 'this machine has a standalone target');
      await buildScript({ entry, outfile: program, standalone: target });
      await buildScript({ entry, outfile: plain });
      const hidden = hideRuntimesFromServers();
      assert.ok(
        hidden.some((path) => path.endsWith('/node')),
        `node is hidden (${hidden.join(', ')})`,
      );
      markBuilt();
    } catch (error) {
      failBuild(error);
      throw error;
    }
  });

  after(async () => {
    const stopped = await Promise.allSettled(started.map(async (running) => (await running).stop()));
    rmSync(buildDir, { recursive: true, force: true });
    for (const result of stopped) if (result.status === 'rejected') throw result.reason;
  });

  test('the program is a native executable, not a script for a runtime', async () => {
    await built;
    const head = Buffer.alloc(4);
    const fd = openSync(program, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    assert.deepEqual([...head], [0x7f, 0x45, 0x4c, 0x46], 'ELF magic');
  });

  for (const { kind, running } of cgiServers) {
    test(`${kind}: a plain build beside it fails, for want of node`, async () => {
      const { origin } = await running;
      // Servers report a script that cannot start differently: a 500 or 502, a closed
      // connection (busybox), env's message as the response itself (mini_httpd).
      const status = await fetch(`${origin}/cgi-bin/plain.cgi/hello`).then(
        async (response) => (await response.arrayBuffer(), response.status),
        () => 'no HTTP response',
      );
      assert.ok(typeof status === 'string' || status >= 500, `plain build answered ${status}: node was reachable`);
    });
  }

  for (const transport of transports) {
    describe(transport.name, { concurrency: true }, () => {
      for (const item of cases) {
        if (item.heavy || notApplicable(transport, item) !== undefined) continue;
        test(item.title, () => gate.run(false, () => withTimeout(item.run(transport), CASE_TIMEOUT_MS)));
      }
    });
  }
});
