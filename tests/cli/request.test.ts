import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFixtures } from './fixtures.js';
import { runCli } from './helpers.js';

const fixtures = writeFixtures();

describe('fetch-cgi request', () => {
  test('prints the response like curl -i and exits 0', async () => {
    const result = await runCli(['request', fixtures.ok, '/a%20b?q=1']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout.toString(),
      'HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\nGET /a b q=1 body=',
    );
    assert.match(result.stderr, /ok\.cgi says hello on stderr/);
  });

  test('sends -d data as a form POST with -H headers', async () => {
    const result = await runCli(['request', fixtures.env, '-d', 'x=1&y=2', '-H', 'X-Foo: bar', '/submit']);
    assert.equal(result.code, 0, result.stderr);
    const body = result.stdout.toString().split('\r\n\r\n')[1] ?? '';
    const env = JSON.parse(body) as Record<string, string>;
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.CONTENT_LENGTH, '7');
    assert.equal(env.CONTENT_TYPE, 'application/x-www-form-urlencoded');
    assert.equal(env.HTTP_X_FOO, 'bar');
    assert.equal(env.HTTP_HOST, 'localhost');
    assert.equal(env.PATH_INFO, '/submit');
  });

  test('reads --data-binary @file, takes -X, and prints only the body with --no-include', async () => {
    const file = join(fixtures.dir, 'payload.bin');
    writeFileSync(file, Buffer.from([0, 1, 2, 255]));
    const result = await runCli([
      'request',
      fixtures.ok,
      '-X',
      'put',
      '--data-binary',
      `@${file}`,
      '--no-include',
      '/bin',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout, Buffer.concat([Buffer.from('PUT /bin  body='), Buffer.from([0, 1, 2, 255])]));
  });

  test('reads -d @- from stdin', async () => {
    const result = await runCli(['request', fixtures.ok, '-d', '@-', '--no-include', '/'], { input: 'from stdin' });
    assert.equal(result.stdout.toString(), 'POST /  body=from stdin');
  });

  test('follows a local redirect as a server would', async () => {
    const result = await runCli(['request', fixtures.redirect, '--no-include', '/start']);
    assert.equal(result.stdout.toString(), 'GET /target x=1 200 /start');
  });

  test('mounts the script at --mount', async () => {
    const result = await runCli([
      'request',
      fixtures.env,
      '--mount',
      '/cgi-bin/app.cgi',
      '--no-include',
      '/cgi-bin/app.cgi/x',
    ]);
    const env = JSON.parse(result.stdout.toString()) as Record<string, string>;
    assert.equal(env.SCRIPT_NAME, '/cgi-bin/app.cgi');
    assert.equal(env.PATH_INFO, '/x');
  });

  test('builds and runs a TypeScript entry', async () => {
    const result = await runCli(['request', 'examples/hello/app.ts', '/users/7']);
    assert.equal(result.code, 0, result.stderr);
    const output = result.stdout.toString();
    const match =
      /^HTTP\/1\.1 200 OK\r\ncontent-length: (\d+)\r\ncontent-type: application\/json\r\n\r\n(\{"id":"7","server":"fetch-cgi\/[^"]+"\})$/.exec(
        output,
      );
    assert.ok(match, output);
    assert.equal(Number(match[1]), Buffer.byteLength(match[2] ?? ''));
  });

  const failures: [string, string[], number, RegExp][] = [
    [
      'a malformed response exits 3 with the reason',
      [fixtures.bad, '/'],
      3,
      /^fetch-cgi: malformed CGI response: header line without a colon: "this is not a header"\n$/,
    ],
    ['no output exits 3', [fixtures.silent, '/'], 3, /script produced no output/],
    ['a timeout exits 1', ['--timeout', '0.3', fixtures.slow, '/'], 1, /^fetch-cgi: script timed out after 0\.3 s\n$/],
    [
      'a missing script exits 1',
      [join(fixtures.dir, 'nope.cgi'), '/'],
      1,
      /^fetch-cgi: script not found: .*nope\.cgi\n$/,
    ],
    ['a path without a leading slash is a usage error', [fixtures.ok, 'x'], 2, /the request path must start with \//],
    ['a missing path is a usage error', [fixtures.ok], 2, /request needs a script or entry file and a path/],
    ['a bad -H is a usage error', [fixtures.ok, '-H', 'nocolon', '/'], 2, /-H needs 'Name: value'/],
  ];
  for (const [title, args, code, message] of failures) {
    test(title, async () => {
      const result = await runCli(['request', ...args]);
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout.length, 0);
    });
  }
});
