/**
 * The framework matrix: each example app of tests/frameworks/cases.ts (Hono, itty-router, h3,
 * GraphQL Yoga, tRPC, a plain Workers-style module), unchanged, built once per runtime
 * (`fetch-cgi build --runtime node|bun|deno`, and `--standalone`) and asked the same requests on
 * every runtime (Node 20, the newest Node LTS, Bun, Deno, the standalone program) through three
 * transports: the script spawned
 * directly, lighttpd, and the script as a long-lived FastCGI process. The results go to
 * .tmp/frameworks-matrix.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { FastCgiClient } from '../src/host/fastcgi-client.js';
import { parseCgiResponse } from '../src/host/parse-cgi-response.js';
import { requestToEnv } from '../src/host/request-to-env.js';
import { buildScript, shebangFor } from '../src/cli/build.js';
import { hostTarget } from '../src/cli/standalone.js';
import { runCgi } from '../src/cli/run-script.js';
import { type Answer, type Framework, frameworks } from './frameworks/cases.js';
import { assertInstalled, type TestRuntime, testRuntimes } from './frameworks/runtimes.js';
import { type RunningServer, startServer } from './servers/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Under /tmp with mode 755 so www-data can read the scripts lighttpd copies from here.
const buildDir = mkdtempSync('/tmp/fetch-cgi-frameworks-');
chmodSync(buildDir, 0o755);

/** The `--standalone` build: a native program, Bun inside, which no shebang names. */
const STANDALONE: TestRuntime = { name: 'standalone', runtime: 'bun', binary: '' };
const matrixRuntimes: readonly TestRuntime[] = [...testRuntimes, STANDALONE];

const scriptName = (framework: Framework, runtime: TestRuntime) =>
  `${framework.name}-${runtime.name.replace(' ', '')}.cgi`;
const scriptPath = (framework: Framework, runtime: TestRuntime) => join(buildDir, scriptName(framework, runtime));

/** Builds each app once per bundle format; runtimes sharing a format get a copy with their shebang. */
async function buildAll(): Promise<void> {
  const formats = new Map<string, TestRuntime>();
  for (const runtime of testRuntimes) if (!formats.has(runtime.runtime)) formats.set(runtime.runtime, runtime);
  const target = hostTarget();
  if (!target) throw new Error('no standalone target for this machine');
  await Promise.all(
    frameworks.flatMap((framework) => [
      ...[...formats.values()].map((runtime) =>
        buildScript({
          entry: join(root, framework.entry),
          outfile: scriptPath(framework, runtime),
          runtime: runtime.runtime,
          node: runtime.binary,
        }),
      ),
      buildScript({
        entry: join(root, framework.entry),
        outfile: scriptPath(framework, STANDALONE),
        standalone: target,
      }),
    ]),
  );
  for (const runtime of testRuntimes) {
    const first = formats.get(runtime.runtime);
    if (!first || first === runtime) continue;
    for (const framework of frameworks) {
      const text = readFileSync(scriptPath(framework, first), 'utf8');
      const out = scriptPath(framework, runtime);
      copyFileSync(scriptPath(framework, first), out);
      writeFileSync(
        out,
        `${shebangFor({ runtime: runtime.runtime, node: runtime.binary })}${text.slice(text.indexOf('\n'))}`,
      );
    }
  }
}

/** At most `limit` cells at once: each spawns a process per request. */
function limiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((go) => waiting.push(go));
    active++;
    try {
      return await work();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, headers: response.headers, text: await response.text() };
}

interface Transport {
  name: string;
  send(script: string, path: string, init?: RequestInit): Promise<Answer>;
}

let lighttpd: Promise<RunningServer> | undefined;

/** Each script started once as a long-lived process serving FastCGI on a socket of its own. */
const persistent = new Map<string, Promise<{ socket: string; child: ChildProcess }>>();
function startPersistent(script: string): Promise<{ socket: string; child: ChildProcess }> {
  let started = persistent.get(script);
  if (!started) {
    const socket = join(buildDir, `${script}.sock`);
    const child = spawn(join(buildDir, script), [], {
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', FETCH_CGI_LISTEN: `unix:${socket}` },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    started = (async () => {
      for (let waited = 0; !existsSync(socket); waited += 25) {
        if (waited > 15_000 || child.exitCode !== null) throw new Error(`${script} did not listen on ${socket}`);
        await sleep(25);
      }
      await sleep(100);
      return { socket, child };
    })();
    persistent.set(script, started);
  }
  return started;
}

