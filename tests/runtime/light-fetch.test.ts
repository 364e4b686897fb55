import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { buildScript } from '../../src/cli/build.js';
import { serveCgi } from '../../src/index.js';
import type { CgiEnv } from '../../src/types.js';
import lazyApp from '../fixtures/lazy-app.js';
import { cgiEnv } from '../helpers/envdump.js';

// A CGI process serves with a lazy request and a light global Response (Node's fetch classes
// unloaded); this test process has loaded them, so in-process runs use the real classes.
const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-lazy-'));
const script = join(dir, 'lazy.cgi');
before(() => buildScript({ entry: new URL('../fixtures/lazy-app.ts', import.meta.url).pathname, outfile: script }));
after(() => rmSync(dir, { recursive: true, force: true }));

function request(path: string, extra: CgiEnv = {}): CgiEnv {
  return cgiEnv({ PATH_INFO: path, REQUEST_URI: `/cgi-bin/app.cgi${path}`, ...extra });
}

/** The raw CGI output of the built script, run as a CGI process (the light path). */
function spawned(env: CgiEnv, body = ''): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const clean: Record<string, string> = { PATH: '/usr/bin:/bin' };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) clean[name] = value;
  const child = spawn(script, [], { env: clean });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('latin1')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  child.stdin.end(body);
  return new Promise((resolve) => child.on('close', (code) => resolve({ stdout, stderr, code })));
}

/** The raw CGI output of the same app in this process, with the real fetch classes. */
async function inProcess(env: CgiEnv, body = ''): Promise<string> {
  const chunks: Buffer[] = [];
  await serveCgi(lazyApp, {
    env,
    stdin: [Buffer.from(body)],
    stdout: new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }),
    stderr: { write: () => true },
    lazyFetch: false,
  });
  return Buffer.concat(chunks).toString('latin1');
}

/**
 * `output` (latin1, one character a byte) without its Content-Length field, after checking the
 * field against the body: the light path knows the length of a body held whole, where the real
 * classes hand the writer a stream of unknown length.
 */
function lengthChecked(output: string): string {
  const headEnd = output.indexOf('\r\n\r\n') + 4;
  const field = /\r\nContent-Length: (\d+)\r\n/.exec(output.slice(0, headEnd));
  if (!field) return output;
  assert.equal(Number(field[1]), output.length - headEnd, `Content-Length of ${output}`);
  return output.slice(0, field.index) + output.slice(field.index + field[0].length - 2);
}

/** The same CGI output but for the Content-Length only the light path can know. */
function assertSameOutput(light: string, real: string): void {
  assert.equal(lengthChecked(light), lengthChecked(real));
}

