/**
 * The end-to-end suite's app: one Hono app with a route for every case in cases.ts, using
 * nothing but what any fetch-style app may use. Built once into a CGI script by suite.test.ts
 * and also served in-process. Files it writes (markers) go to `SUITE_MARKER_DIR`, else to
 * {@link MARKER_DIR}: real servers start scripts with an empty environment.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { H3 } from 'h3';
import type { CgiEnv, CgiExecutionContext } from '../../src/index.js';

/** Where the app writes marker files unless `SUITE_MARKER_DIR` says otherwise (mode 1777). */
export const MARKER_DIR = '/tmp/fetch-cgi-suite-markers';

/** Size of each chunk of generated data, and of the slow route's chunks. */
export const CHUNK_SIZE = 64 * 1024;

/** Text in the error the `/throw` route throws; it must never reach the client. */
export const SECRET = 'suite-secret-7f3a9c';

let baseBlock: Uint8Array | undefined;

/**
 * `bytes` bytes of deterministic data in {@link CHUNK_SIZE} chunks: one block from a seeded
 * xorshift32, each chunk a copy stamped with its index, so lost, repeated or reordered chunks
 * change the hash. The client generates the same bytes to upload or to compare with.
 */
export function* dataChunks(bytes: number): Generator<Uint8Array> {
  if (!baseBlock) {
    const words = new Uint32Array(CHUNK_SIZE / 4);
    let x = 0x9e3779b9;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    baseBlock = new Uint8Array(words.buffer);
  }
  for (let index = 0, sent = 0; sent < bytes; index++) {
    const chunk = baseBlock.slice(0, Math.min(CHUNK_SIZE, bytes - sent));
    new DataView(chunk.buffer).setUint32(0, index, true);
    sent += chunk.length;
    yield chunk.subarray(0, chunk.length);
  }
}

/** SHA-256 (hex) and length of whatever `body` yields, hashed chunk by chunk. */
export async function hashStream(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export interface Digest {
  bytes: number;
  sha256: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Env = { Bindings: CgiEnv };
const app = new Hono<Env>();

/** A marker file name from the query: letters, digits and dashes only. */
function markerPath(env: CgiEnv, name: string | undefined): string {
  if (!name || !/^[A-Za-z0-9-]+$/.test(name)) throw new Error(`bad marker name ${JSON.stringify(name)}`);
  return join(env.SUITE_MARKER_DIR ?? MARKER_DIR, name);
}

/** Everything about the request the routing and header cases look at. */
app.all('/echo/*', (c) => {
  const url = new URL(c.req.url);
  return c.json({
    method: c.req.method,
    path: url.pathname,
    search: url.search,
    base: c.env.FETCH_CGI_BASE ?? null,
    headers: Object.fromEntries(c.req.raw.headers),
  });
});

app.post('/json', async (c) => c.json({ received: await c.req.json(), type: c.req.header('content-type') }));

app.post('/form', async (c) => c.json({ fields: await c.req.parseBody({ all: true }) }));

app.post('/multipart', async (c) => {
  const form = await c.req.formData();
  const fields: Record<string, string> = {};
  const files: Record<string, { name: string; type: string } & Digest> = {};
  for (const [name, value] of form) {
    if (typeof value === 'string') fields[name] = value;
    else {
      const bytes = new Uint8Array(await value.arrayBuffer());
      files[name] = { name: value.name, type: value.type, ...(await hashStream([bytes])) };
    }
  }
  return c.json({ fields, files });
});

/** Hashes the body as it streams in; never holds it whole. */
app.on(['POST', 'PUT'], '/upload', async (c) => {
  const body = c.req.raw.body;
  const digest = body ? await hashStream(body) : { bytes: 0, sha256: createHash('sha256').digest('hex') };
  return c.json({ method: c.req.method, ...digest });
});

/** `bytes` of {@link dataChunks}, generated as the client reads them. */
app.get('/download', (c) => {
  const bytes = Number(c.req.query('bytes') ?? '0');
  const chunks = dataChunks(bytes);
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    },
    { highWaterMark: 0 },
  );
  return c.body(stream, 200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
});

/** Answers without a look at the body; with `marker`, first writes its pid there. */
app.post('/unread', (c) => {
  const marker = c.req.query('marker');
  if (marker) writeFileSync(markerPath(c.env, marker), String(process.pid));
  return c.json({ ok: true }, 201);
});

/**
 * Bodies whose kind implies a Content-Type. `/kinds/h3` comes from h3, whose responses (srvx's)
 * list that type only once their body has been looked at.
 */
const h3 = new H3().get('/kinds/h3', () => 'plain text from h3');
export const BODY_KINDS = {
  text: () => new Response('plain text'),
  params: () => new Response(new URLSearchParams({ a: '1', b: 'two words' })),
  blob: () => new Response(new Blob(['<svg/>'], { type: 'image/svg+xml' })),
  json: () => Response.json({ kind: 'json' }),
};
app.get('/kinds/h3', (c) => h3.fetch(c.req.raw));
app.get('/kinds/:kind', (c) => {
  const kind = c.req.param('kind');
  return Object.hasOwn(BODY_KINDS, kind) ? BODY_KINDS[kind as keyof typeof BODY_KINDS]() : c.notFound();
});

app.get('/cookies/set', (c) => {
  setCookie(c, 'a', '1', { path: '/' });
  setCookie(c, 'b', '2', { path: '/', httpOnly: true });
  setCookie(c, 'c', 'three, with a comma', { path: '/', sameSite: 'Lax' });
  return c.text('three cookies');
});

app.get('/cookies/read', (c) => c.json(getCookie(c)));

app.get('/redirect', (c) => c.redirect('/target?from=redirect'));
app.get('/redirect/absolute', (c) => c.redirect('https://example.com/elsewhere', 301));
app.get('/target', (c) => c.text('target'));

app.get('/status/:code', (c) => {
  const code = Number(c.req.param('code'));
  if (code === 204 || code === 304) return c.body(null, code);
  return c.text(`status ${code}`, code as 201);
});

/**
 * `chunks` writes of `size` bytes, `delay` ms apart; with `gate`, each write after the first
 * waits instead (up to `wait` ms) for the client to create the marker `<gate>-<n>`, which it
 * does on receiving write n-1. A write filled with its letter (a, b, ...) was let through by the
 * client; one filled with `Z` timed out: what came before it never reached the client.
 */
app.get('/stream', (c) => {
  const chunks = Number(c.req.query('chunks') ?? '5');
  const size = Number(c.req.query('size') ?? String(32 * 1024));
  const delay = Number(c.req.query('delay') ?? '300');
  const gate = c.req.query('gate');
  const wait = Number(c.req.query('wait') ?? '5000');
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let fill = 0x61 + (sent % 26);
        if (sent > 0 && gate) {
          if (!(await appears(markerPath(c.env, `${gate}-${sent}`), wait))) fill = 0x5a;
        } else if (sent > 0) await sleep(delay);
        controller.enqueue(new Uint8Array(size).fill(fill));
        if (++sent === chunks) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return c.body(stream, 200, { 'content-type': 'application/octet-stream' });
});

/** Whether `file` exists within `ms`, looked for every 5 ms. */
async function appears(file: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) return false;
    await sleep(5);
  }
  return true;
}