const transports: Transport[] = [
  {
    name: 'direct',
    async send(script, path, init) {
      const mount = `/cgi-bin/${script}`;
      const request = new Request(`http://127.0.0.1:8080${mount}${path}`, init);
      // A server passes the body's length as CONTENT_LENGTH; a Request built from a string has none.
      if (typeof init?.body === 'string') request.headers.set('content-length', String(Buffer.byteLength(init.body)));
      return answer(
        await runCgi(request, {
          script: join(buildDir, script),
          mount,
          remoteAddr: '127.0.0.1',
          remotePort: 40_000,
          serverSoftware: 'frameworks-direct',
          baseEnv: { PATH: '/usr/local/bin:/usr/bin:/bin' },
          timeoutMs: 30_000,
          onStderr: () => {},
        }),
      );
    },
  },
  {
    name: 'fastcgi',
    async send(script, path, init) {
      const { socket } = await startPersistent(script);
      const mount = `/cgi-bin/${script}`;
      const request = new Request(`http://127.0.0.1:8080${mount}${path}`, init);
      const body = init?.body === undefined ? undefined : Buffer.from(await request.arrayBuffer());
      const params = requestToEnv(request, {
        scriptName: mount,
        remoteAddr: '127.0.0.1',
        remotePort: 40_000,
        serverSoftware: 'frameworks-fastcgi',
      });
      if (body) params.CONTENT_LENGTH = String(body.byteLength);
      const client = await FastCgiClient.connect(socket);
      const sent = client.request(params as Record<string, string>, body ? { body } : {});
      const output = await sent.output();
      return answer(
        await parseCgiResponse(
          (async function* () {
            yield output;
          })(),
        ),
      );
    },
  },
  {
    name: 'lighttpd',
    async send(script, path, init) {
      const server = await (lighttpd ?? Promise.reject(new Error('lighttpd was not started')));
      return answer(await fetch(`${server.origin}/cgi-bin/${script}${path}`, init));
    },
  },
];

const results = new Map<string, string>();
const cellKey = (framework: Framework, runtime: TestRuntime, transport: Transport) =>
  `${framework.name}|${runtime.name}|${transport.name}`;

describe('framework matrix', { concurrency: true }, () => {
  const gate = limiter(4);
  before(async () => {
    for (const runtime of testRuntimes) assertInstalled(runtime);
    await buildAll();
    const scripts: Record<string, string> = {};
    for (const framework of frameworks) {
      for (const runtime of matrixRuntimes) scripts[scriptName(framework, runtime)] = scriptPath(framework, runtime);
    }
    lighttpd = startServer('lighttpd', { scripts });
    lighttpd.catch(() => {}); // reported by each lighttpd cell
  });

  after(async () => {
    writeMatrix();
    for (const started of persistent.values()) {
      const { child } = await started.catch(() => ({ child: undefined }));
      child?.kill('SIGTERM');
    }
    await (await lighttpd?.catch(() => undefined))?.stop();
    rmSync(buildDir, { recursive: true, force: true });
  });

  for (const framework of frameworks) {
    for (const runtime of matrixRuntimes) {
      for (const transport of transports) {
        test(`${framework.name} answers alike on ${runtime.name} through ${transport.name}`, async () => {
          const key = cellKey(framework, runtime, transport);
          results.set(key, 'FAIL');
          const script = scriptName(framework, runtime);
          await gate(() => framework.check((path, init) => transport.send(script, path, init)));
          results.set(key, 'pass');
        });
      }
    }
  }
});

/** Writes the framework × runtime × transport matrix to .tmp/frameworks-matrix.md and prints it. */
function writeMatrix(): void {
  const columns = matrixRuntimes.flatMap((runtime) => transports.map((transport) => ({ runtime, transport })));
  const lines = [
    `| framework | ${columns.map(({ runtime, transport }) => `${runtime.name} / ${transport.name}`).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...frameworks.map(
      (framework) =>
        `| ${framework.name} | ${columns.map(({ runtime, transport }) => results.get(cellKey(framework, runtime, transport)) ?? 'not run').join(' | ')} |`,
    ),
  ];
  const text = `# Framework matrix\n\n${lines.join('\n')}\n`;
  mkdirSync(join(root, '.tmp'), { recursive: true });
  writeFileSync(join(root, '.tmp/frameworks-matrix.md'), text);
  console.log(`\n${text}`);
}
