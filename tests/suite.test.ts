/**
 * The shared end-to-end suite: every case of tests/suite/cases.ts through every transport:
 * in-process, the built script spawned directly, the six real servers (direct and pretty URLs)
 * and `fetch-cgi serve`. The app is built once; the servers start concurrently. A case a
 * transport cannot support is not registered there and shows as n/a, with the reason, in the
 * matrix written to .tmp/suite-matrix.md. `SUITE_ONLY=lighttpd,direct` runs only the
 * transports whose names contain one of the words.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { buildScript } from '../src/cli/build.js';
import { assertInstalled, testRuntimes } from './frameworks/runtimes.js';
import type { Served } from './cli/helpers.js';
import {
  type BackendKind,
  backendKinds,
  serverKinds,
  startBackend,
  startServer,
  type RunningServer,
  type ServerKind,
} from './servers/index.js';
import { MARKER_DIR } from './suite/app.js';
import { type Case, cases } from './suite/cases.js';
import { CASE_TIMEOUT_MS, Gate, notApplicable, withTimeout } from './suite/runner.js';
import {
  backendServer,
  cliServe,
  htaccessSite,
  direct,
  inProcess,
  processesMentioning,
  server,
  startCliServe,
  type Transport,
} from './suite/transports.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'tests/suite/app.ts');
// Under /tmp with mode 755 so www-data can read the script servers copy from here.
const buildDir = mkdtempSync('/tmp/fetch-cgi-suite-');
chmodSync(buildDir, 0o755);
const script = join(buildDir, 'app.cgi');
// The same app built for each other runtime scripts are tested on (newest Node LTS, Bun, Deno).
const runtimeScripts = testRuntimes.slice(1).map((runtime) => ({
  runtime,
  path: join(buildDir, `app-${runtime.name.replaceAll(' ', '')}.cgi`),
}));

const only = (process.env.SUITE_ONLY ?? '').split(',').filter(Boolean);
const wanted = (name: string) => only.length === 0 || only.some((word) => name.includes(word));

/** Resolved once the script is built, in `before`: everything that runs it waits for this. */
let markBuilt!: (path: string) => void;
let failBuild!: (error: unknown) => void;
const built = new Promise<string>((resolve, reject) => {
  markBuilt = resolve;
  failBuild = reject;
});

const servers = new Map<ServerKind | BackendKind, Promise<RunningServer>>();
const serves = new Map<string, Promise<Served>>();
const transports: Transport[] = [
  inProcess('direct'),
  inProcess('pretty'),
  direct(script, 'direct'),
  direct(script, 'pretty'),
  ...runtimeScripts.map(({ runtime, path }) => direct(path, 'direct', runtime.name)),
];
for (const kind of serverKinds) {
  if (!wanted(kind)) continue;
  const started = built.then((path) => startServer(kind, { scripts: { 'app.cgi': path } }));
  started.catch(() => {}); // reported by every test that uses it
  servers.set(kind, started);
  transports.push(server(kind, 'direct', started), server(kind, 'pretty', started));
  if (kind.startsWith('apache')) transports.push(htaccessSite(kind, started));
}
// The same script, started as a long-lived process behind a web server over FastCGI or SCGI.
for (const kind of backendKinds) {
  if (!wanted(kind)) continue;
  const started = built.then((path) => startBackend(kind, { script: path }));
  started.catch(() => {});
  servers.set(kind, started);
  transports.push(backendServer(kind, started));
}
for (const mount of ['/cgi-bin/app.cgi', '']) {
  if (!wanted(mount === '' ? 'fetch-cgi serve (root)' : 'fetch-cgi serve')) continue;
  const served = built.then((path) => startCliServe(path, mount));
  served.catch(() => {});
  serves.set(mount, served);
  transports.push(cliServe(served, mount));
}
const selected = transports.filter((t) => wanted(t.name));

const gate = new Gate(4);

/** Matrix cells by transport name, then case id. */
const results = new Map<string, Map<string, string>>();
function record(transport: Transport, item: Case, cell: string): void {
  let row = results.get(transport.name);
  if (!row) results.set(transport.name, (row = new Map()));
  row.set(item.id, cell);
}

