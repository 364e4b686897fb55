import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { benchDir, repoDir, workDir } from './paths.js';
import { writePagesApp } from './apps/hono-pages/generate.js';

/** Every executable the benchmark measures, by role; all absolute paths. */
export interface Built {
  honoHello: string;
  honoJson: string;
  hono500: string;
  hono500Quick: string;
  hono1000: string;
  /** Issue 17's app whose code grows with its pages (bench/apps/hono-pages/). */
  honoPages: string;
  honoPagesForBun: string;
  /** `fetch-cgi build --standalone` of the hello, 500-pages and 500-routes apps (issue 17). */
  honoHelloStandalone: string;
  honoPagesStandalone: string;
  hono500Standalone: string;
  streamOut: string;
  streamIn: string;
  /** Hono hello built with `--runtime bun`, with a `.cjs` name, for `bun <file>`. */
  honoHelloForBun: string;
  naiveHelloCjs: string;
  naiveJsonCjs: string;
  naive500Cjs: string;
  naiveHelloEsm: string;
  naiveHelloTs: string;
  naiveHelloForBun: string;
  tsx: string;
  c: string;
  go: string;
  nodeHandwritten: string;
  pythonHandwritten: string;
  wsgiref: string;
  plack: string;
  cgiPm: string;
  php: string;
  streamOutPlain: string;
  streamInPlain: string;
  /** bench/timer.c, the round-robin start-up timer. */
  timer: string;
  /** The persistent-mode peers: the same Hono apps on @hono/node-server, bundled. */
  /** A route with a fixed amount of CPU work, for the workers rows. */
  cpuBound: string;
  nodeServerHello: string;
  nodeServer500: string;
  /** node-fastcgi with a plain handler, bundled. */
  nodeFastcgi: string;
  goFcgi: string;
  phpFpmHello: string;
  minimalFastcgi: string;
}

/** What the persistent-mode bench runs. */
export type PersistentApps = Pick<
  Built,
  | 'honoHello'
  | 'hono500'
  | 'cpuBound'
  | 'streamOut'
  | 'streamIn'
  | 'nodeServerHello'
  | 'nodeServer500'
  | 'nodeFastcgi'
  | 'goFcgi'
  | 'phpFpmHello'
  | 'minimalFastcgi'
>;

