import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { brotliDecompressSync } from 'node:zlib';
import { shebangFor } from '../../src/cli/build.js';
import { LOADER_EVAL, LOADER_WINDOW } from '../../src/cli/code-cache.js';
import { TAIL_MARK } from '../../src/cli/script-tail.js';
import { assertInstalled, testRuntimes } from '../frameworks/runtimes.js';
import { cleanEnv, root, runCli, SERVER_ENV, tempDir } from './helpers.js';

/** Runs a built script as a CGI server would: a minimal environment, nothing else. */
function runCgi(script: string, env: Record<string, string>, input = '') {
  return spawnSync(script, {
    cwd: dirname(script),
    input,
    env: { ...SERVER_ENV, REMOTE_ADDR: '127.0.0.1', QUERY_STRING: '', ...env },
    encoding: 'utf8',
  });
}

/** Whether any folder from `dir` up to the root holds `name`. */
function foundAbove(dir: string, name: string): boolean {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, name))) return true;
    if (dirname(at) === at) return false;
  }
}

describe('fetch-cgi build', () => {
  const outside = tempDir('fetch-cgi-build-');
  // A "type": "module" scope with no node_modules anywhere above it.
  writeFileSync(join(outside, 'package.json'), '{ "type": "module" }\n');
  const bin = join(outside, 'cgi-bin');
  mkdirSync(bin);

  for (const name of ['app.cgi', 'index.fcgi', 'app']) {
    test(`the example app built as ${name} runs under a "type": "module" parent with no node_modules`, async () => {
      const out = join(bin, name);
      const result = await runCli(['build', 'examples/hello/app.ts', '-o', out]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /built .* \(\d+\.\d KiB, default export served by serveCgi\) in \d+ ms/);
      assert.equal(statSync(out).mode & 0o777, 0o755);
      assert.equal(foundAbove(bin, 'node_modules'), false);
      const run = runCgi(out, { PATH_INFO: '/users/42' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^Status: 200 OK\r?\n/);
      assert.match(run.stdout, /\{"id":"42","server":"unknown"\}$/);
    });
  }

  test('defaults the output to <entry name>.cgi in the current folder', async () => {
    const cwd = tempDir('fetch-cgi-build-cwd-');
    const result = await runCli(['build', join(root, 'examples/hello/app.ts')], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(cwd, 'app.cgi')));
    const [shebang = '', loader = ''] = readFileSync(join(cwd, 'app.cgi'), 'utf8').split('\n');
    assert.equal(shebang, `#!/usr/bin/env -S node ${LOADER_EVAL}`);
    // Kernels before 5.1 read 127 bytes of a shebang; the loader must lie where the shebang looks.
    assert.ok(shebang.length <= 127, `a shebang of ${shebang.length} bytes`);
    assert.ok(shebang.length + loader.length + 2 <= LOADER_WINDOW, 'the loader line ends past the window');
  });

  test('keeps the FastCGI and SCGI part in the tail, out of what a CGI request decodes', async () => {
    const out = join(bin, 'tail.cgi');
    assert.equal((await runCli(['build', 'examples/hello/app.ts', '-o', out])).code, 0);
    const file = readFileSync(out);
    const tail = file.lastIndexOf(TAIL_MARK);
    assert.ok(tail > 0, 'no tail');
    assert.doesNotMatch(file.toString('utf8', 0, tail), /FastCgiConnection|ScgiConnection/);
    const packed = file.toString('latin1', tail + TAIL_MARK.length, file.lastIndexOf('\n*/'));
    const part = brotliDecompressSync(Buffer.from(packed, 'base64')).toString();
    assert.match(part, /FastCgiConnection = class/);
    assert.match(part, /ScgiConnection = class/);
  });

  test('bundles an entry that calls serveCgi itself without wrapping it again', async () => {
    const out = join(bin, 'self.cgi');
    const result = await runCli(['build', 'examples/hello/cgi.ts', '-o', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /calls serveCgi itself/);
    const run = runCgi(out, { PATH_INFO: '/' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Hello from fetch-cgi/);
  });

  test('--node writes that interpreter into the shebang and --minify shrinks the bundle', async () => {
    const out = join(bin, 'minified.cgi');
    const plain = await runCli(['build', 'examples/hello/app.ts', '-o', join(bin, 'plain.cgi')]);
    const result = await runCli(['build', 'examples/hello/app.ts', '-o', out, '--minify', '--node', process.execPath]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(plain.code, 0, plain.stderr);
    const text = readFileSync(out, 'utf8');
    assert.ok(text.startsWith(`#!${process.execPath} --eval=`));
    assert.ok(text.length < readFileSync(join(bin, 'plain.cgi'), 'utf8').length);
    assert.equal(runCgi(out, { PATH_INFO: '/users/1' }).status, 0);
  });

  test('--sourcemap makes stack traces point at the TypeScript source', async () => {
    const dir = tempDir('fetch-cgi-build-map-');
    const entry = join(dir, 'thrower.ts');
    writeFileSync(
      entry,
      [
        'type Handler = (request: Request) => Response;',
        'function explode(): never {',
        "  throw new Error('boom at load');",
        '}',
        'if (process.env.EXPLODE) explode();',
        "const handler: Handler = () => new Response('fine');",
        'export default handler;',
        '',
      ].join('\n'),
    );
    const out = join(bin, 'thrower.cgi');
    const result = await runCli(['build', entry, '-o', out, '--sourcemap']);
    assert.equal(result.code, 0, result.stderr);
    const run = runCgi(out, { EXPLODE: '1' });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /thrower\.ts:3:\d+/);
    assert.match(runCgi(out, {}).stdout, /fine$/);
  });

  test('imports of import.meta.url see the bundle file URL', async () => {
    const dir = tempDir('fetch-cgi-build-meta-');
    const entry = join(dir, 'meta.ts');
    writeFileSync(entry, 'export default () => new Response(import.meta.url);\n');
    const out = join(bin, 'meta.cgi');
    assert.equal((await runCli(['build', entry, '-o', out])).code, 0);
    assert.match(runCgi(out, {}).stdout, new RegExp(`file://${out.replaceAll('.', '\\.')}$`));
  });

  const errors: [string, string, RegExp][] = [
    ['a missing entry', 'missing.ts', /^fetch-cgi: entry not found: .*missing\.ts\n$/],
    [
      'a syntax error, with file:line:column',
      'syntax.ts',
      /^fetch-cgi: build failed: .*syntax\.ts:2:11: Unexpected ";"\n$/,
    ],
    [
      'an unresolvable import',
      'unresolved.ts',
      /^fetch-cgi: build failed: .*unresolved\.ts:1:\d+: Could not resolve "no-such-package"\n$/,
    ],
    [
      'an entry with no default export that never calls serveCgi',
      'library.ts',
      /has no default export and never calls serveCgi/,
    ],
  ];
  const broken = tempDir('fetch-cgi-build-errors-');
  writeFileSync(join(broken, 'syntax.ts'), 'export default 1;\nconst a = ;\n');
  writeFileSync(join(broken, 'unresolved.ts'), "import x from 'no-such-package';\nexport default x;\n");
  // Imports serveCgi but never calls it: still not servable.
  writeFileSync(
    join(broken, 'library.ts'),
    "import { serveCgi } from 'fetch-cgi';\nexport const x = 1;\nvoid serveCgi;\n",
  );
  for (const [what, file, message] of errors) {
    test(`fails with exit 1 and one line for ${what}`, async () => {
      const result = await runCli(['build', join(broken, file), '-o', join(broken, 'out.cgi')]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, message);
      assert.equal(existsSync(join(broken, 'out.cgi')), false);
    });
  }

  test('a default export that is not an app fails at run time with a clear message', async () => {
    const entry = join(broken, 'number.ts');
    writeFileSync(entry, 'export default 42;\n');
    const out = join(bin, 'number.cgi');
    assert.equal((await runCli(['build', entry, '-o', out])).code, 0);
    const run = runCgi(out, {});
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /the default export of number\.ts is not an app/);
  });

  for (const runtime of testRuntimes.filter((one) => one.runtime !== 'node')) {
    test(`--runtime ${runtime.runtime} writes its shebang and a script that runs on it under a "type": "module" parent`, async () => {
      assertInstalled(runtime);
      const out = join(bin, `${runtime.runtime}.cgi`);
      const result = await runCli([
        'build',
        'examples/hello/app.ts',
        '-o',
        out,
        '--runtime',
        runtime.runtime,
        '--node',
        runtime.binary,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`default export served by serveCgi, for ${runtime.runtime}\\)`));
      assert.equal(
        readFileSync(out, 'utf8').split('\n')[0],
        shebangFor({ runtime: runtime.runtime, node: runtime.binary }),
      );
      const run = runCgi(out, { PATH_INFO: '/users/42' });
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /\{"id":"42","server":"unknown"\}$/);
    });
  }

  test('--runtime picks the shebang: env looks the runtime up on PATH unless --node names it', () => {
    assert.equal(shebangFor({ runtime: 'bun' }), '#!/usr/bin/env bun');
    assert.equal(shebangFor({ runtime: 'bun', node: '/opt/bun' }), '#!/opt/bun');
    assert.equal(
      shebangFor({ runtime: 'deno' }),
      '#!/usr/bin/env -S deno run --allow-all --no-config --no-lock --quiet --ext=js',
    );
    assert.equal(
      shebangFor({ runtime: 'deno', node: '/opt/deno' }),
      '#!/usr/bin/env -S /opt/deno run --allow-all --no-config --no-lock --quiet --ext=js',
    );
  });

  test('applies the tsconfig.json above the entry, so JSX with jsxImportSource builds', async () => {
    const dir = tempDir('fetch-cgi-build-jsx-');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      '{ "compilerOptions": { "jsx": "react-jsx", "jsxImportSource": "hono/jsx" } }\n',
    );
    writeFileSync(
      join(dir, 'app.tsx'),
      "import { Hono } from 'hono';\nexport default new Hono().get('/', (c) => c.html(<p>jsx</p>));\n",
    );
    // So that hono resolves from the temporary folder.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const out = join(dir, 'jsx.cgi');
    const result = await runCli(['build', join(dir, 'app.tsx'), '-o', out]);
    assert.equal(result.code, 0, result.stderr);
    const run = runCgi(out, { PATH_INFO: '/' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /<p>jsx<\/p>$/);
  });

  test('rejects an unknown --runtime as a usage error', async () => {
    const other = await runCli(['build', 'examples/hello/app.ts', '--runtime', 'java']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--runtime must be one of node, bun, deno/);
  });

  test('cleanEnv keeps the tests away from NODE_OPTIONS', () => {
    assert.equal(cleanEnv().NODE_OPTIONS, undefined);
  });
});