const bodyOf = (output: string) => Buffer.from(output.slice(output.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8');

describe('the light fetch path writes the same bytes as the real classes', () => {
  for (const path of [
    '/text',
    '/json',
    '/headers',
    '/raw-init',
    '/stream',
    '/static-json',
    '/static-redirect',
    '/static-error',
    '/middleware/inner',
    '/bad-status',
    '/bad-header',
    '/nowhere',
  ]) {
    test(`GET ${path}`, async () => {
      const env = request(path);
      const light = await spawned(env);
      assertSameOutput(light.stdout, await inProcess(env));
      assert.equal(light.code, path === '/static-error' ? 1 : 0, light.stderr);
    });
  }

  test('GET /header-ops reads, copies and changes request headers', async () => {
    const env = request('/header-ops', { HTTP_X_PROBE: 'probe', HTTP_COOKIE: 'a=1' });
    const light = await spawned(env);
    assertSameOutput(light.stdout, await inProcess(env));
    const report = JSON.parse(bodyOf(light.stdout));
    assert.equal(report.one, 'probe');
    assert.equal(report.isHeaders, true);
    assert.equal(report.tag, '[object Headers]');
    assert.equal(report.afterSet, 'later');
    assert.deepEqual(report.keys, ['cookie', 'host', 'x-probe']);
  });

  test('a form POST read with formData()', async () => {
    const body = 'name=caf%C3%A9&x=1';
    const env = request('/form', {
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'application/x-www-form-urlencoded',
      CONTENT_LENGTH: String(body.length),
    });
    const light = await spawned(env, body);
    assertSameOutput(light.stdout, await inProcess(env, body));
    assert.deepEqual(JSON.parse(bodyOf(light.stdout)), { name: 'café', isRequest: true });
  });

  test('a cloned request body read twice', async () => {
    const env = request('/clone-body', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' });
    const light = await spawned(env, 'hello');
    assert.equal(bodyOf(light.stdout), 'hello|hello');
  });
});

describe('the light fetch path reads request bodies as the real Request does', () => {
  const post = (path: string, body: string | Buffer, extra: CgiEnv = {}) =>
    request(path, { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(Buffer.byteLength(body)), ...extra });
  const cases: [string, string | Buffer][] = [
    ['/text', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('café '), Buffer.from([0xff, 0xc3])])],
    ['/bytes', Buffer.from([7, 0, 255, 1])],
    ['/stream-body', Buffer.alloc(300_000, 1)],
    ['/read-twice', 'once'],
    ['/stream-then-headers', 'chunk'],
    ['/forward-body', 'forwarded body'],
  ];
  for (const [path, body] of cases) {
    test(`POST ${path}`, async () => {
      const env = post(path, body);
      const light = await spawned(env, body as string);
      assert.equal(light.code, 0, light.stderr);
      const expected = await inProcess(env, body as string);
      const withoutProbe = (output: string) => output.replace(/,"fetchLoaded":(true|false)/, '');
      assert.equal(withoutProbe(lengthChecked(light.stdout)), withoutProbe(lengthChecked(expected)));
    });
  }

  test("json(), text() and a body stream leave Node's fetch implementation unloaded", async () => {
    for (const [path, body] of [
      ['/json-echo', '{"a":[1,"é"]}'],
      ['/text', 'plain'],
      ['/stream-body', 'streamed'],
    ]) {
      const light = await spawned(post(path as string, body as string), body);
      assert.equal(JSON.parse(bodyOf(light.stdout)).fetchLoaded, false, `${path}: ${light.stdout}`);
    }
    const echoed = JSON.parse(bodyOf((await spawned(post('/json-echo', '{"a":[1,"é"]}'), '{"a":[1,"é"]}')).stdout));
    assert.deepEqual(echoed, { body: { a: [1, 'é'] }, bodyUsed: true, fetchLoaded: false });
  });

  test('a body that ends early fails the read with the same error and response as the real classes', async () => {
    const env = post('/json-echo', '{"a":1}', { CONTENT_LENGTH: '100' });
    const light = await spawned(env, '{"a":1}');
    assertSameOutput(light.stdout, await inProcess(env, '{"a":1}'));
    // Hono answers the failed read with its own 500; the bridge's error names the shortfall.
    assert.match(light.stdout, /^Status: 500 /);
    assert.match(light.stderr, /CgiBodyError: fetch-cgi: request body ended after 7 of 100 bytes/);
  });

  test('invalid JSON rejects with a SyntaxError, as with the real classes', async () => {
    const env = post('/json-echo', '{"a":');
    const light = await spawned(env, '{"a":');
    assertSameOutput(light.stdout, await inProcess(env, '{"a":'));
    assert.match(light.stderr, /SyntaxError/);
  });
});

describe('the light fetch path keeps the fetch classes working for the app', () => {
  test('instanceof, clone, new Request(request), headers and text() all behave', async () => {
    const light = await spawned(request('/identity', { HTTP_X_PROBE: 'probe' }));
    assert.deepEqual(JSON.parse(bodyOf(light.stdout)), {
      requestIsRequest: true,
      responseIsResponse: true,
      madeTag: '[object Response]',
      cloneUrl: 'http://example.com/identity',
      rebuilt: '1',
      rebuiltUrl: 'http://example.com/identity',
      headerRead: 'probe',
      status: 200,
      text: 'x',
    });
  });

  test('fetch() with a Request works and its Response is a Response', async () => {
    const light = await spawned(request('/fetch-self'));
    assert.deepEqual(JSON.parse(bodyOf(light.stdout)), { text: 'upstream saw /up', isResponse: true });
  });
});
