/**
 * The shared end-to-end cases, written once against {@link Transport}: suite.test.ts runs every
 * case on every transport that can support it, and records why the others cannot.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DISCARD_LIMIT, DISCARD_TIMEOUT } from '../../src/transports/cgi/process-stdin.js';
import { BODY_KINDS, dataChunks, hashStream, MARKER_DIR, SECRET } from './app.js';
import type { Feature, SuiteResponse, Transport } from './transports.js';

export interface Case {
  /** Row name in the matrix. */
  id: string;
  /** Test title: a lowercase behaviour sentence. */
  title: string;
  /** Features the transport must have; else the case is n/a there, with the transport's reason. */
  needs?: Feature[];
  /** Moves 100 MiB: run alone, and only in the direct URL style. */
  heavy?: boolean;
  /** A note for the matrix cell when the case passes with server-specific behaviour. */
  note?(transport: Transport): string | undefined;
  run(transport: Transport): Promise<void>;
}

const MiB = 1024 * 1024;

async function bytesOf(response: SuiteResponse): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function textOf(response: SuiteResponse): Promise<string> {
  return (await bytesOf(response)).toString('utf8');
}

async function jsonOf<T = Record<string, unknown>>(response: SuiteResponse): Promise<T> {
  const text = await textOf(response);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new assert.AssertionError({
      message: `expected JSON (status ${response.status}), got ${JSON.stringify(text.slice(0, 300))}`,
    });
  }
}

interface Echo {
  method: string;
  path: string;
  search: string;
  base: string | null;
  headers: Record<string, string>;
}

