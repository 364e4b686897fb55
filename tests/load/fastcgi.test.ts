/**
 * A long-lived process under load, behind nginx over FastCGI with kept-alive connections:
 * 1 GiB up and 1 GiB down with equal checksums, then a mix of requests at concurrency 16; the
 * process's peak resident memory stays bounded and every request gets its own answer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { Pool } from 'undici';
import { buildScript } from '../../src/cli/build.js';
import { memoryOf } from '../helpers/cgi-processes.js';
import { type RunningServer, startBackend } from '../servers/index.js';
import { patternBytes, sha256, STREAM_CHUNK, streamChunk } from './data.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The most resident memory the one process may reach, while moving a GiB either way. */
const MAX_PEAK_RSS = 160 * MiB;

const buildDir = mkdtempSync('/tmp/fetch-cgi-load-fastcgi-');
chmodSync(buildDir, 0o755);
let server: RunningServer | undefined;
let pool: Pool | undefined;

before(async () => {
  const script = join(buildDir, 'app.cgi');
  await buildScript({ entry: new URL('./app.ts', import.meta.url).pathname, outfile: script });
  server = await startBackend('nginx-fastcgi-keepconn', { script });
  pool = new Pool(server.origin, { connections: 16 });
});

after(async () => {
  await pool?.close();
  await server?.stop();
  rmSync(buildDir, { recursive: true, force: true });
});

/** The app's process: the one process running the installed script. */
function appPid(): number {
  const pids = server?.processIds() ?? [];
  const app = pids.find((pid) => memoryOf(pid) !== undefined && /app\.fcgi/.test(cmdline(pid)));
  assert.ok(app, 'no app process');
  return app;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** `length` bytes of the pattern for `seed`, generated as they are sent. */
function* generated(seed: number, length: number): Generator<Uint8Array> {
  for (let offset = 0; offset < length; offset += MiB) yield patternBytes(seed, Math.min(MiB, length - offset), offset);
}

test('moves 1 GiB up and 1 GiB down through nginx with equal checksums, in bounded memory', async (t) => {
  const uploadHash = createHash('sha256');
  for (const chunk of generated(7, GiB)) uploadHash.update(chunk);
  const upload = await pool!.request({
    path: '/app/upload',
    method: 'POST',
    headers: { 'content-length': String(GiB), 'content-type': 'application/octet-stream' },
    body: Readable.from(generated(7, GiB)),
  });
  assert.equal(upload.statusCode, 200);
  assert.equal(await upload.body.text(), `${GiB} ${uploadHash.digest('hex')}`);

  const chunks = GiB / STREAM_CHUNK;
  const download = await pool!.request({ path: `/app/stream?seed=3&chunks=${chunks}`, method: 'GET' });
  assert.equal(download.statusCode, 200);
  const received = createHash('sha256');
  const expected = createHash('sha256');
  let bytes = 0;
  let index = 0;
  for await (const chunk of download.body) {
    received.update(chunk);
    bytes += chunk.byteLength;
  }
  for (; index < chunks; index++) expected.update(streamChunk(3, index));
  assert.equal(bytes, GiB);
  assert.equal(received.digest('hex'), expected.digest('hex'));
  const peak = memoryOf(appPid())?.peak ?? 0;
  t.diagnostic(`peak resident memory of the process: ${(peak / MiB).toFixed(1)} MiB`);
  assert.ok(peak < MAX_PEAK_RSS, `the process peaked at ${(peak / MiB).toFixed(1)} MiB`);
});

test('answers 3,000 mixed requests at concurrency 16, each with its own body, from one process', async () => {
  const pid = appPid();
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < 3000; index = next++) {
      const seed = index + 1;
      if (index % 2 === 0) {
        const length = (seed * 7919) % (64 * 1024);
        const response = await pool!.request({ path: `/app/bytes?seed=${seed}&length=${length}`, method: 'GET' });
        assert.equal(response.statusCode, 200);
        assert.equal(response.headers['x-pid'], String(pid));
        assert.equal(sha256(new Uint8Array(await response.body.arrayBuffer())), sha256(patternBytes(seed, length)));
      } else {
        const body = patternBytes(seed, (seed * 104729) % (32 * 1024));
        const response = await pool!.request({ path: '/app/upload', method: 'POST', body });
        assert.equal(await response.body.text(), `${body.byteLength} ${sha256(body)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.ok((memoryOf(pid)?.peak ?? 0) < MAX_PEAK_RSS);
});
