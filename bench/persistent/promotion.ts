/**
 * Whether a request's objects die young. Every object a request makes should be garbage by the
 * next scavenge; one kept alive past two (by a reference from something that outlives the
 * request, or a chain through dead objects of the old generation) is promoted, and what is
 * promoted is collected only by the old generation's mark-compacts. It shows here long before
 * it shows in resident size: as promoted bytes at every scavenge, longer scavenge pauses, and
 * mark-compacts, which become the tail latency. V8 reports each collection with
 * `--trace-gc-nvp`; the backend's log holds them.
 */
import { freePort } from '../../tests/servers/launch.js';
import { startFront } from './front.js';
import { requests } from './memory.js';
import type { Peer } from './peers.js';

export interface PromotionResult {
  label: string;
  role: Peer['role'];
  app: Peer['app'];
  concurrency: number;
  requests: number;
  scavenges: number;
  /** Bytes allocated in the young generation across the measured requests. */
  allocatedBytes: number;
  /** Of them, bytes moved to the old generation by the scavenges. */
  promotedBytes: number;
  medianScavengeMs: number;
  markCompacts: number;
}

const V8_FLAGS = ['--trace-gc', '--trace-gc-nvp'];

/**
 * `peer` started under `node` with V8's collection trace, its stdout line-buffered (V8 prints
 * the trace through C's stdio, which holds 4 KiB back when stdout is a file), so that the log
 * read between the warm-up and the measured requests is complete. A fetch-cgi build runs its
 * bundle directly (without the code cache its first line sets up, which changes nothing once
 * warm); a Node command gets the flags after the runtime's path.
 */
function traced(peer: Peer): Peer {
  const node = ['/usr/bin/stdbuf', '-oL', process.execPath, ...V8_FLAGS];
  return {
    ...peer,
    command(port, runDir) {
      const argv = peer.command(port, runDir);
      const runtime = argv.indexOf(process.execPath);
      if (runtime !== -1) return [...argv.slice(0, runtime), ...node, ...argv.slice(runtime + 1)];
      return [...argv.slice(0, -1), ...node, ...argv.slice(-1)];
    },
  };
}

const field = (line: string, name: string) => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);

/** The collections a `--trace-gc-nvp` log records, a line each. */
const collections = (log: string) => log.split('\n').filter((line) => line.includes(' gc='));

/** What the collections after the first `skip` of a `--trace-gc-nvp` log did. */
function summarizeCollections(
  log: string,
  skip: number,
): Pick<PromotionResult, 'scavenges' | 'allocatedBytes' | 'promotedBytes' | 'medianScavengeMs' | 'markCompacts'> {
  const measured = collections(log).slice(skip);
  const scavenges = measured.filter((line) => / gc=s /.test(line));
  const pauses = scavenges.map((line) => field(line, 'pause')).toSorted((a, b) => a - b);
  return {
    scavenges: scavenges.length,
    allocatedBytes: scavenges.reduce((sum, line) => sum + field(line, 'allocated'), 0),
    promotedBytes: scavenges.reduce((sum, line) => sum + field(line, 'promoted'), 0),
    medianScavengeMs: pauses[pauses.length >> 1] ?? Number.NaN,
    markCompacts: measured.filter((line) => / gc=(mc|mmc) /.test(line)).length,
  };
}

/**
 * For each peer and concurrency, a fresh backend under V8's trace: `warmup` requests (start-up
 * and optimisation promote what lives for good), then `count` measured ones.
 */
export async function measurePromotion(
  peers: readonly Peer[],
  concurrencies: readonly number[],
  warmup: number,
  count: number,
): Promise<PromotionResult[]> {
  const results: PromotionResult[] = [];
  for (const concurrency of concurrencies) {
    for (const peer of peers) {
      const front = await startFront(traced(peer), await freePort(), await freePort());
      try {
        const url = `${front.origin}${peer.path}`;
        console.log(`ab -c${concurrency} ${url} (${peer.label}): promotion over ${count} requests`);
        requests(url, warmup, concurrency);
        const before = collections(await front.backendLog()).length;
        requests(url, count, concurrency);
        const measured = summarizeCollections(await front.backendLog(), before);
        results.push({
          label: peer.label,
          role: peer.role,
          app: peer.app,
          concurrency,
          requests: count,
          ...measured,
        });
      } finally {
        await front.stop();
      }
    }
  }
  return results;
}
