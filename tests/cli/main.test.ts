import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { root, runCli } from './helpers.js';

/** stderr of an unknown command, with stderr posing as a terminal. */
async function run(env: Record<string, string>): Promise<string> {
  const stderr = Object.assign(new PassThrough(), { isTTY: true });
  let err = '';
  stderr.on('data', (chunk: Buffer) => (err += chunk));
  await main({ args: ['nope'], stdin: new PassThrough(), stdout: new PassThrough(), stderr, env });
  return err;
}

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

describe('fetch-cgi', () => {
  test('prints the version with --version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.toString(), `${version}\n`);
  });

  for (const args of [[], ['--help'], ['build', '--help'], ['serve', '--help'], ['request', '-h']]) {
    test(`prints help for ${args.join(' ') || 'no arguments'} and exits 0`, async () => {
      const result = await runCli(args);
      assert.equal(result.code, 0);
      assert.match(result.stdout.toString(), /^Usage: fetch-cgi/);
      assert.equal(result.stderr, '');
    });
  }

  const usage: [string[], RegExp][] = [
    [['frobnicate'], /^fetch-cgi: unknown command "frobnicate" \(see fetch-cgi --help\)\n$/],
    [['--frob'], /^fetch-cgi: unknown option --frob/],
    [['build', 'app.ts', '--frob'], /^fetch-cgi: unknown option --frob for build/],
    [['build'], /build needs exactly one entry file/],
    [['build', 'app.ts', '-o'], /^fetch-cgi: build: Option '-o, --out <value>' argument missing/],
    [['serve', 'x.cgi', '--port', 'abc'], /--port must be a whole number from 0 to 65535, got "abc"/],
    [['serve', 'x.cgi', '--timeout=-1'], /--timeout must be a number of seconds/],
    [['serve', 'x.cgi', '--timeout', '-1'], /^fetch-cgi: serve: Option '--timeout' argument is ambiguous \(see/],
    [['serve', 'x.cgi', '--mount', 'app'], /--mount must start with \//],
  ];
  for (const [args, message] of usage) {
    test(`exits 2 with one line for: ${args.join(' ')}`, async () => {
      const result = await runCli(args);
      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.split('\n').length, 2, 'one line');
    });
  }

  test('runs in-process with injected streams and no colours when stderr is not a TTY', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (chunk: Buffer) => (err += chunk));
    const code = await main({ args: ['nope'], stdin: new PassThrough(), stdout, stderr, env: {} });
    assert.equal(code, 2);
    assert.equal(err, 'fetch-cgi: unknown command "nope" (see fetch-cgi --help)\n');
  });

  test('colours the error prefix on a TTY unless NO_COLOR is set', async () => {
    assert.ok((await run({})).startsWith('\u001b[31mfetch-cgi:\u001b[0m unknown command'));
    assert.match(await run({ NO_COLOR: '1' }), /^fetch-cgi: unknown command/);
  });

  test('stops serve cleanly with exit 0 on SIGINT', async () => {
    const { spawn } = await import('node:child_process');
    const { cleanEnv } = await import('./helpers.js');
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(root, 'src/cli/main.ts'),
        'serve',
        join(root, 'examples/hello/app.ts'),
        '--port',
        '0',
      ],
      { env: cleanEnv() },
    );
    let err = '';
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (chunk: Buffer) => (err += chunk) && /serving/.test(err) && resolve()),
    );
    assert.match(err, /^fetch-cgi serving .*app\.ts at http:\/\/127\.0\.0\.1:\d+\/$/m);
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  });
});
