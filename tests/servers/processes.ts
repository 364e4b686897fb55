import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serverPath } from './run-dir.js';

/**
 * Starts `argv` under `env -i PATH=...`, so that nothing from the caller's environment
 * reaches the server or its CGI scripts, with stdout and stderr appended to `logFile`.
 */
export function spawnServer(argv: readonly string[], logFile: string): ChildProcess {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('servers: empty command');
  if (!existsSync(command)) {
    throw new Error(`servers: ${command} is not installed; run: sudo bash scripts/install-servers.sh`);
  }
  const log = openSync(logFile, 'a');
  try {
    const [launcher = '/usr/bin/env', ...launcherArgs] = [...hiding(), '/usr/bin/env'];
    const child = spawn(launcher, [...launcherArgs, '-i', `PATH=${serverPath}`, command, ...args], {
      stdio: ['ignore', log, log],
      detached: true, // its own process group: a Ctrl-C aimed at the tests does not reach it first
    });
    // Without a listener an exec failure would be an uncaught 'error' event.
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(log);
  }
}

/** JavaScript runtimes hidden from the servers this process starts, once asked for. */
let hiddenRuntimes: readonly string[] = [];

/**
 * From now on, every server (and so every script and FastCGI process it runs) starts in a mount
 * namespace of its own where each `node`, `nodejs`, `bun` and `deno` on the servers' PATH is
 * /dev/null: running one fails with "Permission denied", as on a host with no runtime. For
 * programs that must need none. Returns the paths hidden (resolved, so `/bin/node` and
 * `/usr/bin/node` count once); throws if there is nothing to hide or no way to hide it.
 */
export function hideRuntimesFromServers(): readonly string[] {
  const found = new Set<string>();
  for (const dir of serverPath.split(':')) {
    for (const name of ['node', 'nodejs', 'bun', 'deno']) {
      if (existsSync(join(dir, name))) found.add(realpathSync(join(dir, name)));
    }
  }
  if (!existsSync('/usr/bin/unshare')) throw new Error('servers: unshare(1) is missing (util-linux)');
  if (found.size === 0) throw new Error(`servers: no runtime on ${serverPath} to hide`);
  hiddenRuntimes = [...found];
  return hiddenRuntimes;
}

/** The command line that starts a server with {@link hiddenRuntimes} hidden, or nothing. */
function hiding(): string[] {
  if (hiddenRuntimes.length === 0) return [];
  const mounts = hiddenRuntimes.map((path) => `mount --bind /dev/null '${path}'`).join(' && ');
  return [
    '/usr/bin/unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    `${mounts} && exec "$@"`,
    'sh',
  ];
}

/** Whether `pid` is a live process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * `roots` and all their live descendants, from /proc; with `zombies`, also descendants
 * that exited and were not reaped yet.
 */
export function withDescendants(roots: readonly number[], zombies = false): number[] {
  const wanted = (pid: number) => (zombies ? existsSync(`/proc/${pid}`) : isAlive(pid));
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after "(comm)": state ppid ...; comm itself may contain spaces and parens.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const found = new Set(roots.filter(wanted));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (!found.has(pid) && found.has(ppid) && wanted(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/**
 * Sends SIGTERM to each of `pids`, waits up to `graceMs` for all to exit, then SIGKILLs
 * the rest and waits again. Throws if any is still alive after that.
 */
export async function terminate(pids: readonly number[], graceMs = 5000): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // Already gone.
      }
    }
  };
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (pids.some(isAlive)) {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  };
  signal('SIGTERM');
  if ((await waitGone(graceMs)) || (signal('SIGKILL'), await waitGone(2000))) {
    // Orphans (fcgiwrap's workers, mini_httpd's unreaped children) stay zombies until init
    // reaps them; give it a moment so that `ps` afterwards shows nothing, but do not fail.
    const deadline = Date.now() + 3000;
    while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) await sleep(20);
    return;
  }
  throw new Error(`servers: processes still alive after SIGKILL: ${pids.filter(isAlive).join(' ')}`);
}

/**
 * Resolves once `port` answers an HTTP request with a status line; rejects after
 * `timeoutMs`, or as soon as `alive()` says the server exited.
 */
export async function waitForHttp(port: number, alive: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`servers: the server exited before answering on port ${port}`);
    try {
      if (await answersHttp(port)) return;
      lastError = 'no HTTP status line';
    } catch (error) {
      lastError = String(error);
    }
    await sleep(25);
  }
  throw new Error(`servers: port ${port} did not answer within ${timeoutMs} ms (${lastError})`);
}

/** One HTTP/1.0 request for a path that runs no script; true when a status line comes back. */
function answersHttp(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write('HEAD /cgi-bin/.ready-probe HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n'));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.length >= 5) {
        socket.destroy();
        resolve(received.startsWith('HTTP/'));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(received.startsWith('HTTP/')));
  });
}

/** Resolves when `file` exists (a pid file, a socket); rejects after `timeoutMs`. */
export async function waitForFile(file: string, alive: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (!alive()) throw new Error(`servers: the process exited before creating ${file}`);
    if (Date.now() > deadline) throw new Error(`servers: ${file} did not appear within ${timeoutMs} ms`);
    await sleep(20);
  }
}