/** Waits up to `ms` for `check` to hold, polling. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

function expectedDigest(bytes: number) {
  return hashStream(dataChunks(bytes));
}

async function upload(transport: Transport, bytes: number, chunked: boolean, method = 'POST') {
  const response = await transport.request('/upload', {
    method,
    headers: { 'content-type': 'application/octet-stream' },
    body: chunked ? { chunks: () => dataChunks(bytes) } : { chunks: () => dataChunks(bytes), length: bytes },
  });
  assert.equal(response.status, 200);
  assert.deepEqual(await jsonOf(response), { method, ...(await expectedDigest(bytes)) });
}

async function download(transport: Transport, bytes: number) {
  const response = await transport.request(`/download?bytes=${bytes}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(await hashStream(response.body), await expectedDigest(bytes));
}

const slashNotes: Record<Transport['encodedSlash'], string | undefined> = {
  raw: undefined,
  decoded: 'no REQUEST_URI, so the app sees c/d as two segments',
  refused: 'the server itself answers 404 to %2F in a path',
};

export const cases: Case[] = [
  {
    id: 'routing',
    title: 'routes on the path after the script, percent-encoding and raw query intact',
    async run(t) {
      const response = await t.request('/echo/a%20b/c?q=1&r=%2F');
      assert.equal(response.status, 200);
      const echo = await jsonOf<Echo>(response);
      assert.equal(echo.method, 'GET');
      assert.equal(echo.path, '/echo/a%20b/c');
      assert.equal(echo.search, '?q=1&r=%2F');
      assert.equal(echo.base, t.base);
    },
  },
  {
    id: 'encoded slash',
    title: 'passes an encoded slash in the path as the server allows',
    note: (t) => slashNotes[t.encodedSlash],
    async run(t) {
      const response = await t.request('/echo/a%20b/c%2Fd?q=1&r=%2F');
      if (t.encodedSlash === 'refused') {
        assert.equal(response.status, 404);
        await bytesOf(response);
        return;
      }
      assert.equal(response.status, 200);
      const echo = await jsonOf<Echo>(response);
      assert.equal(echo.path, t.encodedSlash === 'raw' ? '/echo/a%20b/c%2Fd' : '/echo/a%20b/c/d');
      assert.equal(echo.search, '?q=1&r=%2F');
    },
  },
  {
    id: 'raw query',
    title: 'preserves the query string byte for byte',
    async run(t) {
      const query = '?a=%20&b=+&c=%2B&d=&&e=%26x&f=%25&g=%E2%9C%93&h=~!*()';
      const response = await t.request(`/echo/q${query}`);
      assert.equal(response.status, 200);
      assert.equal((await jsonOf<Echo>(response)).search, query);
    },
  },
  {
    id: 'json post',
    title: 'reads a json request body',
    async run(t) {
      const sent = { name: 'Zoë', list: [1, 2, 3], nested: { ok: true, nothing: null } };
      const response = await t.request('/json', {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(sent),
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await jsonOf(response), { received: sent, type: 'application/json; charset=utf-8' });
    },
  },
  {
    id: 'form post',
    title: 'reads an urlencoded form',
    async run(t) {
      const response = await t.request('/form', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1&b=hello+world&c=%26%3D&c=2',
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await jsonOf(response), { fields: { a: '1', b: 'hello world', c: ['&=', '2'] } });
    },
  },
  {
    id: 'multipart post',
    title: 'reads a multipart form with fields and a file',
    async run(t) {
      const file = Buffer.concat([...dataChunks(200 * 1024)]);
      const form = new FormData();
      form.append('title', 'Grüße');
      form.append('note', 'two\r\nlines');
      form.append('upload', new Blob([file], { type: 'application/octet-stream' }), 'data.bin');
      const encoded = new Response(form);
      const body = new Uint8Array(await encoded.arrayBuffer());
      const response = await t.request('/multipart', {
        method: 'POST',
        headers: { 'content-type': encoded.headers.get('content-type') ?? '' },
        body,
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await jsonOf(response), {
        fields: { title: 'Grüße', note: 'two\r\nlines' },
        files: {
          upload: { name: 'data.bin', type: 'application/octet-stream', ...(await hashStream([file])) },
        },
      });
    },
  },
  {
    id: 'upload 1 MiB',
    title: 'receives a 1 MiB upload intact',
    run: (t) => upload(t, MiB, false),
  },
  {
    id: 'chunked upload',
    title: 'receives a chunked upload without content-length intact',
    needs: ['chunkedUpload'],
    run: (t) => upload(t, MiB + 12_345, true),
  },
  {
    id: 'put',
    title: 'receives a put body',
    needs: ['put'],
    run: (t) => upload(t, 100_000, false, 'PUT'),
  },
  {
    id: 'download 1 MiB',
    title: 'sends a 1 MiB download intact',
    run: (t) => download(t, MiB + 7),
  },
  {
    id: 'upload 100 MiB',
    title: 'receives a 100 MiB upload intact',
    heavy: true,
    run: (t) => upload(t, 100 * MiB, false),
  },
  {
    id: 'download 100 MiB',
    title: 'sends a 100 MiB download intact',
    heavy: true,
    run: (t) => download(t, 100 * MiB),
  },
  {
    id: 'set-cookie ×3',
    title: 'sends three set-cookie headers as three headers',
    async run(t) {
      const response = await t.request('/cookies/set');
      assert.equal(response.status, 200);
      assert.equal(await textOf(response), 'three cookies');
      const cookies = response.headers.getSetCookie();
      assert.equal(cookies.length, 3, `got ${JSON.stringify(cookies)}`);
      assert.match(cookies[0] ?? '', /^a=1; Path=\/$/);
      assert.match(cookies[1] ?? '', /^b=2; Path=\/; HttpOnly$/);
      assert.match(cookies[2] ?? '', /^c=three%2C%20with%20a%20comma; Path=\/; SameSite=Lax$/);
    },
  },
  {
    id: 'cookie',
    title: 'reads the cookie header',
    async run(t) {
      const response = await t.request('/cookies/read', { headers: { cookie: 'a=1; b=two; c=x%3Dy' } });
      assert.equal(response.status, 200);
      assert.deepEqual(await jsonOf(response), { a: '1', b: 'two', c: 'x=y' });
    },
  },
  {
    id: 'redirect',
    title: 'prefixes a root-relative redirect with the public base, and it leads back to the app',
    async run(t) {
      const response = await t.request('/redirect');
      assert.equal(response.status, 302);
      await bytesOf(response);
      const location = response.headers.get('location');
      assert.equal(location, `${t.base}/target?from=redirect`);
      const followed = await t.follow(location);
      assert.equal(followed.status, 200);
      assert.equal(await textOf(followed), 'target');
    },
  },
  {
    id: 'absolute redirect',
    title: 'passes an absolute redirect unchanged',
    async run(t) {
      const response = await t.request('/redirect/absolute');
      assert.equal(response.status, 301);
      await bytesOf(response);
      assert.equal(response.headers.get('location'), 'https://example.com/elsewhere');
    },
  },
  {
    id: 'status with body',
    title: 'sends 201, 404, 418 and an app-made 500 with their bodies',
    async run(t) {
      for (const code of [201, 404, 418, 500]) {
        const response = await t.request(`/status/${code}`);
        assert.equal(response.status, code);
        assert.equal(await textOf(response), `status ${code}`);
      }
    },
  },
  {
    id: 'status without body',
    title: 'sends 204 and 304 without a body',
    async run(t) {
      for (const code of [204, 304]) {
        const response = await t.request(`/status/${code}`);
        assert.equal(response.status, code);
        assert.equal((await bytesOf(response)).length, 0);
      }
    },
  },
  {
    id: 'head',
    title: 'answers head with headers and not one body byte, even when the app returns a body',
    async run(t) {
      const raw = await t.head('/raw-head');
      assert.equal(raw.status, 200);
      assert.equal(raw.headers.get('x-head'), 'yes');
      assert.equal(raw.bodyBytes, 0);
      const hono = await t.head('/download?bytes=5000');
      assert.equal(hono.status, 200);
      assert.equal(hono.bodyBytes, 0);
    },
  },
  {
    id: 'custom headers',
    title: 'passes custom request headers to the app',
    needs: ['customHeaders'],
    async run(t) {
      const response = await t.request('/echo/h', {
        headers: { 'x-suite-custom': 'hello, world', 'x-suite-number': '42' },
      });
      const { headers } = await jsonOf<Echo>(response);
      assert.equal(headers['x-suite-custom'], 'hello, world');
      assert.equal(headers['x-suite-number'], '42');
    },
  },
  {
    id: 'authorization',
    title: 'passes the authorization header to the app',
    needs: ['authorization'],
    async run(t) {
      const response = await t.request('/echo/auth', { headers: { authorization: 'Bearer suite-token-123' } });
      assert.equal((await jsonOf<Echo>(response)).headers.authorization, 'Bearer suite-token-123');
    },
  },
  {
    id: 'streaming',
    title: 'streams the response: the first chunk arrives long before the last',
    needs: ['stream'],
    // fcgiwrap (nginx's CGI) keeps the tail of a large write in its FastCGI buffer until the
    // next one: half of each write is enough to show the output is not held to the end.
    run: (t) => assertStreams(t, 32 * 1024, 16 * 1024),
  },
  {
    id: 'streaming-small',
    title: 'streams small writes (server-sent events) as they are written',
    needs: ['stream', 'smallWrites'],
    // 16-byte writes stay in a buffering server's buffer (nginx's, by default) unless the
    // bridge tells it not to buffer.
    run: (t) => assertStreams(t, 16),
  },
  {
    id: 'waitUntil',
    title: 'finishes waitUntil work after the response, which does not wait for it',
    needs: ['earlyEnd'],
    async run(t) {
      const marker = `wait-${randomUUID()}`;
      const file = join(MARKER_DIR, marker);
      const delay = 1500;
      try {
        const started = performance.now();
        const response = await t.request(`/wait-until?marker=${marker}&delay=${delay}`);
        assert.equal(response.status, 200);
        assert.equal(await textOf(response), 'scheduled');
        const elapsed = performance.now() - started;
        const respondedAt = Date.now();
        assert.ok(!existsSync(file), 'the marker already exists when the response ends');
        assert.ok(
          elapsed < delay - 300,
          `the response took ${Math.round(elapsed)} ms; the waitUntil delay is ${delay} ms`,
        );
        assert.ok(await eventually(() => existsSync(file), delay + 8000), 'the waitUntil work never wrote its marker');
        await sleep(20);
        assert.ok(
          Number(readFileSync(file, 'utf8')) >= respondedAt,
          'the marker was written before the response ended',
        );
      } finally {
        rmSync(file, { force: true });
      }
    },
  },
  {
    id: 'console.log',
    title: 'keeps stray console output out of the response',
    needs: ['processStdout', 'privateStderr'],
    async run(t) {
      const response = await t.request('/console');
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(await textOf(response), '{"clean":true}');
      for (const [name, value] of response.headers) assert.doesNotMatch(`${name}: ${value}`, /stray/i);
    },
  },
  {
    id: 'app throws',
    title: 'answers a generic 500 when the app throws, without the error message',
    needs: ['privateStderr'],
    async run(t) {
      const response = await t.request('/throw');
      assert.equal(response.status, 500);
      const body = await textOf(response);
      assert.ok(!body.includes(SECRET), `the secret leaked: ${JSON.stringify(body)}`);
      assert.doesNotMatch(body, /deliberate|at .*\.(ts|js|cgi)/);
      for (const [, value] of response.headers) assert.ok(!value.includes(SECRET));
    },
  },
  {
    id: 'implied content type',
    title: 'sends the content type a body implies, as a standard response has it',
    async run(t) {
      const expected: Record<string, Response> = {
        ...Object.fromEntries(Object.entries(BODY_KINDS).map(([kind, make]) => [kind, make()])),
        h3: new Response('plain text from h3'),
      };
      for (const [kind, standard] of Object.entries(expected)) {
        const response = await t.request(`/kinds/${kind}`);
        assert.equal(response.status, 200, kind);
        assert.equal(response.headers.get('content-type'), standard.headers.get('content-type'), kind);
        assert.equal(await textOf(response), await standard.text(), kind);
      }
    },
  },
  {
    id: 'unread body',
    title: 'answers a post whose body the app never reads, sent after its headers',
    async run(t) {
      // A small body as most clients send one (headers first, the body in a later write), and
      // one larger than a socket's buffer: both must be read off before the script ends.
      for (const bytes of [2048, 2048, 2048, MiB]) {
        const response = await t.request('/unread', {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: { chunks: () => afterHeaders(dataChunks(bytes)), length: bytes },
        });
        assert.equal(response.status, 201, `a ${bytes}-byte body`);
        assert.deepEqual(await jsonOf(response), { ok: true });
      }
    },
  },
  {
    id: 'unread body too large',
    title: 'ends the script at once when the app leaves more of a body unread than is dropped',
    needs: ['streamedBody', 'processPerRequest'],
    async run(t) {
      // The client sends the start of the body and holds the rest: only a script that does not
      // try to read the rest ends long before the drop's time limit.
      await heldUpload(t, DISCARD_LIMIT + MiB, 256 * 1024, 3000);
    },
  },
  {
    id: 'unread body stalled',
    title: 'ends the script after the time limit when the client stalls the body the app left',
    needs: ['streamedBody', 'processPerRequest'],
    async run(t) {
      await heldUpload(t, MiB, 64 * 1024, DISCARD_TIMEOUT + 5000);
    },
  },
  {
    id: 'client disconnect',
    title: 'ends the script within a few seconds when the client disconnects mid-download',
    async run(t) {
      const marker = `slow-${randomUUID()}`;
      const file = join(MARKER_DIR, marker);
      const path = `/slow?marker=${marker}`;
      try {
        await disconnect(t, path, file);
      } finally {
        rmSync(file, { force: true });
      }
    },
  },
];

/** Reads 128 KiB of `/slow`, drops the connection, and waits for the script to end. */
async function disconnect(t: Transport, path: string, file: string): Promise<void> {
  const response = await t.request(path);
  assert.equal(response.status, 200);
  let received = 0;
  for await (const chunk of response.body) {
    received += chunk.byteLength;
    if (received >= 128 * 1024) break;
  }
  response.abort();
  assert.ok(received >= 128 * 1024);
  assert.ok(await eventually(() => existsSync(file) && readFileSync(file, 'utf8') !== '', 5000), 'no pid marker');
  const pid = Number(readFileSync(file, 'utf8'));
  const started = performance.now();
  const gone = await eventually(() => t.scriptGone(pid, path, file), 5000);
  assert.ok(
    gone,
    `the script (pid ${pid}) still runs ${Math.round(performance.now() - started)} ms after the disconnect`,
  );
}

