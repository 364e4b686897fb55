/**
 * Requests per second, p99 latency and backend CPU per request of every persistent-mode row
 * through one nginx worker, at each concurrency, beside the same built script as CGI through
 * nginx + fcgiwrap.
 */
import { readFileSync } from 'node:fs';
import { freePort } from '../../tests/servers/launch.js';
import { startServer } from '../../tests/servers/index.js';
import { withDescendants } from '../../tests/servers/processes.js';
import { startFront } from './front.js';
import { type BackendPids, load, type LoadResult } from './load.js';
import type { Peer, Protocol } from './peers.js';

/** One row: how it did at each concurrency. */
export interface RowResult {
  peer: Pick<Peer, 'name' | 'label' | 'role' | 'app'> & { protocol: Protocol | 'cgi' };
  byConcurrency: Map<number, LoadResult>;
}

export interface LoadSettings {
  concurrencies: readonly number[];
  seconds: number;
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

/** Every peer in turn, each alone on the machine with its own nginx. */
export async function measurePeers(peers: readonly Peer[], settings: LoadSettings): Promise<RowResult[]> {
  const rows: RowResult[] = [];
  for (const peer of peers) {
    const front = await startFront(peer, await freePort(), await freePort());
    try {
      const url = `${front.origin}${peer.path}`;
      await checkAnswer(url, peer.expect, peer.label);
      rows.push({ peer, byConcurrency: loadEach(url, peer.label, settings, () => front.backendPids()) });
    } finally {
      await front.stop();
    }
  }
  return rows;
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
    return {
      peer: {
        name: 'cgi',
        label: 'fetch-cgi CGI + Hono (nginx + fcgiwrap, a process per request)',
        protocol: 'cgi',
        role: 'peer',
        app: 'hello',
      },
      byConcurrency: loadEach(url, 'CGI', quick, pids),
    };
  } finally {
    await server.stop();
  }
}
