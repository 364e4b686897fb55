import type { ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { isAlive, spawnServer, terminate, waitForHttp, withDescendants } from './processes.js';
import type { BackendKind, RunningServer, ServerKind } from './types.js';

/** Reads every existing file of `files`, each under a heading, for failure messages. */
export async function readLogs(files: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text !== null) parts.push(`==> ${file} <==\n${text}`);
  }
  return parts.join('\n');
}

/** A process the harness started and is responsible for stopping. */
export interface Started {
  child: ChildProcess;
  /** Extra pids to stop with it, read when stopping (e.g. from Apache's PidFile). */
  extraPids?: () => number[];
}

/** Spawns `argv` (see spawnServer) and returns it as a {@link Started}. */
export function startProcess(argv: readonly string[], logFile: string): Started {
  return { child: spawnServer(argv, logFile) };
}

/** Live pids of `started` (and of each one's extra pids), with all their descendants. */
function pidsOf(started: readonly Started[], zombies = false): number[] {
  const roots: number[] = [];
  for (const { child, extraPids } of started) {
    if (child.pid !== undefined) roots.push(child.pid);
    if (extraPids) roots.push(...extraPids());
  }
  return withDescendants(roots.filter(isAlive), zombies);
}

/** Signals `started` processes and their descendants (CGIs still running included), waits for all. */
async function stopAll(started: readonly Started[]): Promise<void> {
  await terminate(pidsOf(started, true));
}

/** A random port that is free now; it may be taken by the time the server binds it, hence the retries. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const ok = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

/** What each server module gives {@link launchServer}. */
export interface LaunchPlan {
  kind: ServerKind | BackendKind;
  runDir: string;
  /** How many ports the server listens on; the first is the origin's. */
  portCount: number;
  /** Log files to show in failure messages and `logs()`. */
  logFiles: readonly string[];
  /** Writes the configuration for `ports` and starts the processes, in order. */
  start(ports: readonly number[], started: Started[]): Promise<void>;
  prettyPath: string | null;
  rootPretty: boolean;
  /** Given the ports, the origin of the `.htaccess`-only site, or null. */
  htaccessOrigin?: (ports: readonly number[]) => string | null;
}

/**
 * Starts a server from `plan` on random free ports, retrying with new ports when one
 * turns out to be taken, waits until it answers HTTP on every port, and returns it. On
 * failure, stops whatever was started, removes the run directory and throws with the logs.
 */
export async function launchServer(plan: LaunchPlan): Promise<RunningServer> {
  const logs = () => readLogs(plan.logFiles);
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    while (ports.length < plan.portCount) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
    const started: Started[] = [];
    try {
      await plan.start(ports, started);
      const alive = () => started.every(({ child }) => child.exitCode === null && child.signalCode === null);
      for (const port of ports) await waitForHttp(port, alive);
    } catch (error) {
      await stopAll(started).catch(() => {});
      const text = await logs();
      if (attempt < 5 && /address already in use|EADDRINUSE|could not bind/i.test(text)) {
        // Empty the logs so that the next attempt is judged on its own messages.
        for (const file of plan.logFiles) await writeFile(file, '').catch(() => {});
        continue;
      }
      await rm(plan.runDir, { recursive: true, force: true });
      throw new Error(`${plan.kind}: failed to start: ${(error as Error).message}\n${text}`, { cause: error });
    }
    const origin = `http://127.0.0.1:${ports[0]}`;
    let stopped: Promise<void> | undefined;
    return {
      kind: plan.kind,
      origin,
      scriptPath: '/cgi-bin/app.cgi',
      prettyPath: plan.prettyPath,
      rootPretty: plan.rootPretty,
      htaccessOrigin: plan.htaccessOrigin?.(ports) ?? null,
      runDir: plan.runDir,
      logs,
      processIds: () => pidsOf(started),
      stop: () =>
        (stopped ??= (async () => {
          await stopAll(started);
          await rm(plan.runDir, { recursive: true, force: true });
        })()),
    };
  }
}
