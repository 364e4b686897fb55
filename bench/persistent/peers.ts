/**
 * The backends the persistent-mode bench puts behind one nginx: fetch-cgi over FastCGI and SCGI,
 * the same Hono app on `@hono/node-server` behind `proxy_pass`, the other bridges and languages,
 * and the limit row. Each listens on a loopback TCP port, so that every row pays the same
 * transport.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoDir } from '../paths.js';
import type { PersistentApps } from '../prepare.js';

export type Protocol = 'fastcgi' | 'scgi' | 'http';

/** What a row is measured for. */
export type Role =
  | 'judged' // fetch-cgi, held to the targets
  | 'reference' // @hono/node-server with the same app: the 1.0x line
  | 'peer' // another bridge or language, reported beside
  | 'limit'; // the least a FastCGI responder in Node can do

export interface Peer {
  /** Short name used in file names and the chart. */
  name: string;
  label: string;
  protocol: Protocol;
  role: Role;
  /** Which app it serves: the judged rows are compared with the reference serving the same one. */
  app: 'hello' | '500 routes' | 'cpu-bound';
  /** The path requested through nginx, and the body expected back (a prefix of it for pages). */
  path: string;
  expect: string;
  /** The command that serves on 127.0.0.1:`port` in the foreground (run under env -i). */
  command(port: number, runDir: string): string[];
  /** A file the backend needs written into the run directory first (php-fpm's configuration). */
  setup?(port: number, runDir: string): { file: string; text: string };
  /** For php-fpm: SCRIPT_FILENAME. */
  scriptFilename?: string;
  /** Runs on every core, not pinned with nginx to one (placement.ts): a pool of workers. */
  everyCore?: boolean;
}

const node = process.execPath;
const env = (vars: Record<string, string>) => ['/usr/bin/env', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];

/** Every row, in the order the report lists them. */
export function persistentPeers(apps: PersistentApps): Peer[] {
  const fetchCgi = (script: string) => (port: number) => [...env({ FETCH_CGI_LISTEN: `127.0.0.1:${port}` }), script];
  const onPort = (file: string) => (port: number) => [...env({ PORT: String(port) }), node, file];
  // `fetch-cgi listen --workers N`, the CLI from source: it binds the port and runs N copies of
  // the built script on it. The app does a fixed amount of CPU work per request, so that the
  // workers, not nginx or wrk, limit the rate.
  const workers = (count: number): Peer => ({
    name: `fetch-cgi-workers-${count}`,
    label: `fetch-cgi listen --workers ${count} (FastCGI), CPU-bound route`,
    protocol: 'fastcgi',
    role: 'peer',
    app: 'cpu-bound',
    everyCore: true,
    path: '/app/work',
    expect: 'done',
    command: (port) => [
      node,
      '--import',
      'tsx',
      join(repoDir, 'src/cli/main.ts'),
      'listen',
      apps.cpuBound,
      `127.0.0.1:${port}`,
      '--workers',
      String(count),
    ],
  });
  return [
    {
      name: 'fetch-cgi-fastcgi',
      label: 'fetch-cgi FastCGI + Hono (fastcgi_keep_conn)',
      protocol: 'fastcgi',
      role: 'judged',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      command: fetchCgi(apps.honoHello),
    },
    {
      name: 'fetch-cgi-scgi',
      label: 'fetch-cgi SCGI + Hono (scgi_pass)',
      protocol: 'scgi',
      role: 'judged',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      command: fetchCgi(apps.honoHello),
    },
    {
      name: 'node-server',
      label: '@hono/node-server + Hono (proxy_pass, keep-alive pool)',
      protocol: 'http',
      role: 'reference',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      command: onPort(apps.nodeServerHello),
    },
    {
      name: 'node-fastcgi',
      label: 'node-fastcgi, plain handler',
      protocol: 'fastcgi',
      role: 'peer',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      command: onPort(apps.nodeFastcgi),
    },
    {
      name: 'go-fcgi',
      label: 'Go net/http/fcgi (GOMAXPROCS 1)',
      protocol: 'fastcgi',
      role: 'peer',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      // One core, as one Node process uses: CPU per request is then comparable.
      command: (port) => [...env({ GOMAXPROCS: '1' }), apps.goFcgi, `127.0.0.1:${port}`],
    },
    {
      name: 'php-fpm',
      label: 'php-fpm (one child, opcache)',
      protocol: 'fastcgi',
      role: 'peer',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      scriptFilename: apps.phpFpmHello,
      setup: (port, runDir) => ({ file: `${runDir}/php-fpm.conf`, text: phpFpmConfig(port, runDir) }),
      command: (_port, runDir) => [phpFpm(), '--nodaemonize', '--allow-to-run-as-root', '-y', `${runDir}/php-fpm.conf`],
    },
    {
      name: 'limit',
      label: 'the limit: a minimal Node FastCGI responder, fixed answer',
      protocol: 'fastcgi',
      role: 'limit',
      app: 'hello',
      path: '/app/hello',
      expect: 'Hello',
      command: onPort(apps.minimalFastcgi),
    },
    workers(1),
    workers(2),
    {
      name: 'fetch-cgi-fastcgi-500',
      label: 'fetch-cgi FastCGI + Hono, 500-route app',
      protocol: 'fastcgi',
      role: 'judged',
      app: '500 routes',
      path: '/app/r200/42',
      expect: '<html',
      command: fetchCgi(apps.hono500),
    },
    {
      name: 'node-server-500',
      label: '@hono/node-server + Hono, 500-route app',
      protocol: 'http',
      role: 'reference',
      app: '500 routes',
      path: '/app/r200/42',
      expect: '<html',
      command: onPort(apps.nodeServer500),
    },
  ];
}

/** Debian names php-fpm after its PHP version (php-fpm8.2). */
function phpFpm(): string {
  const name = readdirSync('/usr/sbin').find((file) => /^php-fpm[\d.]+$/.test(file));
  if (!name) throw new Error('bench: php-fpm is not installed; run bench/install-tools.sh');
  return `/usr/sbin/${name}`;
}

/**
 * One pool of one child, kept (pm static), as root with -R: one process serving, as the Node
 * rows have. Opcache is on by default in Debian's php-fpm.
 */
function phpFpmConfig(port: number, runDir: string): string {
  return `[global]
pid = ${runDir}/rt/php-fpm.pid
error_log = ${runDir}/logs/php-fpm.log
daemonize = no

[bench]
listen = 127.0.0.1:${port}
pm = static
pm.max_children = 1
clear_env = yes
`;
}

/** The streaming apps as FastCGI backends, for the peak-memory rows. */
export function streamPeers(apps: PersistentApps, bytes: number): { download: Peer; upload: Peer } {
  const base = { protocol: 'fastcgi', role: 'judged', app: 'hello', path: '/app/' } as const;
  const command = (script: string) => (port: number) => [
    ...env({ FETCH_CGI_LISTEN: `127.0.0.1:${port}`, STREAM_BYTES: String(bytes) }),
    script,
  ];
  return {
    download: {
      ...base,
      name: 'stream-out',
      label: 'fetch-cgi FastCGI, a body streamed down',
      expect: '',
      command: command(apps.streamOut),
    },
    upload: {
      ...base,
      name: 'stream-in',
      label: 'fetch-cgi FastCGI, a body streamed up',
      expect: '',
      command: command(apps.streamIn),
    },
  };
}
