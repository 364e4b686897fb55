import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Hono } from 'hono';
import { serveCgi, type ServeCgiOptions } from '../../../src/index.js';
import type { CgiApp, CgiEnv } from '../../../src/types.js';
import { cgiEnv, envDump } from '../../helpers/envdump.js';

interface Run {
  code: number;
  stdout: Buffer;
  text: string;
  stderr: string;
}

/** Serves one request in-process with injected streams. */
async function run(
  app: CgiApp,
  env: CgiEnv,
  options: Partial<ServeCgiOptions> & { body?: string | Buffer } = {},
): Promise<Run> {
  const chunks: Buffer[] = [];
  let stderr = '';
  const stdout = options.stdout ?? new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) });
  const { body, ...rest } = options;
  const code = await serveCgi(app, {
    env,
    stdin: body === undefined ? emptyInput() : [Buffer.from(body)],
    stdout,
    stderr: { write: (text: string) => (stderr += text) },
    ...rest,
  });
  const bytes = Buffer.concat(chunks);
  return { code, stdout: bytes, text: bytes.toString('latin1'), stderr };
}

async function* emptyInput(): AsyncGenerator<Uint8Array> {}

/** A stdin that delivers `data` and then never ends, like the client socket on mini_httpd. */
async function* neverEnding(data: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(data);
  await new Promise(() => {});
}

const post = (body: string, extra: CgiEnv = {}) =>
  cgiEnv({
    REQUEST_METHOD: 'POST',
    CONTENT_LENGTH: String(Buffer.byteLength(body)),
    CONTENT_TYPE: 'text/plain',
    ...extra,
  });

describe('serveCgi: the app sees a Request, the environment and a context', () => {
  test('serves a Hono app at the path after the script', async () => {
    const app = new Hono<{ Bindings: CgiEnv }>().get('/users/:id', (c) =>
      c.text(`user ${c.req.param('id')} via ${c.env.SERVER_SOFTWARE}`),
    );
    const result = await run(app, envDump('apache-pretty'), {});
    assert.equal(result.code, 0);
    assert.match(result.text, /^Status: 404 Not Found\r\n/);
    const ok = await run(app, cgiEnv({ PATH_INFO: '/users/42', REQUEST_URI: '/cgi-bin/app.cgi/users/42' }));
    assert.equal(ok.text, 'Status: 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nuser 42 via test');
  });

  test('accepts a plain function and an object with fetch', async () => {
    const fn = await run((request) => new Response(new URL(request.url).pathname), cgiEnv({ PATH_INFO: '/x' }));
    assert.match(fn.text, /\r\n\r\n\/x$/);
    const object = await run({ fetch: () => new Response('obj') }, cgiEnv());
    assert.match(object.text, /\r\n\r\nobj$/);
  });

  test('gives the app the meta-variables plus FETCH_CGI_BASE, without HTTP_PROXY', async () => {
    let seen: CgiEnv = {};
    await run((_request, env) => ((seen = env), new Response(null)), envDump('nginx-proxy'));
    assert.equal(seen.REMOTE_ADDR, '127.0.0.1');
    assert.equal(seen.SCRIPT_NAME, '/cgi-bin/app.cgi');
    assert.equal(seen.FETCH_CGI_BASE, '/cgi-bin/app.cgi');
    assert.equal(seen.HTTP_PROXY, undefined);
  });

  test('streams the request body to the app, exactly CONTENT_LENGTH bytes', async () => {
    const app = async (request: Request) => new Response(`got ${await request.text()}`);
    const result = await run(app, post('hello'), { body: 'helloEXTRA' });
    assert.match(result.text, /\r\n\r\ngot hello$/);
  });

  test('does not wait for EOF once CONTENT_LENGTH bytes arrived (stdin is the client socket)', async () => {
    const app = async (request: Request) => new Response(`got ${await request.text()}`);
    const code = await serveCgi(app, {
      env: post('abc'),
      stdin: neverEnding('abc'),
      stdout: new PassThrough().resume(),
      stderr: { write: () => true },
    });
    assert.equal(code, 0);
  });

  test('reads a de-chunked Apache upload to EOF', async () => {
    const app = async (request: Request) => new Response(`got ${(await request.arrayBuffer()).byteLength}`);
    const result = await run(app, envDump('apache-chunked'), { body: Buffer.alloc(70_000) });
    assert.match(result.text, /\r\n\r\ngot 70000$/);
  });

  test('a HEAD response has headers and no body', async () => {
    const result = await run(
      () => new Response('body', { headers: { 'content-length': '4' } }),
      cgiEnv({ REQUEST_METHOD: 'HEAD' }),
    );
    assert.equal(result.text, 'Status: 200 OK\r\nContent-Length: 4\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n');
  });

  test('root-relative redirects keep the public prefix; stripBase false leaves them alone', async () => {
    const app = new Hono().get('/old', (c) => c.redirect('/new'));
    const env = cgiEnv({ PATH_INFO: '/old', REQUEST_URI: '/app/old' });
    assert.match((await run(app, env)).text, /^Status: 302 Found\r\nLocation: \/app\/new\r\n/);
    const keep = new Hono().get('/app/old', (c) => c.redirect('/new'));
    assert.match((await run(keep, env, { stripBase: false })).text, /^Status: 302 Found\r\nLocation: \/new\r\n/);
  });

  test('an nph- script name gives a full HTTP status line', async () => {
    const result = await run(
      () => new Response('x'),
      cgiEnv({ SCRIPT_NAME: '/cgi-bin/nph-app.cgi', SERVER_PROTOCOL: 'HTTP/1.0' }),
    );
    assert.match(result.text, /^HTTP\/1\.0 200 OK\r\n/);
    assert.match(result.text, /\r\nConnection: close\r\n/);
  });

  test('waits for waitUntil work after the response has been written', async () => {
    const events: string[] = [];
    const stdout = new Writable({
      write: (_chunk, _e, cb) => cb(),
      final: (cb) => (events.push('stdout ended'), cb()),
    });
    const app = (_r: Request, _env: CgiEnv, ctx: { waitUntil(p: Promise<unknown>): void }) => {
      ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 30)).then(() => events.push('background done')));
      return new Response('ok');
    };
    const result = await run(app, cgiEnv(), { stdout });
    assert.equal(result.code, 0);
    assert.deepEqual(events, ['stdout ended', 'background done']);
  });

  test('stops waiting for waitUntil work after waitUntilTimeout and says so', async () => {
    const app = (_r: Request, _env: CgiEnv, ctx: { waitUntil(p: Promise<unknown>): void }) => {
      ctx.waitUntil(new Promise(() => {}));
      return new Response('ok');
    };
    const result = await run(app, cgiEnv(), { waitUntilTimeout: 20 });
    assert.equal(result.code, 0);
    assert.match(result.stderr, /waitUntil work still running after 20 ms/);
  });
});