/** Yields `chunks` 50 ms after the request has started, as a second write after the headers. */
async function* afterHeaders(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  await sleep(50);
  yield* chunks;
}

/**
 * Posts a body of `length` bytes to `/unread` but sends only its first `sent` bytes, then holds
 * the connection: the script must end within `ms` all the same.
 */
async function heldUpload(t: Transport, length: number, sent: number, ms: number): Promise<void> {
  const marker = `unread-${randomUUID()}`;
  const file = join(MARKER_DIR, marker);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const path = `/unread?marker=${marker}`;
  const answer = t
    .request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: {
        async *chunks() {
          yield* dataChunks(sent);
          // Then the body ends short, and the client gives up on the request.
          await released;
        },
        length,
      },
    })
    .then((response) => response.abort())
    .catch(() => {});
  try {
    assert.ok(await eventually(() => existsSync(file) && readFileSync(file, 'utf8') !== '', 10_000), 'no pid marker');
    const pid = Number(readFileSync(file, 'utf8'));
    const started = performance.now();
    const gone = await eventually(() => t.scriptGone(pid, path, file), ms);
    assert.ok(gone, `the script (pid ${pid}) still runs ${Math.round(performance.now() - started)} ms after answering`);
  } finally {
    release();
    await answer;
    rmSync(file, { force: true });
  }
}

