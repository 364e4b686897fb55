/**
 * Requests per second, p99 latency and backend CPU per request of every persistent-mode row
 * through one nginx worker, at each concurrency, beside the same built script as CGI through
 * nginx + fcgiwrap.
 */
import { readFileSync } from 'node:fs';
import { freePort } from '../../tests/servers/launch.js';
import { startServer } from '../../tests/servers/index.js';
import { withDescendants } from '../../tests/servers/processes.js';
import { median } from '../stats.js';
import { startFront } from './front.js';
import { type BackendPids, load, type LoadResult } from './load.js';
import type { Peer, Protocol } from './peers.js';

/** One row: how it did at each concurrency. */
export interface RowResult {
  peer: Pick<Peer, 'name' | 'label' | 'role' | 'app'> & { protocol: Protocol | 'cgi' };
  /** Each cell: the medians of its rounds. */
  byConcurrency: Map<number, LoadResult>;
  /** Each cell's rounds in the order they ran: round i of two rows ran seconds apart. */
  rounds: Map<number, LoadResult[]>;
}

export interface LoadSettings {
  concurrencies: readonly number[];
  /** Seconds of each run; every cell is measured `rounds` times, the median shown. */
  seconds: number;
  rounds: number;
  /** Seconds of load before the measured runs, so that every JIT has warmed up. */
  warmupSeconds: number;
}

async function checkAnswer(url: string, expect: string, label: string): Promise<void> {
  const response = await fetch(url);
  const body = await response.text();
  if (response.status !== 200 || !body.startsWith(expect))
    throw new Error(`bench: ${label} answered ${response.status} ${body.slice(0, 200)}`);
}

function loadEach(url: string, label: string, settings: LoadSettings, pids: BackendPids): Map<number, LoadResult> {
  console.log(`wrk ${url} (${label}): warm-up ${settings.warmupSeconds}s, then c${settings.concurrencies.join('/c')}`);
  load(url, 16, settings.warmupSeconds, pids);
  const byConcurrency = new Map<number, LoadResult>();
  for (const connections of settings.concurrencies) {
    byConcurrency.set(connections, load(url, connections, settings.seconds, pids));
  }
  return byConcurrency;
}

/** One cell from its rounds: medians of the rates, CPU and latencies; errors and requests summed. */
function combine(runs: LoadResult[]): LoadResult {
  return {
    requests: runs.reduce((sum, run) => sum + run.requests, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    cpuMicrosPerRequest: median(runs.map((run) => run.cpuMicrosPerRequest)),
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
  };
}

/**
 * The order the rows run in within a round: each reference (node-server) straight before the
 * rows judged against it, so that a judged run and its reference's run are seconds apart. The
 * machine here has slow stretches of tens of seconds (CPU per request of every row doubles);
 * rows further apart than that would be compared across one.
 */
export function runningOrder(peers: readonly Pick<Peer, 'role' | 'app'>[]): number[] {
  const order: number[] = [];
  for (const [index, peer] of peers.entries()) {
    if (peer.role === 'judged' && peers.some((other) => other.role === 'reference' && other.app === peer.app)) continue;
    order.push(index);
    if (peer.role !== 'reference') continue;
    for (const [other, judged] of peers.entries()) {
      if (judged.role === 'judged' && judged.app === peer.app) order.push(other);
    }
  }
  return order;
}

/**
 * Every peer, each with its own nginx, all started at once and loaded one at a time in
 * interleaved rounds (peer after peer, concurrency after concurrency, `rounds` times): a slow
 * minute of the machine then falls on every peer alike instead of on one of them. Every other
 * round runs the peers in reverse order, so that none always runs right after another.
 */
export async function measurePeers(peers: readonly Peer[], settings: LoadSettings): Promise<RowResult[]> {
  const fronts: Awaited<ReturnType<typeof startFront>>[] = [];
  try {
    for (const peer of peers) fronts.push(await startFront(peer, await freePort(), await freePort()));
    const urls = peers.map((peer, index) => `${fronts[index]?.origin}${peer.path}`);
    const pids = fronts.map(
      (front): BackendPids =>
        () =>
          front.backendPids(),
    );
    for (const [index, peer] of peers.entries()) {
      await checkAnswer(urls[index] ?? '', peer.expect, peer.label);
      console.log(`wrk ${urls[index]} (${peer.label}): warm-up ${settings.warmupSeconds}s`);
      load(urls[index] ?? '', 16, settings.warmupSeconds, pids[index] ?? (() => []), fronts[index]?.clientCore);
    }
    const runs = peers.map(() => new Map<number, LoadResult[]>());
    for (let round = 1; round <= settings.rounds; round++) {
      console.log(
        `round ${round}/${settings.rounds}: c${settings.concurrencies.join('/c')}, ${settings.seconds}s each`,
      );
      const order = runningOrder(peers);
      if (round % 2 === 0) order.reverse();
      for (const connections of settings.concurrencies) {
        for (const index of order) {
          // A second of unmeasured load first: a row idle while the others ran starts with a tail
          // of its own, no part of serving steadily (500-route app at 64 connections after 45 s
          // idle: node-server's p99 222 ms against 19 right after, fetch-cgi's slowest 158 ms
          // against 41).
          load(urls[index] ?? '', connections, 1, pids[index] ?? (() => []), fronts[index]?.clientCore);
          const result = load(
            urls[index] ?? '',
            connections,
            settings.seconds,
            pids[index] ?? (() => []),
            fronts[index]?.clientCore,
          );
          // Each run in the log, so that a cell's median can be traced back to its rounds.
          console.log(
            `  c${connections} ${peers[index]?.name}: ${result.requestsPerSecond.toFixed(0)} req/s, ` +
              `${result.cpuMicrosPerRequest.toFixed(1)} µs CPU/req, p99 ${result.p99Ms.toFixed(2)} ms`,
          );
          const cell = runs[index] as Map<number, LoadResult[]>;
          cell.set(connections, [...(cell.get(connections) ?? []), result]);
        }
      }
    }
    return peers.map((peer, index) => ({
      peer,
      byConcurrency: new Map([...(runs[index] ?? [])].map(([c, cell]) => [c, combine(cell)])),
      rounds: runs[index] ?? new Map<number, LoadResult[]>(),
    }));
  } finally {
    for (const front of fronts) await front.stop();
  }
}

const commandName = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The built script as CGI: nginx + fcgiwrap (the harness's set-up), a process per request. */
export async function measureCgi(script: string, settings: LoadSettings): Promise<RowResult> {
  const server = await startServer('nginx', { scripts: { 'app.cgi': script } });
  try {
    const url = `${server.origin}/cgi-bin/app.cgi/hello`;
    await checkAnswer(url, 'Hello', 'CGI');
    // fcgiwrap's workers: each script they run is reaped into their children's CPU time.
    const pids = () => withDescendants(server.processIds().filter((pid) => commandName(pid) === 'fcgiwrap'));
    const quick = { ...settings, warmupSeconds: 1 };
    const byConcurrency = loadEach(url, 'CGI', quick, pids);
    return {
      peer: {
        name: 'cgi',
        label: 'fetch-cgi CGI + Hono (nginx + fcgiwrap, a process per request)',
        protocol: 'cgi',
        role: 'peer',
        app: 'hello',
      },
      byConcurrency,
      rounds: new Map([...byConcurrency].map(([c, run]) => [c, [run]])),
    };
  } finally {
    await server.stop();
  }
}
