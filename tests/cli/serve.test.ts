import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { writeFixtures } from './fixtures.js';
import { root, runCli, type Served, startServe } from './helpers.js';

const fixtures = writeFixtures();

/** An app entry answering `<word> <path>`. */
function source(word: string): string {
  return `export default (request: Request): Response => new Response('${word} ' + new URL(request.url).pathname);\n`;
}

describe('fetch-cgi serve with a hand-written script', () => {
  let served: Served;
  before(async () => {
    served = await startServe([fixtures.ok]);
  });
  after(async () => {
    assert.equal(await served.stop(), 0);
  });

  test('answers a real HTTP request with the script status, headers and body', async () => {
    const response = await request(`${served.url}/a%20b/c?q=1`, { method: 'POST', body: 'hello' });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['content-type'], 'text/plain');
    assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(await response.body.text(), 'POST /a b/c q=1 body=hello');
  });

  test('prints the script stderr prefixed with the request line', async () => {
    const response = await request(`${served.url}/logged`);
    await response.body.text();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(served.stderr(), /\[GET \/logged\] ok\.cgi says hello on stderr/);
    assert.match(served.stderr(), /GET \/logged 201 \d+ ms/);
  });

  test('passes a chunked request body with a CONTENT_LENGTH', async () => {
    const response = await request(`${served.url}/up`, { method: 'PUT', body: Readable.from(['chunk-1 ', 'chunk-2']) });
    assert.equal(await response.body.text(), 'PUT /up  body=chunk-1 chunk-2');
  });
});

