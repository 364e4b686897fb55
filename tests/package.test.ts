/**
 * The package as users get it: `npm pack`, checked by publint and @arethetypeswrong/cli, then
 * installed from the tarball into an empty project (with hono, from npm's cache when it has
 * it) where an app importing `fetch-cgi` and `fetch-cgi/hono` is built with the package's own
 * `fetch-cgi build` and run as a CGI script; CommonJS code `require`s it too.
 */
import assert from 'node:assert/strict';
import { execFile as execFileCallback, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFile = promisify(execFileCallback);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'fetch-cgi-package-'));
const project = join(work, 'project');
let tarball = '';

/** npm talks to the registry, so it keeps the CA settings; it never needs NODE_OPTIONS. */
const npmEnv = { ...process.env, NODE_OPTIONS: '', npm_config_update_notifier: 'false' };

async function run(command: string, args: string[], cwd: string) {
  try {
    return await execFile(command, args, { cwd, env: npmEnv, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
  }
}

/**
 * Runs the project's app (built to `program`) as a server would for GET /hi/<name>, and checks
 * its answer. On Node the bridge holds the JSON body whole and sends its length; Bun's own
 * Response gives it as a stream of unknown length.
 */
function assertGreets(program: string, name: string, env: Record<string, string>, length = true): void {
  const run = spawnSync(program, {
    cwd: dirname(program),
    encoding: 'utf8',
    env: {
      ...env,
      GATEWAY_INTERFACE: 'CGI/1.1',
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/cgi-bin/app.cgi',
      PATH_INFO: `/hi/${name}`,
      SERVER_NAME: 'localhost',
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '192.0.2.7',
    },
  });
  assert.equal(run.status, 0, run.stderr);
  const body = `{"name":"${name}","ip":"192.0.2.7","base":"/cgi-bin/app.cgi"}`;
  assert.equal(
    run.stdout,
    `Status: 200 OK\r\nContent-Type: application/json\r\n${length ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`,
  );
}

describe('the packed package', () => {
  before(async () => {
    await run('npm', ['pack', '--silent', '--pack-destination', work], root);
    const name = readdirSync(work).find((file) => file.endsWith('.tgz'));
    assert.ok(name, 'npm pack wrote no tarball');
    tarball = join(work, name);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test('publint finds nothing to complain about', async () => {
    const { stdout } = await run(join(root, 'node_modules/.bin/publint'), ['run', '--strict', tarball], work);
    assert.match(stdout, /All good!/);
  });

  test('are the types wrong finds no problem for ESM, bundler or require(esm) consumers on node16 resolution', async () => {
    // CommonJS consumers load the ES module with require(), which Node >= 20.19 does natively;
    // node10 resolution (no exports map) cannot see the fetch-cgi/hono subpath.
    await run(
      join(root, 'node_modules/.bin/attw'),
      [tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm'],
      work,
    );
  });

  test('installs from the tarball into an empty project and builds a working CGI script there', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{ "name": "site", "private": true, "type": "module" }\n');
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'hono'],
      project,
    );
    writeFileSync(
      join(project, 'app.ts'),
      [
        "import { Hono } from 'hono';",
        "import { getConnInfo, type CgiBindings } from 'fetch-cgi/hono';",
        'const app = new Hono<{ Bindings: CgiBindings }>();',
        "app.get('/hi/:name', (c) => c.json({ name: c.req.param('name'), ip: getConnInfo(c).remote.address, base: c.env.FETCH_CGI_BASE }));",
        'export default app;',
        '',
      ].join('\n'),
    );
    await run('npx', ['--no-install', 'fetch-cgi', 'build', 'app.ts', '-o', 'cgi-bin/app.cgi'], project);
    assertGreets(join(project, 'cgi-bin/app.cgi'), 'ada', { PATH: '/usr/local/bin:/usr/bin:/bin' });
  });

  test('--standalone there names the package to install, then builds a program that runs with no PATH', async () => {
    const build = () =>
      run('npx', ['--no-install', 'fetch-cgi', 'build', '--standalone', 'app.ts', '-o', 'standalone.cgi'], project);
    await assert.rejects(
      build(),
      /Bun, which is not installed here: run npm install --save-dev @oven\/bun-linux-x64\n/,
    );
    const bun = JSON.parse(readFileSync(join(root, 'node_modules/@oven/bun-linux-x64/package.json'), 'utf8')).version;
    await run(
      'npm',
      [
        'install',
        '--save-dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `@oven/bun-linux-x64@${bun}`,
      ],
      project,
    );
    await build();
    // No PATH at all: the program needs nothing from the host.
    assertGreets(join(project, 'standalone.cgi'), 'bo', {}, false);
  });

  test('CommonJS code in that project can require the package and its hono subpath', async () => {
    writeFileSync(
      join(project, 'check.cjs'),
      "const { serveCgi } = require('fetch-cgi'); const { getConnInfo } = require('fetch-cgi/hono');\n" +
        'process.stdout.write(typeof serveCgi + " " + typeof getConnInfo);\n',
    );
    const { stdout } = await run(process.execPath, ['--no-warnings', 'check.cjs'], project);
    assert.equal(stdout, 'function function');
  });
});
