/**
 * Round-trip properties over generated requests and responses: request to environment to
 * request (`requestToEnv` then `envToRequest`) keeps the method, URL, headers and body bytes;
 * response to CGI bytes to response (`writeResponse` then `parseCgiResponse`) keeps the status,
 * reason, headers, every Set-Cookie in order and the body bytes, in both CGI and NPH form.
 * 5,000 cases each by default, 50,000 with `FETCH_CGI_LONG=1`.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import * as fc from 'fast-check';
import { HOP_BY_HOP } from '../../src/http/syntax.js';
import { CgiEnvError, envToRequest, parseCgiResponse, requestToEnv, writeResponse } from '../../src/index.js';
import { requestParts } from '../../src/request/env-to-request.js';
import type { CgiEnv } from '../../src/types.js';
import { replayFailure } from './arbitraries.js';

const RUNS = process.env.FETCH_CGI_LONG === '1' ? 50_000 : 5_000;
const SCRIPT = '/cgi-bin/app.cgi';

// No `.` or `..`: URL parsing resolves them, and `..` would leave the script's path altogether.
const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@]{1,8}$/).filter((text) => text !== '.' && text !== '..'),
  fc.constantFrom('a%20b', '%2F', 'caf%C3%A9', '%25', 'x%3Fy', 'a+b', '%E2%82%AC'),
);
// Never a bare `?`: QUERY_STRING is '' both for it and for no query at all (RFC 3875 section 4.1.7).
const query = fc.oneof(
  fc.constant(''),
  fc.stringMatching(/^\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]{1,20}$/).filter((q) => !/%(?![0-9A-Fa-f]{2})/.test(q)),
);
// Names requestToEnv can carry (letters, digits, '-'), away from the ones with their own variables.
const headerName = fc.oneof(
  fc.stringMatching(/^x-[a-z0-9-]{1,10}$/),
  fc.constantFrom(
    'accept',
    'accept-language',
    'cookie',
    'authorization',
    'user-agent',
    'if-none-match',
    'x-forwarded-for',
  ),
);
const headerValue = fc.stringMatching(/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff]{0,30}[\x21-\x7e\x80-\xff])?$/);
/**
 * A request header value as the bytes a client sends (a latin1 string, as `Headers` holds them):
 * ASCII, or UTF-8 text. A Node process reads its environment as UTF-8, so bytes that are not
 * UTF-8 cannot reach a script through `requestToEnv` and a spawned process unchanged.
 */
const requestHeaderValue = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
  .map((text) =>
    // oxlint-disable-next-line no-control-regex -- control characters are dropped on purpose
    Buffer.from(text.replace(/[\x00-\x1f\x7f]/g, ''), 'utf8')
      .toString('latin1')
      .replace(/^[\t ]+|[\t ]+$/g, ''),
  )
  .filter((value) => value !== '');

test(`request to environment to request keeps method, URL, headers and body (${RUNS} cases)`, async (t) => {
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND'),
      fc.array(segment, { maxLength: 5 }),
      query,
      fc.array(fc.tuple(headerName, requestHeaderValue), { maxLength: 6 }),
      fc.uint8Array({ maxLength: 4096 }),
      fc.boolean(),
      async (method, segments, search, fields, bytes, https) => {
        cases += 1;
        const hasBody = method !== 'GET' && method !== 'HEAD';
        const headers = new Headers(fields);
        if (hasBody) headers.set('content-length', String(bytes.length));
        const url = `${https ? 'https' : 'http'}://example.com:8443${SCRIPT}/${segments.join('/')}${search}`;
        const original = new Request(url, { method, headers, ...(hasBody ? { body: bytes } : {}) });
        const env = requestToEnv(original, { scriptName: SCRIPT, remoteAddr: '192.0.2.1' });
        const back = envToRequest(env, { input: [bytes], stripBase: false });
        assert.equal(back.method, original.method);
        assert.equal(back.url, original.url);
        for (const [name, value] of original.headers) assert.equal(back.headers.get(name), value, `header ${name}`);
        assert.deepEqual(
          [...back.headers.keys()].filter((name) => name !== 'host').toSorted(),
          [...original.headers.keys()].toSorted(),
        );
        if (hasBody) assert.deepEqual(Buffer.from(await back.arrayBuffer()), Buffer.from(bytes));
        else assert.equal(back.body, null);
        // The app's view (the default, stripBase) is the same URL without the script's path.
        const appView = new URL(original.url);
        appView.pathname = appView.pathname.slice(SCRIPT.length) || '/';
        assert.equal(envToRequest(env).url, appView.href);
      },
    ),
    { numRuns: RUNS, ...replayFailure },
  );
  t.diagnostic(`round-trip cases run (request): ${cases}`);
});