describe('fetch-cgi serve', () => {
  test('gives the script a complete CGI environment, cwd its own folder, and no HTTP_PROXY', async () => {
    const served = await startServe([fixtures.env]);
    try {
      const response = await request(`${served.url}/x?y=1`, { headers: { 'x-foo': 'bar', proxy: 'http://evil' } });
      const env = (await response.body.json()) as Record<string, string>;
      assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
      assert.equal(env.SCRIPT_NAME, '');
      assert.equal(env.PATH_INFO, '/x');
      assert.equal(env.QUERY_STRING, 'y=1');
      assert.equal(env.REQUEST_URI, '/x?y=1');
      assert.equal(env.REMOTE_ADDR, '127.0.0.1');
      assert.match(env.SERVER_SOFTWARE ?? '', /^fetch-cgi\//);
      assert.equal(env.HTTP_X_FOO, 'bar');
      assert.equal(env.HTTP_PROXY, undefined);
      assert.equal(env.SCRIPT_FILENAME, fixtures.env);
      assert.equal(env.CWD, fixtures.dir);
      assert.ok(env.PATH);
      assert.equal(env.HOME, undefined, 'the host environment does not leak');
    } finally {
      await served.stop();
    }
  });

  test('mounts the script at --mount and answers 404 outside it', async () => {
    const served = await startServe([fixtures.env, '--mount', '/cgi-bin/app.cgi']);
    try {
      const response = await request(`${served.url}/cgi-bin/app.cgi/users/42`);
      const env = (await response.body.json()) as Record<string, string>;
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/app.cgi');
      assert.equal(env.PATH_INFO, '/users/42');
      const outside = await request(`${served.url}/other`);
      assert.equal(outside.statusCode, 404);
      await outside.body.text();
    } finally {
      await served.stop();
    }
  });

  test('answers 502 naming the problem when the output is malformed, and logs it', async () => {
    const served = await startServe([fixtures.bad]);
    try {
      const response = await request(`${served.url}/`);
      assert.equal(response.statusCode, 502);
      const text = await response.body.text();
      assert.match(text, /malformed CGI response: header line without a colon: "this is not a header"/);
      assert.match(served.stderr(), /header line without a colon/);
    } finally {
      await served.stop();
    }
  });

  test('answers 502 when the script produces no output', async () => {
    const served = await startServe([fixtures.silent]);
    try {
      const response = await request(`${served.url}/`);
      assert.equal(response.statusCode, 502);
      assert.match(await response.body.text(), /script produced no output/);
    } finally {
      await served.stop();
    }
  });

  test('answers 502 when the script cannot be started', async () => {
    const copy = join(fixtures.dir, 'not-executable.cgi');
    copyFileSync(fixtures.ok, copy);
    chmodSync(copy, 0o644);
    const served = await startServe([copy]);
    try {
      const response = await request(`${served.url}/`);
      assert.equal(response.statusCode, 502);
      assert.match(await response.body.text(), /cannot run .*not-executable\.cgi: .*EACCES/);
    } finally {
      await served.stop();
    }
  });

  test('kills a script that runs past --timeout and answers 504', async () => {
    const served = await startServe([fixtures.slow, '--timeout', '0.5']);
    try {
      const started = Date.now();
      const response = await request(`${served.url}/`);
      assert.equal(response.statusCode, 504);
      assert.match(await response.body.text(), /timed out after 0\.5 s/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await served.stop();
    }
  });

  test('streams: the first chunk arrives before the script finishes', async () => {
    const served = await startServe([fixtures.stream]);
    try {
      const started = Date.now();
      const response = await request(`${served.url}/`);
      const times: number[] = [];
      let text = '';
      for await (const chunk of response.body) {
        times.push(Date.now() - started);
        text += chunk;
      }
      assert.equal(text, 'first\nsecond\n');
      assert.ok(times.length >= 2, `expected two chunks, got ${times.length}`);
      assert.ok((times[0] ?? 0) < 700, `first chunk after ${times[0]} ms`);
      assert.ok((times.at(-1) ?? 0) >= 900, `last chunk after ${times.at(-1)} ms`);
    } finally {
      await served.stop();
    }
  });

  test('serves a local redirect (RFC 3875 6.2.2) by running the script again as a GET', async () => {
    const served = await startServe([fixtures.redirect]);
    try {
      const response = await request(`${served.url}/start?from=client`, { method: 'POST', body: 'x' });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), 'GET /target x=1 200 /start');
      const loop = await request(`${served.url}/loop`);
      assert.equal(loop.statusCode, 502);
      assert.match(await loop.body.text(), /more than 10 local redirects/);
    } finally {
      await served.stop();
    }
  });

  test('answers 404 for a local redirect outside the mount', async () => {
    const served = await startServe([fixtures.redirect, '--mount', '/app']);
    try {
      const response = await request(`${served.url}/app/away`);
      assert.equal(response.statusCode, 404);
      assert.match(await response.body.text(), /local redirect to \/elsewhere/);
    } finally {
      await served.stop();
    }
  });

  test('passes an nph- script output to the client verbatim', async () => {
    const served = await startServe([fixtures.nph]);
    try {
      const response = await request(`${served.url}/`);
      assert.equal(response.statusCode, 299);
      assert.equal(response.headers['x-nph'], 'yes');
      assert.equal(response.headers.date, undefined);
      assert.equal(await response.body.text(), 'raw');
    } finally {
      await served.stop();
    }
  });

  test('kills the script when the client disconnects', async () => {
    const marker = join(fixtures.dir, `finished-${process.pid}`);
    const script = join(fixtures.dir, 'long.cgi');
    writeFileSync(
      script,
      `#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nstarted\\n'\nsleep 2\ntouch '${marker}'\n`,
      {
        mode: 0o755,
      },
    );
    const served = await startServe([script]);
    try {
      const controller = new AbortController();
      const response = await request(`${served.url}/`, { signal: controller.signal });
      for await (const chunk of response.body) {
        assert.match(String(chunk), /started/);
        break;
      }
      controller.abort();
      await new Promise((resolve) => setTimeout(resolve, 2500));
      assert.equal(existsSync(marker), false, 'the script ran to the end');
    } finally {
      await served.stop();
    }
  });

  test('builds a TypeScript entry, serves it, and rebuilds it when it changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-entry-'));
    const entry = join(dir, 'app.ts');
    writeFileSync(entry, source('one'));
    const served = await startServe([entry]);
    try {
      const first = await request(`${served.url}/path`);
      assert.equal(await first.body.text(), 'one /path');
      writeFileSync(entry, source('two'));
      let text = '';
      for (let attempt = 0; attempt < 50 && text !== 'two /path'; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        text = await (await request(`${served.url}/path`)).body.text();
      }
      assert.equal(text, 'two /path');
      assert.match(served.stderr(), /rebuilt app\.ts in \d+ ms/);
      assert.ok(readFileSync(entry, 'utf8').includes('two'));
    } finally {
      await served.stop();
    }
  });

  test('exits 1 with the build error when the entry does not build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-entry-'));
    writeFileSync(join(dir, 'broken.ts'), 'export default = 1;\n');
    const result = await runCli(['serve', join(dir, 'broken.ts'), '--port', '0']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^fetch-cgi: build failed: .*broken\.ts:1:16: /);
  });

  test('serves the example Hono app from its TypeScript source', async () => {
    const served = await startServe([join(root, 'examples/hello/app.ts')]);
    try {
      const response = await request(`${served.url}/users/42`);
      assert.equal(response.statusCode, 200);
      const body = (await response.body.json()) as { id: string; server: string };
      assert.equal(body.id, '42');
      assert.match(body.server, /^fetch-cgi\//);
    } finally {
      await served.stop();
    }
  });
});
