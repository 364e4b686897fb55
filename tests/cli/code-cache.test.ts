import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, SERVER_ENV, tempDir } from './helpers.js';
import { CACHE_GENERATIONS } from '../../src/cli/code-cache.js';

/**
 * The V8 code cache of a built Node script, observed from outside: the files it leaves in
 * $TMPDIR/fetch-cgi-cache-UID and what the script answers. A cache that is read is left as it
 * is; one the loader refuses (not ours, foreign-writable, another build, rejected by V8) is
 * written again after the response.
 */

const uid = process.getuid?.() ?? 0;

/** Runs a built script as a CGI server would, with its own temp folder. */
function runCgi(script: string, tmp: string, env: Record<string, string> = {}) {
  return spawnSync(script, {
    cwd: dirname(script),
    env: { ...SERVER_ENV, PATH_INFO: '/', TMPDIR: tmp, ...env },
    encoding: 'utf8',
  });
}

/** Builds an app answering `text` (its source padded to a fixed length) into `out`. */
async function buildApp(dir: string, out: string, text: string): Promise<void> {
  const entry = join(dir, 'app.ts');
  writeFileSync(entry, `export default () => new Response(${JSON.stringify(text)});\n`);
  const result = await runCli(['build', entry, '-o', out]);
  assert.equal(result.code, 0, result.stderr);
}