describe('serveCgi: a bad environment (no app call)', () => {
  const cases: [string, CgiEnv, number, RegExp][] = [
    [
      'malformed CONTENT_LENGTH: 400 naming the variable',
      post('x', { CONTENT_LENGTH: '12abc' }),
      400,
      /malformed CONTENT_LENGTH in environment: "12abc"/,
    ],
    [
      'body over maxBodySize: 413',
      post('x', { CONTENT_LENGTH: '2000000' }),
      413,
      /CONTENT_LENGTH in environment: "2000000"/,
    ],
    ['TRACE: 501', cgiEnv({ REQUEST_METHOD: 'TRACE' }), 501, /unsupported REQUEST_METHOD in environment: "TRACE"/],
    ['a Host that is not a host: 400', cgiEnv({ HTTP_HOST: 'a/b' }), 400, /malformed HTTP_HOST in environment: "a\/b"/],
    // Found by the fuzz test: JSON.stringify leaves these raw, and log viewers break or reorder lines on them.
    [
      'a line separator in the value is escaped: one visible line',
      cgiEnv({ HTTP_HOST: 'a\u2028b' }),
      400,
      /malformed HTTP_HOST in environment: "a\\u2028b"$/m,
    ],
    [
      'a bidi override, DEL and a C1 control are escaped',
      post('x', { CONTENT_LENGTH: '1\u202e2\x7f\x85' }),
      400,
      /malformed CONTENT_LENGTH in environment: "1\\u202e2\\u007f\\u0085"$/m,
    ],
  ];
  for (const [name, env, status, message] of cases) {
    test(name, async () => {
      let called = false;
      const result = await run(() => ((called = true), new Response('app')), env, { maxBodySize: 1_000_000 });
      assert.equal(called, false);
      assert.match(result.text, new RegExp(`^Status: ${status} `));
      assert.equal(result.stderr.trim().split('\n').length, 1, 'one line on stderr');
      assert.match(result.stderr, message);
    });
  }

  test('not under CGI: a usage line on stderr, nothing on stdout, exit code 2', async () => {
    const result = await run(() => new Response('app'), { PATH: '/usr/bin' });
    assert.equal(result.code, 2);
    assert.equal(result.stdout.length, 0);
    assert.match(result.stderr, /^fetch-cgi: not running under CGI .*fetch-cgi request/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });
});

describe('serveCgi: the app fails before sending anything', () => {
  test('an exception gives a generic 500, the stack on stderr only', async () => {
    const result = await run(() => {
      throw new Error('db password is hunter2');
    }, cgiEnv());
    assert.equal(result.code, 1);
    assert.equal(
      result.text,
      'Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\r\nInternal Server Error',
    );
    assert.match(result.stderr, /Error: db password is hunter2\n\s+at /);
  });

  test('a rejected promise gives the same 500', async () => {
    const result = await run(() => Promise.reject(new Error('nope')), cgiEnv());
    assert.match(result.text, /^Status: 500 /);
    assert.match(result.stderr, /Error: nope/);
  });

  for (const [name, value] of [
    ['a string', 'hello'],
    ['undefined', undefined],
    ['a plain object', { status: 200 }],
  ] as const) {
    test(`returning ${name} instead of a Response gives a 500`, async () => {
      const result = await run(() => value as unknown as Response, cgiEnv());
      assert.match(result.text, /^Status: 500 /);
      assert.match(result.stderr, /instead of a Response/);
    });
  }

  test('something that is not an app gives a 500 that says what serveCgi needs', async () => {
    const result = await run({} as unknown as CgiApp, cgiEnv());
    assert.match(result.text, /^Status: 500 /);
    assert.match(result.stderr, /needs a function or an object with a fetch method/);
  });

  test('onError may answer instead of the generic 500', async () => {
    const result = await run(
      () => {
        throw new Error('boom');
      },
      cgiEnv(),
      { onError: (error) => new Response(`sorry: ${(error as Error).message.length}`, { status: 503 }) },
    );
    assert.match(result.text, /^Status: 503 Service Unavailable\r\n[\s\S]*\r\n\r\nsorry: 4$/);
  });

  test('an onError hook that throws falls back to the generic 500', async () => {
    const result = await run(
      () => {
        throw new Error('boom');
      },
      cgiEnv(),
      {
        onError: () => {
          throw new Error('hook broke');
        },
      },
    );
    assert.match(result.text, /^Status: 500 /);
    assert.match(result.stderr, /hook broke/);
  });

  test('a request body shorter than CONTENT_LENGTH errors the body stream: 400, no hang', async () => {
    const app = async (request: Request) => new Response(await request.text());
    const result = await run(app, post('0123456789'), { body: '0123' });
    assert.match(result.text, /^Status: 400 Bad Request\r\n/);
    assert.match(result.stderr, /request body ended after 4 of 10 bytes/);
  });

  test('an Apache chunked upload above maxBodySize: 413', async () => {
    const app = async (request: Request) => new Response(String((await request.arrayBuffer()).byteLength));
    const result = await run(app, envDump('apache-chunked'), { body: Buffer.alloc(5000), maxBodySize: 4096 });
    assert.match(result.text, /^Status: 413 Content Too Large\r\n/);
  });
});

describe('serveCgi: failure after the headers were sent', () => {
  test('stops writing, logs, exits non-zero', async () => {
    let pulls = 0;
    const body = new ReadableStream({
      pull(c) {
        pulls += 1;
        if (pulls === 1) c.enqueue(new TextEncoder().encode('partial'));
        else c.error(new Error('stream broke'));
      },
    });
    const result = await run(() => new Response(body), cgiEnv());
    assert.equal(result.code, 1);
    assert.equal(result.text, 'Status: 200 OK\r\n\r\npartial');
    assert.match(result.stderr, /failed after its headers were sent\nError: stream broke/);
  });
});

describe('serveCgi: the client goes away', () => {
  test('EPIPE on stdout aborts request.signal and ends quietly', async () => {
    let aborted = false;
    const app = (request: Request) => {
      request.signal.addEventListener('abort', () => (aborted = true));
      const body = new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(64 * 1024)) });
      return new Response(body);
    };
    let writes = 0;
    const stdout = new Writable({
      highWaterMark: 1024,
      write(_chunk, _e, cb) {
        writes += 1;
        if (writes === 3) cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
        else cb();
      },
    });
    const result = await run(app, cgiEnv(), { stdout });
    assert.equal(result.code, 0);
    assert.equal(aborted, true);
    assert.equal(result.stderr, '');
  });
});

describe('serveCgi: the timeout option', () => {
  test('an app that never answers gets a 504 and one line on stderr', async () => {
    const result = await run(() => new Promise<Response>(() => {}), cgiEnv(), { timeout: 50 });
    assert.equal(result.code, 1);
    assert.match(result.text, /^Status: 504 Gateway Timeout\r\n/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /no complete response after 50 ms/);
  });

  test('a response that stalls after its headers is cut off', async () => {
    const body = new ReadableStream({
      start: (c) => c.enqueue(new TextEncoder().encode('partial')),
    });
    const result = await run(() => new Response(body), cgiEnv(), { timeout: 50 });
    assert.equal(result.code, 1);
    assert.equal(result.text, 'Status: 200 OK\r\n\r\npartial');
    assert.match(result.stderr, /no complete response after 50 ms/);
  });

  test('a response in time is not affected', async () => {
    const result = await run(() => new Response('quick'), cgiEnv(), { timeout: 5000 });
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
  });
});