describe('fetch-cgi build --standalone', () => {
  const dir = tempDir('fetch-cgi-standalone-');

  test('writes one executable that runs with no runtime on PATH, its own path as __filename and import.meta.url', async () => {
    const entry = join(dir, 'paths.ts');
    writeFileSync(
      entry,
      'export default () => Response.json({ file: __filename, dir: __dirname, url: import.meta.url, env: process.env.FROM_DOTENV ?? null });\n',
    );
    const built = join(dir, 'built.cgi');
    const result = await runCli(['build', '--standalone', entry, '-o', built]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /built .* \(\d+\.\d MiB, default export served by serveCgi, standalone for linux-x64\) in \d+ ms/,
    );
    assert.deepEqual(readdirSync(dir).toSorted(), ['built.cgi', 'paths.ts'], 'no temporary files left');
    // Moved elsewhere, beside a .env file, with a PATH that holds nothing.
    const moved = join(tempDir('fetch-cgi-standalone-moved-'), 'app.cgi');
    renameSync(built, moved);
    writeFileSync(join(dirname(moved), '.env'), 'FROM_DOTENV=read\n');
    const run = runCgi(moved, { PATH: '/nonexistent', PATH_INFO: '/' });
    assert.equal(run.status, 0, run.stderr);
    const body = JSON.parse(run.stdout.slice(run.stdout.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(body, { file: moved, dir: dirname(moved), url: `file://${moved}`, env: null });
  });

  const refusals: [string, string[], number, RegExp][] = [
    ['--runtime', ['--runtime', 'bun'], 2, /--standalone carries its own runtime: drop --runtime/],
    ['--node and --sourcemap', ['--node', '/usr/bin/node', '--sourcemap'], 2, /drop --node, --sourcemap/],
    [
      'an unknown --target',
      ['--target', 'linux-sparc'],
      1,
      /--target must be one of linux-x64, linux-x64-baseline, linux-arm64/,
    ],
    // This repository installs Bun for linux-x64 only.
    [
      'a --target whose Bun is not installed',
      ['--target', 'linux-arm64'],
      1,
      /npm install --save-dev --force @oven\/bun-linux-aarch64/,
    ],
  ];
  for (const [what, args, code, message] of refusals) {
    test(`refuses ${what} with one line naming the fix`, async () => {
      const out = join(dir, 'refused.cgi');
      const result = await runCli(['build', '--standalone', ...args, 'examples/hello/app.ts', '-o', out]);
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.equal(existsSync(out), false);
    });
  }

  test('--target linux-arm64, with Bun for arm64 installed as the docs say, builds a program that runs on arm64', async () => {
    // An empty project, as a user's: npm installs another platform's package only with --force.
    const project = tempDir('fetch-cgi-standalone-arm64-');
    writeFileSync(join(project, 'package.json'), '{ "name": "site", "private": true }\n');
    const version = JSON.parse(
      readFileSync(join(root, 'node_modules/@oven/bun-linux-x64/package.json'), 'utf8'),
    ).version;
    const install = spawnSync(
      'npm',
      [
        'install',
        '--save-dev',
        '--force',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `@oven/bun-linux-aarch64@${version}`,
      ],
      { cwd: project, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    assert.equal(install.status, 0, install.stderr);
    const out = join(project, 'app.cgi');
    const result = await runCli(
      ['build', '--standalone', '--target', 'linux-arm64', join(root, 'examples/hello/app.ts'), '-o', out],
      { cwd: project },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /standalone for linux-arm64/);
    // ELF, 64-bit, e_machine 183: AArch64.
    const elf = readFileSync(out).subarray(0, 20);
    assert.deepEqual([elf[0], elf[1], elf[2], elf[3], elf[4], elf.readUInt16LE(18)], [0x7f, 0x45, 0x4c, 0x46, 2, 183]);
    // qemu-user and arm64's C library: scripts/install-servers.sh installs them.
    const run = spawnSync('/usr/bin/qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', out], {
      cwd: project,
      encoding: 'utf8',
      env: { ...SERVER_ENV, REMOTE_ADDR: '127.0.0.1', QUERY_STRING: '', PATH_INFO: '/users/7' },
    });
    assert.equal(run.status, 0, run.stderr || String(run.error));
    assert.match(run.stdout, /^Status: 200 OK\r\n/);
    assert.match(run.stdout, /\{"id":"7","server":"unknown"\}$/);
  });

  test('--target without --standalone is a usage error', async () => {
    const result = await runCli(['build', 'examples/hello/app.ts', '--target', 'linux-arm64']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--target applies to --standalone builds only/);
  });
});
