/**
 * One example app per framework (examples/<name>/), and the requests each must answer the same
 * way on every runtime and through every transport. Expected header values are exact: a runtime
 * that frames a response differently shows up here.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** A response read to the end. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** Sends one request to the app; `path` is relative to where the script is mounted. */
export type Send = (path: string, init?: RequestInit) => Promise<Answer>;

export interface Framework {
  /** Folder under examples/, and the script's name. */
  name: string;
  /** Entry, relative to the repository root. */
  entry: string;
  /** Runs every request against the app; throws on the first difference. */
  check(send: Send): Promise<void>;
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

function parsed(answer: Answer): unknown {
  try {
    return JSON.parse(answer.text);
  } catch {
    throw new assert.AssertionError({
      message: `expected JSON (status ${answer.status}), got ${answer.text.slice(0, 300)}`,
    });
  }
}

/** What a standard `new Response(string)` says it is: every runtime's scripts must say the same. */
const IMPLIED_TEXT = new Response('').headers.get('content-type');

/** A plain-string route's answer: the text, typed as `new Response(string)` types it. */
async function checkPlainText(send: Send, path: string, text: string): Promise<void> {
  const answer = await send(path);
  assert.equal(answer.status, 200);
  assert.equal(answer.text, text);
  assert.equal(answer.headers.get('content-type'), IMPLIED_TEXT, `Content-Type of ${path}`);
}

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; !check(); await sleep(25)) if (Date.now() > deadline) return false;
  return true;
}

