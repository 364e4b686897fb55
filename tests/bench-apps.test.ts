import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cgiEnv } from '../bench/cgi-env.js';
import { benchDir } from '../bench/paths.js';
import { bundleNaive } from '../bench/prepare.js';
import { writePagesApp } from '../bench/apps/hono-pages/generate.js';
import { buildScript } from '../src/cli/build.js';

// The benchmark (npm run bench) must never time an app that answers with an error: these check
// that each of its apps builds and answers. They assert no timings.
const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-bench-apps-'));
const built = {
  honoHello: join(dir, 'hono-hello.cgi'),
  honoJson: join(dir, 'hono-json.cgi'),
  hono500: join(dir, 'hono-500.cgi'),
  hono500Quick: join(dir, 'hono-500-quick.cgi'),
  hono1000: join(dir, 'hono-1000.cgi'),
  honoPages: join(dir, 'hono-pages.cgi'),
  streamOut: join(dir, 'stream-out.cgi'),
  streamIn: join(dir, 'stream-in.cgi'),
  naiveHello: join(dir, 'naive-hello.cgi'),
  naive500: join(dir, 'naive-500.cgi'),
  naiveJson: join(dir, 'naive-json.cgi'),
};
const app = (path: string) => join(benchDir, 'apps', path);

before(async () => {
  // A CommonJS scope, as in bench/.tmp/, so the naive bundles run under their `.cgi` names.
  writeFileSync(join(dir, 'package.json'), '{ "type": "commonjs" }\n');
  await buildScript({ entry: app('hono-hello/app.ts'), outfile: built.honoHello });
  await buildScript({ entry: app('hono-json/app.ts'), outfile: built.honoJson });
  await buildScript({ entry: app('hono-500/app.ts'), outfile: built.hono500 });
  await buildScript({ entry: app('hono-500-quick/app.ts'), outfile: built.hono500Quick });
  await buildScript({ entry: app('hono-1000/app.ts'), outfile: built.hono1000 });
  await buildScript({ entry: writePagesApp(500), outfile: built.honoPages });
  await buildScript({ entry: app('stream-out/app.ts'), outfile: built.streamOut });
  await buildScript({ entry: app('stream-in/app.ts'), outfile: built.streamIn });
  await bundleNaive(app('naive-bridge/hono-hello.ts'), built.naiveHello, 'cjs');
  await bundleNaive(app('naive-bridge/hono-500.ts'), built.naive500, 'cjs');
  await bundleNaive(app('naive-bridge/hono-json.ts'), built.naiveJson, 'cjs');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` as a CGI with the benchmark's environment; returns its exit code and output. */
function run(script: string, env: Record<string, string>, input = ''): { status: number | null; stdout: string } {
  const result = spawnSync(script, [], { env, input, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout };
}

describe('benchmark apps', () => {
  for (const [title, script] of [
    ['the built hono hello app answers hello', () => built.honoHello],
    ['the naive bridge bundle of hono hello answers hello', () => built.naiveHello],
  ] as const) {
    test(title, () => {
      const { status, stdout } = run(script(), cgiEnv('/hello'));
      assert.equal(status, 0);
      assert.match(stdout, /^Status: 200/i);
      assert.match(stdout, /\r\n\r\nHello$/);
    });
  }

  for (const [title, script] of [
    ['the built JSON app echoes a posted body', () => built.honoJson],
    ['the naive bridge bundle of the JSON app echoes a posted body', () => built.naiveJson],
  ] as const) {
    test(title, () => {
      const json = '{"name":"Ada","tags":["cgi","json"],"count":3}';
      const env = {
        ...cgiEnv('/echo'),
        REQUEST_METHOD: 'POST',
        CONTENT_TYPE: 'application/json',
        CONTENT_LENGTH: String(json.length),
      };
      const { status, stdout } = run(script(), env, json);
      assert.equal(status, 0);
      assert.match(stdout, /^Status: 200/i);
      assert.ok(stdout.endsWith(`\r\n\r\n${json}`), stdout);
    });
  }

  for (const [title, script] of [
    ['the built 500-route app renders a record page with jsx', () => built.hono500],
    ['the same app on hono/quick renders the same page', () => built.hono500Quick],
    ['the naive bridge bundle of the 500-route app renders a record page with jsx', () => built.naive500],
    ['the 1,001-route app renders the same page', () => built.hono1000],
  ] as const) {
    test(title, () => {
      // The page the benchmark times (bench/variants.ts).
      const { status, stdout } = run(script(), cgiEnv('/r200/42'));
      assert.equal(status, 0);
      assert.match(stdout, /^Status: 200/i);
      assert.match(stdout, /<h1>Section 200, record 42<\/h1>/);
      assert.match(stdout, /<th>query<\/th><td>1<\/td>/);
    });
  }

  for (const [title, script, last] of [
    ['the 500-route app stops at section 249, which the nav links as the last', () => built.hono500, 249],
    ['the 1,001-route app stops at section 499, which the nav links as the last', () => built.hono1000, 499],
  ] as const) {
    test(title, () => {
      const { stdout } = run(script(), cgiEnv(`/r${last}`));
      assert.match(stdout, new RegExp(`href="/r${last}/10"`));
      assert.match(stdout, new RegExp(`<a href="/r${last}/1">Last</a>`));
      const beyond = run(script(), cgiEnv(`/r${last + 1}`));
      assert.match(beyond.stdout, /^Status: 404/i);
    });
  }

  test('the streaming app writes exactly STREAM_BYTES of body', () => {
    const bytes = 4 * 64 * 1024;
    const { status, stdout } = run(built.streamOut, cgiEnv('/stream', { STREAM_BYTES: String(bytes) }));
    assert.equal(status, 0);
    const body = stdout.slice(stdout.indexOf('\r\n\r\n') + 4);
    assert.equal(body.length, bytes);
    assert.equal(body, 'a'.repeat(bytes));
  });

  test('the upload app counts every byte of the request body', () => {
    const input = 'x'.repeat(300_000);
    const env = cgiEnv('/upload', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(input.length) });
    const { status, stdout } = run(built.streamIn, env, input);
    assert.equal(status, 0);
    assert.match(stdout, /\r\n\r\n300000$/);
  });

  test('the 500-page app renders 100 links on its home page and each page from its own component', () => {
    const home = run(built.honoPages, cgiEnv('/'));
    assert.equal(home.status, 0);
    assert.match(home.stdout, /^Status: 200/i);
    assert.equal(home.stdout.match(/<li><a href="\/page\/\d+\/1">/g)?.length, 100);
    const page = run(built.honoPages, cgiEnv('/page/420/7'));
    assert.match(page.stdout, /<title>Page 420: alder<\/title>/);
    assert.match(page.stdout, /<h1>Page 420, item 7<\/h1>/);
    assert.match(page.stdout, /<a href="\/page\/421\/1">Page 421<\/a>/);
    assert.match(run(built.honoPages, cgiEnv('/page/500/1')).stdout, /^Status: 404/i);
  });
});