/** `app` (a module whose default export is a Hono app) on @hono/node-server, as one CommonJS file. */
async function bundleNodeServer(app: string, outfile: string): Promise<void> {
  await build({
    stdin: {
      contents: [
        "import { serve } from '@hono/node-server';",
        `import app from ${JSON.stringify(app)};`,
        "serve({ fetch: app.fetch, hostname: '127.0.0.1', port: Number(process.env.PORT) });",
      ].join('\n'),
      resolveDir: repoDir,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    jsx: 'automatic',
    jsxImportSource: 'hono/jsx',
    logLevel: 'error',
  });
}

const apps = join(benchDir, 'apps');
const peers = join(benchDir, 'peers');

/** Runs `fetch-cgi build` from the checkout's sources, so it measures whatever src/ is now. */
export function fetchCgiBuild(entry: string, outfile: string, options: string[] = []): void {
  execFileSync(
    process.execPath,
    ['--import', 'tsx', join(repoDir, 'src/cli/main.ts'), 'build', entry, '-o', outfile, ...options],
    {
      cwd: repoDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** The naive bridge as one esbuild bundle: CommonJS with everything inside, or ESM importing hono from node_modules. */
export async function bundleNaive(entry: string, outfile: string, format: 'cjs' | 'esm'): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    logLevel: 'error',
    ...(format === 'esm' ? { packages: 'external' as const } : { banner: { js: '#!/usr/bin/env node' } }),
  });
  chmodSync(outfile, 0o755);
}

function copyExecutable(from: string, to: string): string {
  copyFileSync(from, to);
  chmodSync(to, 0o755);
  return to;
}

/** Builds every variant into bench/.tmp/ (emptied first) and returns their paths. */
export async function prepare(): Promise<Built> {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  // Node refuses `.cgi` files under a "type": "module" package.json (the repository's); in a
  // CommonJS scope it runs them, as it would in a web server's cgi-bin.
  writeFileSync(join(workDir, 'package.json'), '{ "type": "commonjs" }\n');
  const at = (name: string) => join(workDir, name);

  fetchCgiBuild(join(apps, 'hono-hello/app.ts'), at('hono-hello.cgi'));
  fetchCgiBuild(join(apps, 'hono-json/app.ts'), at('hono-json.cgi'));
  fetchCgiBuild(join(apps, 'hono-500/app.ts'), at('hono-500.cgi'));
  fetchCgiBuild(join(apps, 'cpu-bound/app.ts'), at('cpu-bound.cgi'));
  fetchCgiBuild(join(apps, 'hono-500-quick/app.ts'), at('hono-500-quick.cgi'));
  fetchCgiBuild(join(apps, 'hono-1000/app.ts'), at('hono-1000.cgi'));
  const pagesApp = writePagesApp(500);
  fetchCgiBuild(pagesApp, at('hono-pages.cgi'));
  fetchCgiBuild(pagesApp, at('hono-pages.bun.cjs'), ['--runtime', 'bun']);
  fetchCgiBuild(pagesApp, at('hono-pages-standalone.cgi'), ['--standalone']);
  fetchCgiBuild(join(apps, 'hono-hello/app.ts'), at('hono-hello-standalone.cgi'), ['--standalone']);
  fetchCgiBuild(join(apps, 'hono-500/app.ts'), at('hono-500-standalone.cgi'), ['--standalone']);
  fetchCgiBuild(join(apps, 'stream-out/app.ts'), at('stream-out.cgi'));
  fetchCgiBuild(join(apps, 'stream-in/app.ts'), at('stream-in.cgi'));
  fetchCgiBuild(join(apps, 'hono-hello/app.ts'), at('hono-hello.bun.cjs'), ['--runtime', 'bun']);
  await bundleNaive(join(apps, 'naive-bridge/hono-hello.ts'), at('naive-hello.cgi'), 'cjs');
  await bundleNaive(join(apps, 'naive-bridge/hono-500.ts'), at('naive-500.cgi'), 'cjs');
  await bundleNaive(join(apps, 'naive-bridge/hono-json.ts'), at('naive-json.cgi'), 'cjs');
  await bundleNaive(join(apps, 'naive-bridge/hono-hello.ts'), at('naive-hello.mjs'), 'esm');

  execFileSync('gcc', ['-O2', '-o', at('hello-c.cgi'), join(peers, 'hello.c')], { stdio: 'inherit' });
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', at('timer'), join(benchDir, 'timer.c')], { stdio: 'inherit' });
  // Go's caches live in the work folder: the benchmark runs with HOME possibly unset.
  execFileSync('go', ['build', '-o', at('go.cgi'), join(peers, 'go-cgi/main.go')], {
    stdio: 'inherit',
    env: { ...process.env, GOCACHE: at('go-cache'), GOPATH: at('go-path'), GO111MODULE: 'off', CGO_ENABLED: '0' },
  });

  await bundleNodeServer(join(apps, 'hono-hello/app.ts'), at('node-server-hello.cjs'));
  await bundleNodeServer(join(apps, 'hono-500/app.ts'), at('node-server-500.cjs'));
  await build({
    entryPoints: [join(peers, 'node-fastcgi-hello.mjs')],
    outfile: at('node-fastcgi-hello.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  });
  execFileSync('go', ['build', '-o', at('go-fcgi'), join(peers, 'go-fcgi/main.go')], {
    stdio: 'inherit',
    env: { ...process.env, GOCACHE: at('go-cache'), GOPATH: at('go-path'), GO111MODULE: 'off', CGO_ENABLED: '0' },
  });

  return {
    honoHello: at('hono-hello.cgi'),
    honoJson: at('hono-json.cgi'),
    hono500: at('hono-500.cgi'),
    cpuBound: at('cpu-bound.cgi'),
    hono500Quick: at('hono-500-quick.cgi'),
    hono1000: at('hono-1000.cgi'),
    honoPages: at('hono-pages.cgi'),
    honoPagesForBun: at('hono-pages.bun.cjs'),
    honoPagesStandalone: at('hono-pages-standalone.cgi'),
    honoHelloStandalone: at('hono-hello-standalone.cgi'),
    hono500Standalone: at('hono-500-standalone.cgi'),
    streamOut: at('stream-out.cgi'),
    streamIn: at('stream-in.cgi'),
    honoHelloForBun: at('hono-hello.bun.cjs'),
    naiveHelloCjs: at('naive-hello.cgi'),
    naiveJsonCjs: at('naive-json.cgi'),
    naive500Cjs: at('naive-500.cgi'),
    naiveHelloEsm: at('naive-hello.mjs'),
    naiveHelloTs: join(apps, 'naive-bridge/hono-hello.ts'),
    naiveHelloForBun: copyExecutable(at('naive-hello.cgi'), at('naive-hello.bun.cjs')),
    tsx: join(repoDir, 'node_modules/.bin/tsx'),
    c: at('hello-c.cgi'),
    go: at('go.cgi'),
    nodeHandwritten: copyExecutable(join(peers, 'node-handwritten.cgi'), at('node-handwritten.cgi')),
    pythonHandwritten: copyExecutable(join(peers, 'python-handwritten.cgi'), at('python-handwritten.cgi')),
    wsgiref: copyExecutable(join(peers, 'wsgiref.cgi'), at('wsgiref.cgi')),
    plack: copyExecutable(join(peers, 'plack.cgi'), at('plack.cgi')),
    cgiPm: copyExecutable(join(peers, 'cgi-pm.cgi'), at('cgi-pm.cgi')),
    php: copyExecutable(join(peers, 'hello.php'), at('hello.php')),
    streamOutPlain: copyExecutable(join(peers, 'stream-out-plain.cgi'), at('stream-out-plain.cgi')),
    streamInPlain: copyExecutable(join(peers, 'stream-in-plain.cgi'), at('stream-in-plain.cgi')),
    timer: at('timer'),
    nodeServerHello: at('node-server-hello.cjs'),
    nodeServer500: at('node-server-500.cjs'),
    nodeFastcgi: at('node-fastcgi-hello.cjs'),
    goFcgi: at('go-fcgi'),
    phpFpmHello: copyExecutable(join(peers, 'hello-fpm.php'), at('hello-fpm.php')),
    minimalFastcgi: copyExecutable(join(peers, 'minimal-fastcgi.mjs'), at('minimal-fastcgi.mjs')),
  };
}