export const frameworks: readonly Framework[] = [
  {
    name: 'hono',
    entry: 'examples/hono/app.tsx',
    async check(send) {
      const page = await send('/');
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=UTF-8');
      assert.match(page.text, /^<html><body><h1>Hello from Hono<\/h1><ul><li>jsx<\/li>/);

      await checkPlainText(send, '/text', 'Hello from Hono as text');

      const hello = await send('/hello/ada?q=x%20y');
      assert.equal(hello.headers.get('content-type'), 'application/json');
      const body = parsed(hello) as { name: string; query: string; server: string | null; base: string | null };
      assert.deepEqual([body.name, body.query, typeof body.server], ['ada', 'x y', 'string']);

      assert.match(body.base ?? '', /^\/cgi-bin\/hono-\w+\.cgi$/);

      const created = await send('/todos', json({ title: 'write docs' }));
      assert.equal(created.status, 201);
      assert.deepEqual(parsed(created), { created: { title: 'write docs', done: false } });
      assert.equal((await send('/todos', json({ title: '' }))).status, 400);

      const ip = parsed(await send('/ip')) as {
        address?: string;
        addressType?: string;
        port?: number;
        transport?: string;
      };
      assert.deepEqual(
        [ip.address, ip.addressType, ip.transport, typeof ip.port],
        ['127.0.0.1', 'IPv4', 'tcp', 'number'],
      );

      const streamed = await send('/stream');
      assert.equal(streamed.headers.get('content-type'), 'text/plain; charset=UTF-8');
      assert.equal(streamed.text, 'one\ntwo\nthree\n');

      const id = randomUUID();
      const marker = `/tmp/fetch-cgi-hono-visit-${id}`;
      try {
        assert.equal((await send(`/visit/${id}`)).text, 'counted\n');
        assert.ok(await eventually(() => existsSync(marker), 5000), 'the waitUntil work never wrote its file');
      } finally {
        rmSync(marker, { force: true });
      }
    },
  },
  {
    name: 'itty-router',
    entry: 'examples/itty-router/app.ts',
    async check(send) {
      const page = await send('/');
      assert.equal(page.headers.get('content-type'), 'text/html');
      assert.equal(page.text, '<h1>Hello from itty-router</h1>');
      // No plain-string route: AutoRouter's formatter sends a returned string as JSON.
      const hello = await send('/hello/ada?q=1');
      assert.equal(hello.headers.get('content-type'), 'application/json; charset=utf-8');
      const body = parsed(hello) as { name: string; query: string; server: unknown };
      assert.deepEqual([body.name, body.query, typeof body.server], ['ada', '1', 'string']);
      const created = await send('/todos', json({ title: 'x' }));
      assert.equal(created.status, 201);
      assert.deepEqual(parsed(created), { created: { title: 'x' } });
      assert.equal((await send('/todos', json({}))).status, 400);
      assert.equal((await send('/nowhere')).status, 404);
    },
  },
  {
    name: 'h3',
    entry: 'examples/h3/app.ts',
    async check(send) {
      const page = await send('/');
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(page.text, '<h1>Hello from h3</h1>');
      // h3 hands back srvx's lazy response, whose headers list the implied type only once built.
      await checkPlainText(send, '/text', 'Hello from h3 as text');
      const hello = await send('/hello/ada?q=1');
      assert.equal(hello.headers.get('content-type'), 'application/json;charset=UTF-8');
      assert.deepEqual(parsed(hello), { name: 'ada', query: '1', server: null });
      const created = await send('/todos', json({ title: 'x' }));
      assert.equal(created.status, 201);
      assert.deepEqual(parsed(created), { created: { title: 'x' } });
      assert.equal((await send('/todos', json({ title: 1 }))).status, 400);
    },
  },
  {
    name: 'graphql-yoga',
    entry: 'examples/graphql-yoga/app.ts',
    async check(send) {
      const query = await send(`/graphql?query=${encodeURIComponent('{ hello(name: "Ada") }')}`);
      assert.equal(query.status, 200);
      assert.equal(query.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(parsed(query), { data: { hello: 'Hello, Ada!' } });
      const mutation = await send('/graphql', json({ query: 'mutation { add(a: 2, b: 3) }' }));
      assert.deepEqual(parsed(mutation), { data: { add: 5 } });
      const bad = await send('/graphql', json({ query: '{ nope }' }));
      const { errors } = parsed(bad) as { errors: { message: string }[] };
      assert.equal(errors[0]?.message, 'Cannot query field "nope" on type "Query".');
    },
  },
  {
    name: 'trpc',
    entry: 'examples/trpc/app.ts',
    async check(send) {
      const greet = await send(`/trpc/greet?input=${encodeURIComponent(JSON.stringify({ name: 'Ada' }))}`);
      assert.equal(greet.headers.get('content-type'), 'application/json');
      assert.deepEqual(parsed(greet), { result: { data: { greeting: 'Hello, Ada!' } } });
      const add = await send('/trpc/add', json({ a: 2, b: 3 }));
      assert.deepEqual(parsed(add), { result: { data: 5 } });
      assert.equal((await send('/trpc/add', json({ a: 'x' }))).status, 400);
    },
  },
  {
    name: 'workers',
    entry: 'examples/workers/app.ts',
    async check(send) {
      // What `new Response(string)` implies, on every runtime (Bun leaves it out of `headers`).
      await checkPlainText(send, '/', 'Hello from a fetch module\n');
      await checkBodyKinds(send);
      const env = await send('/env');
      assert.equal(env.headers.get('content-type'), 'application/json');
      assert.equal((parsed(env) as { method: string }).method, 'GET');
      const echo = await send('/echo', { method: 'POST', body: 'ping' });
      assert.equal(echo.text, 'ping');
      assert.equal((await send('/nowhere')).status, 404);
    },
  },
];

/**
 * Bodies of every kind that implies a Content-Type answer with the type and bytes a standard
 * Response made in this process gives (a form's boundary differs each time: its body must parse).
 */
async function checkBodyKinds(send: Send): Promise<void> {
  const standard = {
    '/kinds/params': new Response(new URLSearchParams({ a: '1', b: 'two words' })),
    '/kinds/blob': new Response(new Blob(['<svg/>'], { type: 'image/svg+xml' })),
    '/kinds/json': Response.json({ kind: 'json' }),
  };
  for (const [path, expected] of Object.entries(standard)) {
    const answer = await send(path);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), expected.headers.get('content-type'), `Content-Type of ${path}`);
    assert.equal(answer.text, await expected.text(), `body of ${path}`);
  }
  const form = await send('/kinds/form');
  const type = form.headers.get('content-type') ?? '';
  assert.match(type, /^multipart\/form-data; ?boundary=\S+$/);
  const parsed = await new Response(form.text, { headers: { 'content-type': type } }).formData();
  assert.equal(parsed.get('field'), 'value');
  const file = parsed.get('file');
  assert.ok(file instanceof Blob, 'the form has no file');
  assert.deepEqual(
    [(file as File).name, file.type, await file.text()],
    ['notes.txt', 'application/octet-stream', 'file contents'],
  );
}