/** Answers at once; `delay` ms later writes the marker file, through `waitUntil`. */
app.get('/wait-until', (c) => {
  const file = markerPath(c.env, c.req.query('marker'));
  const delay = Number(c.req.query('delay') ?? '1500');
  c.executionCtx.waitUntil(sleep(delay).then(() => writeFileSync(file, `${Date.now()}\n`)));
  return c.text('scheduled');
});

app.get('/console', (c) => {
  console.log('stray console.log line');
  console.info('Status: 500 Stray');
  console.log();
  return c.json({ clean: true });
});

app.get('/throw', () => {
  throw new Error(`deliberate failure carrying ${SECRET}`);
});

/**
 * Writes its pid to the marker, then sends a chunk every 100 ms for up to 30 s; appends
 * ` cancelled` to the marker when the stream is cancelled (the client went away).
 */
app.get('/slow', (c) => {
  const marker = markerPath(c.env, c.req.query('marker'));
  writeFileSync(marker, String(process.pid));
  const started = Date.now();
  const chunk = new Uint8Array(CHUNK_SIZE).fill(0x73);
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (Date.now() - started > 30_000) return controller.close();
        controller.enqueue(chunk);
        await sleep(100);
      },
      cancel() {
        appendFileSync(marker, ' cancelled');
      },
    },
    { highWaterMark: 0 },
  );
  return c.body(stream, 200, { 'content-type': 'application/octet-stream' });
});

/**
 * Hono answers HEAD itself with the GET response minus its body. `/raw-head` hands the bridge
 * the full GET response instead, body and all, so that stripping it is the bridge's job.
 */
export default {
  fetch(request: Request, env: CgiEnv, ctx: CgiExecutionContext): Response | Promise<Response> {
    const url = new URL(request.url);
    if (request.method === 'HEAD' && url.pathname.endsWith('/raw-head')) {
      return new Response('seventeen bytes!\n', {
        headers: { 'content-type': 'text/plain', 'content-length': '17', 'x-head': 'yes' },
      });
    }
    return app.fetch(request, env, ctx);
  },
};
