/**
 * Load through Apache (mpm_prefork + mod_cgi): a mix of GETs, POSTs with bodies and streamed
 * downloads at concurrency 16, every body checked by SHA-256 (uploads by the app, downloads by
 * the client), every CGI process's peak resident memory sampled from /proc/PID/status, and no
 * script process left afterwards. 2,000 requests by default; `FETCH_CGI_LONG=1` runs 10,000.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Pool } from 'undici';
import { buildScript } from '../../src/cli/build.js';
import { memoryOf, scriptProcesses, scriptsGone } from '../helpers/cgi-processes.js';
import { startServer, type RunningServer } from '../servers/index.js';
import { patternBytes, sha256, streamChunk } from './data.js';

const REQUESTS = process.env.FETCH_CGI_LONG === '1' ? 10_000 : 2_000;
const CONCURRENCY = 16;
const MiB = 1024 * 1024;
/** Peak resident memory any one CGI process may reach (Node itself takes some 40-50 MiB). */
const MAX_PEAK_RSS = 128 * MiB;

const buildDir = mkdtempSync('/tmp/fetch-cgi-load-');
chmodSync(buildDir, 0o755);
let server: RunningServer | undefined;

before(async () => {
  const script = join(buildDir, 'app.cgi');
  await buildScript({ entry: new URL('./app.ts', import.meta.url).pathname, outfile: script });
  server = await startServer('apache-prefork', { scripts: { 'app.cgi': script } });
});

after(async () => {
  await server?.stop();
  rmSync(buildDir, { recursive: true, force: true });
});

/** One request of the mix: what to send and the body the client must get back. */
interface Planned {
  kind: 'get' | 'post' | 'stream';
  method: 'GET' | 'POST';
  path: string;
  body?: Uint8Array;
  /** SHA-256 of the expected response body. */
  expected: string;
}

/** Request `index` of the mix: a third each of GET (0-16 KiB), POST (0-64 KiB), stream (16-256 KiB). */
function plan(index: number): Planned {
  const seed = index + 1;
  const size = patternBytes(seed, 4).reduce((sum, byte) => sum * 256 + byte, 0);
  switch (index % 3) {
    case 0: {
      const length = size % (16 * 1024);
      return {
        kind: 'get',
        method: 'GET',
        path: `/bytes?seed=${seed}&length=${length}`,
        expected: sha256(patternBytes(seed, length)),
      };
    }
    case 1: {
      const body = patternBytes(seed, size % (64 * 1024));
      return {
        kind: 'post',
        method: 'POST',
        path: '/upload',
        body,
        expected: sha256(Buffer.from(`${body.length} ${sha256(body)}`)),
      };
    }
    default: {
      const chunks = 1 + (size % 16);
      const all = Array.from({ length: chunks }, (_, chunk) => streamChunk(seed, chunk));
      return { kind: 'stream', method: 'GET', path: `/stream?seed=${seed}&chunks=${chunks}`, expected: sha256(...all) };
    }
  }
}

/** Samples the peak resident memory of every script process under `dir` until stopped. */
function sampleMemory(dir: string): { stop(): { peak: number; processes: number } } {
  const peaks = new Map<number, number>();
  const timer = setInterval(() => {
    for (const pid of scriptProcesses(dir)) {
      const memory = memoryOf(pid);
      if (memory) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, memory.peak));
    }
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return { peak: Math.max(0, ...peaks.values()), processes: peaks.size };
    },
  };
}

test(`${REQUESTS} mixed requests at concurrency ${CONCURRENCY}: no errors, no corrupted body, no process left, bounded memory`, async (t) => {
  assert.ok(server);
  const docroot = join(server.runDir, 'docroot');
  const pool = new Pool(server.origin, { connections: CONCURRENCY, pipelining: 1 });
  const errors: string[] = [];
  let corrupted = 0;
  let reportedPeak = 0;
  const counts = { get: 0, post: 0, stream: 0 };
  let bytesIn = 0;
  let next = 0;
  const sampler = sampleMemory(docroot);
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          const index = next++;
          const request = plan(index);
          try {
            const response = await pool.request({
              path: `/cgi-bin/app.cgi${request.path}`,
              method: request.method,
              headersTimeout: 30_000,
              bodyTimeout: 30_000,
              ...(request.body ? { body: request.body, headers: { 'content-type': 'application/octet-stream' } } : {}),
            });
            const body = new Uint8Array(await response.body.arrayBuffer());
            bytesIn += body.length;
            if (response.statusCode !== 200) {
              errors.push(`${request.method} ${request.path}: status ${response.statusCode}`);
              continue;
            }
            counts[request.kind] += 1;
            if (sha256(body) !== request.expected) corrupted += 1;
            reportedPeak = Math.max(reportedPeak, Number(response.headers['x-rss'] ?? 0));
          } catch (error) {
            errors.push(`${request.method} ${request.path}: ${(error as Error).message}`);
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const memory = sampler.stop();
  const left = await scriptsGone(docroot, 5000);
  t.diagnostic(
    `requests ${REQUESTS} (GET ${counts.get}, POST ${counts.post}, stream ${counts.stream}), concurrency ${CONCURRENCY}, ` +
      `${seconds.toFixed(1)} s (${(REQUESTS / seconds).toFixed(0)} req/s), ${(bytesIn / MiB).toFixed(0)} MiB received, ` +
      `errors ${errors.length}, corrupted ${corrupted}, leftover processes ${left.length}, ` +
      `peak RSS per process ${(memory.peak / MiB).toFixed(1)} MiB (/proc VmHWM over ${memory.processes} sampled processes; ` +
      `${(reportedPeak / MiB).toFixed(1)} MiB reported by the app)`,
  );
  assert.deepEqual(errors.slice(0, 10), [], `${errors.length} errors`);
  assert.equal(corrupted, 0, 'corrupted bodies');
  assert.deepEqual(left, [], 'script processes left behind');
  assert.ok(memory.processes > 0, 'no CGI process was sampled');
  assert.ok(memory.peak < MAX_PEAK_RSS, `a CGI process peaked at ${(memory.peak / MiB).toFixed(1)} MiB`);
  assert.ok(reportedPeak < MAX_PEAK_RSS, `the app reported ${(reportedPeak / MiB).toFixed(1)} MiB`);
});
