import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { withDescendants } from '../../tests/servers/processes.js';
import { onCore } from './placement.js';

/** One wrk run against one backend, with what the backend spent on it. */
export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  /** Non-2xx/3xx answers and socket errors (an idle keep-alive connection closed is not one). */
  errors: number;
  /** wrk's latency percentiles, in ms. */
  p50Ms: number;
  p99Ms: number;
  /**
   * The backend's CPU time (user + system, its reaped children included) across the run, in µs
   * per request: true whoever is the bottleneck, nginx and wrk sharing the two cores or not.
   */
  cpuMicrosPerRequest: number;
}

const TICK_MICROS = 1e6 / 100; // USER_HZ is 100 on Linux

/** utime + stime + cutime + cstime of each of `pids` still running, in clock ticks. */
function cpuTicksByPid(pids: readonly number[]): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after "(comm) ": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]));
    } catch {
      // Ended while we looked.
    }
  }
  return ticks;
}

/**
 * The CPU ticks `pids` spent from `before` to now, counting only the processes alive at both
 * ends: a CGI child running at the start and gone at the end would otherwise take away what it
 * had spent before the run (a parent that does not reap it never gets it back as cutime).
 */
function ticksSince(before: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, now] of cpuTicksByPid([...before.keys()])) ticks += now - (before.get(pid) ?? now);
  return ticks;
}

/** The backend processes: `roots` and their descendants, read at each sample. */
export type BackendPids = () => number[];

export function processTree(roots: () => number[]): BackendPids {
  return () => withDescendants(roots());
}

const LATENCY_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(output: string, percent: string): number {
  const match = new RegExp(`^\\s*${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
  return match ? Number(match[1]) * (LATENCY_UNITS[match[2] ?? 'ms'] ?? Number.NaN) : Number.NaN;
}

/** Parses wrk's summary (run with --latency). */
export function parseWrkLatency(output: string): Omit<LoadResult, 'cpuMicrosPerRequest'> {
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /connect (\d+), read \d+, write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0;
  return {
    requests,
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN),
    errors: non2xx + socketErrors,
    p50Ms: latencyMs(output, '50'),
    p99Ms: latencyMs(output, '99'),
  };
}

/**
 * wrk (one thread, keep-alive) at `connections` for `seconds`, on `core` if given (placement.ts),
 * with the backend's CPU across it.
 */
export function load(
  url: string,
  connections: number,
  seconds: number,
  backend: BackendPids,
  core?: number,
): LoadResult {
  const before = cpuTicksByPid(backend());
  const [command, ...args] = onCore(core, ['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url]);
  const output = execFileSync(command as string, args, { encoding: 'utf8' });
  // The same pids: a php-fpm child or fcgiwrap script that ended was reaped into its parent's cutime.
  const ticks = ticksSince(before);
  const result = parseWrkLatency(output);
  return { ...result, cpuMicrosPerRequest: (ticks * TICK_MICROS) / result.requests };
}