function cacheFiles(tmp: string): string[] {
  const dir = join(tmp, `fetch-cgi-cache-${uid}`);
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

/** The one cache file of a fresh temp folder, after the script ran once. */
function onlyCacheFile(tmp: string): string {
  const files = cacheFiles(tmp);
  assert.equal(files.length, 1, `cache files: ${files.join(', ')}`);
  return files[0] as string;
}

describe('the code cache of a built Node script', { concurrency: true }, () => {
  test('is made on the first run in a private folder, grown by the next few, then only read', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const script = join(dir, 'app.cgi');
    await buildApp(dir, script, 'first build');
    const first = runCgi(script, tmp);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /first build$/);
    const file = onlyCacheFile(tmp);
    assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const header = () => readFileSync(file, 'latin1').split('\n')[0] ?? '';
    const id = `[0-9a-f]{16} ${statSync(script).size} \\d+ ${process.version} ${process.arch}`;
    assert.match(header(), new RegExp(`^${id} 1$`));
    for (let generation = 2; generation <= CACHE_GENERATIONS; generation++) {
      const run = runCgi(script, tmp);
      assert.equal(run.stdout, first.stdout);
      assert.equal(run.stderr, '');
      assert.match(header(), new RegExp(`^${id} ${generation}$`), 'each of the first few requests writes it again');
    }
    const written = readFileSync(file);
    const stamp = statSync(file).mtimeMs;
    const later = runCgi(script, tmp);
    assert.equal(later.stdout, first.stdout);
    assert.equal(statSync(file).mtimeMs, stamp, 'then a cache that was read is not written again');
    assert.deepEqual(readFileSync(file), written);
  });

  test('a first run that was no request (a try from the shell) leaves a cache the next requests grow', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const script = join(dir, 'app.cgi');
    await buildApp(dir, script, 'tried by hand');
    const byHand = spawnSync(script, { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp } });
    assert.equal(byHand.status, 2, 'not under CGI');
    const file = onlyCacheFile(tmp);
    const poor = statSync(file).size;
    for (let run = 1; run < CACHE_GENERATIONS; run++) assert.match(runCgi(script, tmp).stdout, /tried by hand$/);
    // The request's functions (the bridge's whole path) are in it now, next to the usage message's.
    assert.ok(statSync(file).size > poor * 1.5, `cache of ${statSync(file).size} bytes after ${poor}`);
  });

  test('keeps one file per script: a rebuild replaces it and never runs the old code', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const script = join(dir, 'app.cgi');
    // Same length on purpose: V8 itself checks little more than the source's length.
    await buildApp(dir, script, 'build AAAA');
    assert.match(runCgi(script, tmp).stdout, /build AAAA$/);
    const before = readFileSync(onlyCacheFile(tmp), 'latin1').split('\n')[0];
    await buildApp(dir, script, 'build BBBB');
    const run = runCgi(script, tmp);
    assert.match(run.stdout, /build BBBB$/);
    assert.equal(run.stderr, '');
    assert.notEqual(readFileSync(onlyCacheFile(tmp), 'latin1').split('\n')[0], before);
    assert.match(runCgi(script, tmp).stdout, /build BBBB$/);
  });

  test('ignores a cache file others could have written, or that V8 rejects, and writes a good one', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const script = join(dir, 'app.cgi');
    await buildApp(dir, script, 'guarded');
    const first = runCgi(script, tmp).stdout;
    const file = onlyCacheFile(tmp);
    const good = readFileSync(file);

    chmodSync(file, 0o666);
    assert.equal(runCgi(script, tmp).stdout, first);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'a world-writable cache file is replaced');

    // The right header over data V8 cannot use: the script still answers, and the file is mended.
    const header = good.subarray(0, good.indexOf(10) + 1);
    const garbage = Buffer.concat([header, Buffer.alloc(4096, 0x5a)]);
    writeFileSync(file, garbage, { mode: 0o600 });
    const run = runCgi(script, tmp);
    assert.equal(run.stdout, first);
    assert.equal(run.stderr, '');
    assert.notDeepEqual(readFileSync(file), garbage);
  });

  // Runs as root, as the whole suite does (it installs the web servers), so that it can chown.
  test('writes nothing into a cache folder owned by another user', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const script = join(dir, 'app.cgi');
    await buildApp(dir, script, 'not theirs');
    const folder = join(tmp, `fetch-cgi-cache-${uid}`);
    runCgi(script, tmp, { FETCH_CGI_CODE_CACHE: '0' });
    assert.equal(existsSync(folder), false, 'FETCH_CGI_CODE_CACHE=0 creates nothing');
    // Someone else made the folder first (in a shared /tmp): its files must not be trusted or fed.
    mkdirSync(folder, { mode: 0o700 });
    chownSync(folder, 65534, 65534);
    const run = runCgi(script, tmp);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /not theirs$/);
    assert.deepEqual(readdirSync(folder), []);
  });

  test('serves without a usable temp folder', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const script = join(dir, 'app.cgi');
    await buildApp(dir, script, 'no cache');
    const run = runCgi(script, join(dir, 'missing', 'folder'));
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /no cache$/);
    assert.equal(run.stderr, '');
  });

  test('keeps line numbers: a stack trace points at the line of the bundle that threw', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const entry = join(dir, 'thrower.ts');
    writeFileSync(entry, "export default () => {\n  throw new Error('thrown on purpose');\n};\n");
    const script = join(dir, 'app.cgi');
    const built = await runCli(['build', entry, '-o', script]);
    assert.equal(built.code, 0, built.stderr);
    for (const attempt of ['without a cache', 'with the cache']) {
      const run = runCgi(script, tmp);
      assert.match(run.stdout, /^Status: 500/, attempt);
      const at = new RegExp(`${script.replaceAll('/', '\\/')}:(\\d+):\\d+`).exec(run.stderr);
      assert.ok(at, `${attempt}: no script location in ${run.stderr}`);
      const line = readFileSync(script, 'utf8').split('\n')[Number(at[1]) - 1] ?? '';
      assert.match(line, /throw new Error\("thrown on purpose"\)/, attempt);
    }
  });

  test('runs the same as a module (node app.cgi, require()): the app once, its require() from its own folder', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const elsewhere = tempDir('fetch-cgi-cache-cwd-');
    writeFileSync(join(dir, 'data.cjs'), "module.exports = 'beside the script';\n");
    writeFileSync(
      join(dir, 'app.ts'),
      [
        'declare const require: (id: string) => string;',
        "const name = './data.cjs';",
        "process.stderr.write('app loaded\\n');",
        'export default () => new Response(`${require(name)} ${__filename} ${__dirname}`);',
        '',
      ].join('\n'),
    );
    const script = join(dir, 'app.cgi');
    assert.equal((await runCli(['build', join(dir, 'app.ts'), '-o', script])).code, 0);
    const ways: [string, string[]][] = [
      ['its shebang', [script]],
      ['node app.cgi', [process.execPath, script]],
      ['require()', [process.execPath, '-e', `require(${JSON.stringify(script)})`]],
    ];
    for (const [way, [command, ...args]] of ways) {
      for (const attempt of ['first', 'second']) {
        const run = spawnSync(command as string, args, {
          cwd: elsewhere,
          env: { ...SERVER_ENV, PATH_INFO: '/', TMPDIR: tmp },
          encoding: 'utf8',
        });
        assert.equal(run.status, 0, `${way}, ${attempt}: ${run.stderr}`);
        assert.equal(run.stderr, 'app loaded\n', `${way}, ${attempt}: the app ran once`);
        assert.match(run.stdout, new RegExp(`\\r?\\n\\r?\\nbeside the script ${script} ${dir}$`), `${way}, ${attempt}`);
      }
    }
  });

  test('says once per build that NODE_EXTRA_CA_CERTS or NODE_OPTIONS slow every start', async () => {
    const dir = tempDir('fetch-cgi-cache-test-');
    const tmp = tempDir('fetch-cgi-cache-tmp-');
    const script = join(dir, 'app.cgi');
    await buildApp(dir, script, 'warned');
    const slow = {
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
      NODE_OPTIONS: '--max-old-space-size=256',
    };
    const first = runCgi(script, tmp, slow);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^Status: 200 OK\r\n[^]*warned$/);
    const lines = first.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, first.stderr);
    assert.match(
      lines[0] ?? '',
      /^fetch-cgi: NODE_EXTRA_CA_CERTS="\/etc\/ssl\/certs\/ca-certificates.crt" is set .* 40 ms/,
    );
    assert.match(lines[1] ?? '', /^fetch-cgi: NODE_OPTIONS="--max-old-space-size=256" is set .* 1 ms/);
    const second = runCgi(script, tmp, slow);
    assert.equal(second.stderr, '', 'said once per build, not on every request');
    assert.equal(runCgi(join(dir, 'app.cgi'), tempDir('fetch-cgi-cache-tmp-')).stderr, '', 'silent without them');
  });
});