/** Script processes (not servers, not `fetch-cgi serve`) still running from this suite's files. */
async function runDirs(): Promise<string[]> {
  const settled = await Promise.allSettled(servers.values());
  return settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value.runDir] : []));
}
function scriptProcesses(dirs: readonly string[]) {
  return processesMentioning(dirs).filter(({ cmdline }) => cmdline.includes('path.resolve(process.argv[1])'));
}

describe('end-to-end suite', { concurrency: true }, () => {
  before(async () => {
    mkdirSync(MARKER_DIR, { recursive: true });
    chmodSync(MARKER_DIR, 0o1777);
    try {
      await buildScript({ entry, outfile: script });
      for (const { runtime, path } of runtimeScripts) {
        assertInstalled(runtime);
        await buildScript({ entry, outfile: path, runtime: runtime.runtime, node: runtime.binary });
      }
      markBuilt(script);
    } catch (error) {
      failBuild(error);
      throw error;
    }
  });

  after(async () => {
    const dirs = [buildDir, ...(await runDirs())];
    // waitUntil work may still be finishing; anything else left over is a leak.
    const deadline = Date.now() + 5000;
    while (scriptProcesses(dirs).length > 0 && Date.now() < deadline) await sleep(50);
    const leftScripts = scriptProcesses(dirs);

    const stopped = await Promise.allSettled([
      ...[...servers.values()].map(async (started) => (await started).stop()),
      ...[...serves.values()].map(async (served) => assert.equal(await (await served).stop(), 0)),
    ]);
    const leftAfterStop = processesMentioning(dirs);
    writeMatrix(leftScripts.length + leftAfterStop.length);
    rmSync(buildDir, { recursive: true, force: true });

    assert.deepEqual(leftScripts, [], 'script processes outlived their requests');
    assert.deepEqual(leftAfterStop, [], 'processes left after stopping every server');
    for (const result of stopped) if (result.status === 'rejected') throw result.reason;
  });

  for (const transport of selected) {
    describe(transport.name, { concurrency: true }, () => {
      for (const item of cases) {
        const reason = notApplicable(transport, item);
        if (reason !== undefined) {
          record(transport, item, `n/a (${reason})`);
          continue;
        }
        test(item.title, async () => {
          try {
            await gate.run(item.heavy === true, () => withTimeout(item.run(transport), CASE_TIMEOUT_MS));
          } catch (error) {
            record(transport, item, 'FAIL');
            throw error;
          }
          const note = item.note?.(transport);
          record(transport, item, note === undefined ? 'pass' : `pass (${note})`);
        });
      }
    });
  }
});

/** Writes the transport × case matrix to .tmp/suite-matrix.md and prints it. */
function writeMatrix(leftovers: number): void {
  const footnotes: string[] = [];
  const mark = (cell: string) => {
    const match = /^(pass|n\/a) \((.*)\)$/.exec(cell);
    if (!match) return cell;
    let index = footnotes.indexOf(match[2] ?? '');
    if (index === -1) index = footnotes.push(match[2] ?? '') - 1;
    return `${match[1]} [${index + 1}]`;
  };
  const columns = selected.map((t) => t.name);
  const lines = [
    `| case | ${columns.join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...cases.map((item) => {
      const cells = selected.map((t) => mark(results.get(t.name)?.get(item.id) ?? 'not run'));
      return `| ${item.id} | ${cells.join(' | ')} |`;
    }),
    '',
    ...footnotes.map((text, index) => `[${index + 1}] ${text}`),
    '',
    `Script processes left over: ${leftovers === 0 ? 'none' : leftovers}.`,
  ];
  const text = `# End-to-end suite matrix\n\n${lines.join('\n')}\n`;
  mkdirSync(join(root, '.tmp'), { recursive: true });
  writeFileSync(join(root, '.tmp/suite-matrix.md'), text);
  console.log(`\n${text}`);
}