test(`response to CGI bytes to response keeps status, headers, every Set-Cookie and body (${RUNS} cases)`, async (t) => {
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.constantFrom(200, 201, 204, 205, 301, 304, 404, 500), fc.integer({ min: 200, max: 599 })),
      // A reason travels in a header field, whose leading and trailing white space is not part of it.
      fc.stringMatching(/^([\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff]{0,19}[\x21-\x7e\x80-\xff])?)?$/),
      fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/), headerValue), { maxLength: 6 }),
      fc.array(
        fc.stringMatching(/^[a-z]{1,6}=[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,16}(; Path=\/; HttpOnly)?$/),
        { maxLength: 4 },
      ),
      fc.uint8Array({ maxLength: 8192 }),
      fc.boolean(),
      fc.constantFrom('GET', 'HEAD'),
      async (status, statusText, fields, cookies, bytes, nph, method) => {
        cases += 1;
        const headers = new Headers(fields.filter(([name]) => name !== 'status' && name !== 'set-cookie'));
        for (const cookie of cookies) headers.append('set-cookie', cookie);
        const nullBody = status === 204 || status === 205 || status === 304;
        const original = new Response(nullBody ? null : bytes, { status, statusText, headers });
        const chunks: Buffer[] = [];
        const output = new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) });
        await writeResponse(original, output, { method, nph });
        const wire = Buffer.concat(chunks);
        const back = await parseCgiResponse(
          (async function* () {
            yield wire;
          })(),
          { nph },
        );
        assert.equal(back.status, status);
        if (statusText !== '') assert.equal(back.statusText, statusText);
        for (const [name, value] of original.headers) {
          if (name === 'set-cookie' || HOP_BY_HOP.has(name)) continue;
          if (name === 'content-length' && (status === 204 || status === 304)) continue;
          assert.equal(back.headers.get(name), value, `header ${name}`);
        }
        assert.deepEqual(back.headers.getSetCookie(), cookies, 'every Set-Cookie, in order');
        const body = Buffer.from(await back.arrayBuffer());
        assert.deepEqual(body, method === 'HEAD' || nullBody ? Buffer.alloc(0) : Buffer.from(bytes));
      },
    ),
    { numRuns: RUNS, ...replayFailure },
  );
  t.diagnostic(`round-trip cases run (response): ${cases}`);
});

describe('the URL handed to the app', () => {
  // Pieces that sit on every rule of the WHATWG parser: case, IDNA, IPv4 forms, default and
  // odd ports, dot segments spelled every way, characters the path or query must escape.
  const host = fc.oneof(
    fc.constantFrom('example.com', 'Example.COM', 'localhost', 'a-b.c', 'xn--nxasmq6b.com', 'xn--bad', 'a..b', 'a.'),
    fc.constantFrom(
      '127.0.0.1',
      '127.1',
      '1.2.3',
      '0x7f.0.0.1',
      '010.0.0.1',
      '256.1.1.1',
      '1.2.3.04',
      'x.123',
      'x.0x1f',
    ),
    fc.constantFrom('[::1]', '[2001:DB8::1]', '_under.score', 'café.fr', 'a%41.com', ''),
    fc.stringMatching(/^[A-Za-z0-9.-]{1,12}$/),
  );
  const port = fc.constantFrom('', ':80', ':443', ':8080', ':08080', ':65535', ':65536', ':0', ':');
  const segment = fc.oneof(
    fc.constantFrom('.', '..', '%2e', '%2E', '.%2e', '%2e.', '%2E%2e', '...', '.a', 'a.', '', 'a b', '%zz', '%41'),
    fc.constantFrom('\\', '"', '<', '{', '`', '|', '^', '#', '?', "'", 'é', '%', '@', ':', ';=,'),
    fc.stringMatching(/^[A-Za-z0-9._~-]{0,6}$/),
  );
  const query = fc.oneof(
    fc.constantFrom('', 'q=1', 'a b', "it's", '"x"', '<>', '{|}`^', '\\', '%zz', 'é=1', '#frag', 'a?b', '[]'),
    fc.stringMatching(/^[\x20-\x7e]{0,12}$/),
  );

  test('is what a real Request keeps: new URL(url).href equals it', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('http', 'https'),
        host,
        port,
        fc.array(segment, { maxLength: 4 }),
        query,
        fc.boolean(),
        (scheme, name, hostPort, segments, search, raw) => {
          // With REQUEST_URI the path goes through raw, as Apache sends it; without, encoded.
          const rawPath = `/${segments.join('/')}`;
          let decoded = rawPath;
          try {
            decoded = decodeURIComponent(rawPath);
          } catch {}
          const env: CgiEnv = {
            GATEWAY_INTERFACE: 'CGI/1.1',
            REQUEST_METHOD: 'GET',
            SERVER_NAME: 'localhost',
            SERVER_PORT: scheme === 'https' ? '443' : '80',
            SCRIPT_NAME: '/app.cgi',
            HTTP_HOST: `${name}${hostPort}`,
            PATH_INFO: raw ? decoded : rawPath,
            QUERY_STRING: search,
            ...(raw ? { REQUEST_URI: `/app.cgi${rawPath}${search ? `?${search}` : ''}` } : {}),
            ...(scheme === 'https' ? { HTTPS: 'on' } : {}),
          };
          let url: string;
          try {
            url = requestParts(env).url;
          } catch (error) {
            if (error instanceof CgiEnvError) return;
            throw error;
          }
          assert.equal(new URL(url).href, url);
        },
      ),
      { numRuns: 20_000, ...replayFailure },
    );
  });
});
