/**
 * The attacks docs/security.md lists, each as a literal in-process case: httpoxy, header
 * injection through the app's status text and header values, request smuggling through
 * conflicting body framing, body size limits, secrets and stack traces kept off stdout, and
 * PATH_INFO reaching the app exactly as the server sent it. The last group pins bugs the fuzz
 * tests found, so each shows on its own.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { envToRequest, parseCgiResponse, requestToEnv, serveCgi, type ServeCgiOptions } from '../../src/index.js';
import type { CgiApp, CgiEnv } from '../../src/types.js';
import { cgiEnv } from '../helpers/envdump.js';

const SECRET = 'db-password-4f1c';

interface Run {
  code: number;
  text: string;
  stderr: string;
  stdinTouched: boolean;
}

async function run(app: CgiApp, env: CgiEnv, body = '', options: Partial<ServeCgiOptions> = {}): Promise<Run> {
  const chunks: Buffer[] = [];
  let stderr = '';
  let stdinTouched = false;
  const stdin = {
    async *[Symbol.asyncIterator]() {
      stdinTouched = true;
      if (body) yield Buffer.from(body);
    },
  };
  const code = await serveCgi(app, {
    env,
    stdin,
    stdout: new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }),
    stderr: { write: (text: string) => (stderr += text) },
    ...options,
  });
  return { code, text: Buffer.concat(chunks).toString('latin1'), stderr, stdinTouched };
}

/** The header lines of a CGI response. */
const headLines = (text: string) => text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');

/** A response-shaped object (as another realm or npm undici could return) with anything in it. */
function shaped(status: number, statusText: string, fields: [string, string][]) {
  return {
    status,
    statusText,
    headers: {
      get: () => null,
      getSetCookie: () => fields.filter(([n]) => n === 'set-cookie').map(([, v]) => v),
      [Symbol.iterator]: () => fields[Symbol.iterator](),
    },
    body: null,
  };
}

describe('httpoxy', () => {
  test('a client Proxy header (HTTP_PROXY) never reaches the app as a header or a variable', async () => {
    let seen: { env?: CgiEnv; proxy?: string | null } = {};
    await run(
      (request, env) => ((seen = { env, proxy: request.headers.get('proxy') }), new Response('ok')),
      cgiEnv({ HTTP_PROXY: 'http://evil.example:8080', http_proxy: 'http://evil.example:8080' }),
    );
    assert.equal(seen.env?.HTTP_PROXY, undefined);
    assert.equal(seen.env?.http_proxy, undefined);
    assert.equal(seen.proxy, null);
  });

  test('requestToEnv never produces HTTP_PROXY from a Proxy header', () => {
    const env = requestToEnv(
      new Request('http://x.example/cgi-bin/app.cgi/', { headers: { proxy: 'http://evil.example' } }),
      { scriptName: '/cgi-bin/app.cgi', remoteAddr: '::1' },
    );
    assert.equal(env.HTTP_PROXY, undefined);
  });
});

describe('header injection through the app', () => {
  test('CR and LF in a status text are removed: the reason stays on the Status line', async () => {
    const result = await run(
      () => shaped(200, 'OK\r\nSet-Cookie: admin=1\r\n\r\n<script>', []) as unknown as Response,
      cgiEnv(),
    );
    const lines = headLines(result.text);
    assert.match(lines[0] ?? '', /^Status: 200 OKSet-Cookie: admin=1<script>$/);
    assert.ok(!lines.some((line) => /^set-cookie/i.test(line)));
  });

  for (const [name, value] of [
    ['x-note', 'a\r\nSet-Cookie: admin=1'],
    ['x-note', 'a\nLocation: //evil.example'],
    ['location', '/next\r\n\r\n<html>'],
    ['set-cookie', 'a=1\r\nSet-Cookie: admin=1'],
    ['x-nul', 'a\0b'],
    ['bad name', 'x'],
    ['x-split\r\ninjected', 'x'],
  ] as const) {
    test(`an app header ${JSON.stringify(`${name}: ${value}`)} fails the response with a generic 500`, async () => {
      const result = await run(() => shaped(200, '', [[name, value]]) as unknown as Response, cgiEnv());
      assert.equal(
        result.text,
        'Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n\r\nInternal Server Error',
      );
      assert.equal(result.code, 1);
      assert.match(result.stderr, /invalid .* header/);
    });
  }
});

describe('request smuggling through conflicting body framing', () => {
  const echo = async (request: Request) =>
    new Response(
      `${request.headers.get('content-length')}|${request.headers.get('transfer-encoding')}|${await request.text()}`,
    );
  const post = (extra: CgiEnv) => cgiEnv({ REQUEST_METHOD: 'POST', ...extra });

  test('CONTENT_LENGTH wins over HTTP_CONTENT_LENGTH and HTTP_TRANSFER_ENCODING; the rest of stdin is never read as a request', async () => {
    const result = await run(
      echo,
      post({ CONTENT_LENGTH: '5', HTTP_CONTENT_LENGTH: '100', HTTP_TRANSFER_ENCODING: 'chunked' }),
      'helloGET /admin HTTP/1.1\r\n\r\n',
    );
    assert.match(result.text, /\r\n\r\n5\|null\|hello$/);
  });

  test('without CONTENT_LENGTH and without chunked, nothing is read (no hang on a socket stdin)', async () => {
    const result = await run(echo, post({}), 'smuggled');
    assert.match(result.text, /\r\n\r\nnull\|null\|$/);
  });

  for (const value of ['5, 5', '+5', ' 5', '0x5', '5.0', '-1', '1e1']) {
    test(`a CONTENT_LENGTH of ${JSON.stringify(value)} is refused with 400 before the app runs`, async () => {
      let called = false;
      const result = await run(() => ((called = true), new Response('app')), post({ CONTENT_LENGTH: value }), 'hello');
      assert.equal(called, false);
      assert.match(result.text, /^Status: 400 Bad Request\r\n/);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    });
  }
});