/**
 * Five writes of `size` bytes arrive one by one, as they were written. The app makes each write
 * after the first wait until the client has created a marker for it, which the client does on
 * receiving `enough` bytes of the write before it (all of it, unless told): a server or bridge
 * that held output back would leave the app waiting, and the write it then sends anyway is
 * filled with `Z`. Causal, not timed: a busy machine that delays a read cannot make it pass or
 * fail.
 */
async function assertStreams(t: Transport, size: number, enough = size): Promise<void> {
  const chunks = 5;
  const gate = `stream-${randomUUID()}`;
  const marker = (n: number) => join(MARKER_DIR, `${gate}-${n}`);
  try {
    const response = await t.request(`/stream?chunks=${chunks}&size=${size}&gate=${gate}&wait=5000`);
    assert.equal(response.status, 200);
    let received = 0;
    let released = 0;
    const body: Buffer[] = [];
    const reads: number[] = [];
    for await (const chunk of response.body) {
      received += chunk.byteLength;
      reads.push(chunk.byteLength);
      body.push(Buffer.from(chunk));
      // Enough of each write received lets the app make the next one.
      while (released < chunks - 1 && received >= released * size + enough) writeFileSync(marker(++released), '');
    }
    assert.equal(received, chunks * size);
    const all = Buffer.concat(body);
    for (let i = 1; i < chunks; i++) {
      assert.notEqual(
        all[i * size],
        0x5a,
        `${size}-byte writes: write ${i + 1} of ${chunks} waited 5 s for the client to receive enough of write ${i}, which the server or bridge held back (reads of ${reads.join(', ')} bytes)`,
      );
    }
    for (let i = 0; i < chunks; i++) assert.equal(all[i * size], 0x61 + i, `write ${i + 1} arrived in its place`);
  } finally {
    for (let n = 1; n < chunks; n++) rmSync(marker(n), { force: true });
  }
}