describe('body size limits', () => {
  test('a CONTENT_LENGTH above maxBodySize gives 413 without reading stdin or calling the app', async () => {
    let called = false;
    const result = await run(
      () => ((called = true), new Response('app')),
      cgiEnv({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '1048577' }),
      'x',
      { maxBodySize: 1024 * 1024 },
    );
    assert.match(result.text, /^Status: 413 Content Too Large\r\n/);
    assert.equal(called, false);
    assert.equal(result.stdinTouched, false);
  });
});

describe('secrets and stack traces stay on stderr', () => {
  test('an exception carrying a secret gives a generic 500; the stack goes to stderr only', async () => {
    const result = await run(
      (_r, env) => {
        throw new Error(`cannot connect with ${env.DB_PASSWORD}`);
      },
      cgiEnv({ DB_PASSWORD: SECRET }),
    );
    assert.ok(!result.text.includes(SECRET));
    assert.doesNotMatch(result.text, /\bat .+:\d+:\d+/);
    assert.match(result.stderr, new RegExp(`${SECRET}\\n\\s+at `));
  });

  test('a malformed variable holding a secret is quoted on stderr, never in the 400 page', async () => {
    const result = await run(() => new Response('app'), cgiEnv({ HTTP_HOST: `${SECRET}/x` }));
    assert.match(result.text, /^Status: 400 /);
    assert.ok(!result.text.includes(SECRET));
    assert.ok(result.stderr.includes(SECRET));
  });
});

describe('path traversal is the app’s concern', () => {
  test('PATH_INFO with .. and // reaches env.PATH_INFO exactly; the URL path follows WHATWG parsing', async () => {
    let seen: { env?: CgiEnv; url?: string } = {};
    const raw = '/files/../../etc//passwd';
    await run(
      (request, env) => ((seen = { env, url: request.url }), new Response('ok')),
      cgiEnv({ PATH_INFO: raw, REQUEST_URI: `/cgi-bin/app.cgi${raw}` }),
    );
    assert.equal(seen.env?.PATH_INFO, raw);
    assert.equal(new URL(seen.url ?? '').pathname, new URL(`http://x${raw}`).pathname);
  });
});

describe('bugs the fuzz tests found', () => {
  test('an app header named Status never becomes a second Status line', async () => {
    const result = await run(() => new Response('x', { headers: { status: '302 Found' } }), cgiEnv());
    assert.equal(headLines(result.text).filter((line) => /^status:/i.test(line)).length, 1, result.text);
  });

  test('an NPH response on HTTP/2 or HTTP/3 still starts with a valid HTTP/1.x status line', async () => {
    for (const protocol of ['HTTP/2', 'HTTP/2.0', 'HTTP/3']) {
      const result = await run(
        () => new Response('x'),
        cgiEnv({ SCRIPT_NAME: '/cgi-bin/nph-app.cgi', SERVER_PROTOCOL: protocol }),
      );
      assert.match(result.text, /^HTTP\/1\.[01] 200 OK\r\n/, protocol);
    }
  });

  test('a response-shaped status above 599 gives a 500 (what Response and parseCgiResponse accept)', async () => {
    const result = await run(() => shaped(600, '', []) as unknown as Response, cgiEnv());
    assert.match(result.text, /^Status: 500 /);
  });

  test('a lone surrogate in a meta-variable gives a 400 instead of a rejected promise', async () => {
    const result = await run(() => new Response('x'), { REQUEST_METHOD: 'GET', SCRIPT_NAME: '\ud800', PATH_INFO: '/' });
    assert.match(result.text, /^Status: (200|400) /);
  });

  test('a request header value ending in byte 0xA0 (UTF-8 "à") keeps its last byte', () => {
    const request = envToRequest(cgiEnv({ HTTP_X_NAME: 'voilà' }));
    assert.equal(Buffer.from(request.headers.get('x-name') ?? '', 'latin1').toString('utf8'), 'voilà');
  });

  test('parseCgiResponse keeps a header value ending in byte 0xA0', async () => {
    const response = await parseCgiResponse(
      (async function* () {
        yield Buffer.from('Status: 200 OK\r\nX-Name: voil\xc3\xa0\r\n\r\n', 'latin1');
      })(),
    );
    assert.equal(response.headers.get('x-name'), 'voil\xc3\xa0');
  });

  test('requestToEnv hands a UTF-8 header value over as the text a process would read', () => {
    const bytes = Buffer.from('café', 'utf8').toString('latin1');
    const env = requestToEnv(new Request('http://x.example/cgi-bin/app.cgi/', { headers: { 'x-name': bytes } }), {
      scriptName: '/cgi-bin/app.cgi',
      remoteAddr: '::1',
    });
    assert.equal(env.HTTP_X_NAME, 'café');
  });
});
