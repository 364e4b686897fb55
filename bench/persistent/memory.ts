/**
 * Memory of a long-lived process: resident size after 1,000 and after 100,000 requests (a leak
 * shows as growth), and the peak while 1 GiB goes up and 1 GiB comes down through nginx.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '../../tests/servers/launch.js';
import { startFront } from './front.js';
import type { Peer } from './peers.js';

export interface LeakResult {
  label: string;
  rssAfterFirstMiB: number;
  rssAfterAllMiB: number;
  first: number;
  all: number;
}

export interface StreamPeak {
  label: string;
  bytes: number;
  /** What the app counted or the client received: equal to `bytes` when nothing was lost. */
  transferred: number;
  peakRssMiB: number;
}

/** Sum of a /proc/<pid>/status field (in kB) over `pids`, in MiB. */
function statusMiB(pids: readonly number[], field: 'VmRSS' | 'VmHWM'): number {
  let kB = 0;
  for (const pid of pids) {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    kB += Number(match?.[1] ?? Number.NaN);
  }
  return kB / 1024;
}

/** `count` GETs with ApacheBench (keep-alive, `concurrency` at once); throws unless every one succeeded. */
export function requests(url: string, count: number, concurrency = 16): void {
  const output = execFileSync('ab', ['-q', '-k', '-c', String(concurrency), '-n', String(count), url], {
    encoding: 'utf8',
  });
  const complete = Number(/Complete requests:\s+(\d+)/.exec(output)?.[1]);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(output)?.[1]);
  const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  if (complete !== count || failed !== 0 || non2xx !== 0) throw new Error(`bench: ab: ${output}`);
}

/** RSS of each peer's backend after `first` requests, then after `all` in total. */
export async function measureLeaks(peers: readonly Peer[], first: number, all: number): Promise<LeakResult[]> {
  const results: LeakResult[] = [];
  for (const peer of peers) {
    const front = await startFront(peer, await freePort(), await freePort());
    try {
      const url = `${front.origin}${peer.path}`;
      console.log(`ab ${url} (${peer.label}): RSS after ${first} and ${all} requests`);
      requests(url, first);
      const rssAfterFirstMiB = statusMiB(front.backendPids(), 'VmRSS');
      requests(url, all - first);
      const rssAfterAllMiB = statusMiB(front.backendPids(), 'VmRSS');
      results.push({ label: peer.label, rssAfterFirstMiB, rssAfterAllMiB, first, all });
    } finally {
      await front.stop();
    }
  }
  return results;
}

/** Runs curl with `args`, feeding it `bytes` zero bytes on stdin when `upload`; its stdout. */
function curl(args: string[], upload: number | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench: curl exited ${code}`))));
    if (upload === null) return void child.stdin.end();
    const chunk = Buffer.alloc(1 << 20);
    let left = upload;
    const write = () => {
      while (left > 0) {
        left -= chunk.length;
        if (!child.stdin.write(left >= 0 ? chunk : chunk.subarray(0, chunk.length + left))) {
          return void child.stdin.once('drain', write);
        }
      }
      child.stdin.end();
    };
    write();
  });
}

/**
 * Peak RSS of a fresh backend while `bytes` stream down (`download`) or up (`upload`) through
 * nginx, and whether every byte arrived.
 */
export async function measureStreamPeak(
  peer: Peer,
  direction: 'download' | 'upload',
  bytes: number,
): Promise<StreamPeak> {
  const front = await startFront(peer, await freePort(), await freePort());
  try {
    const url = `${front.origin}${peer.path}`;
    console.log(`curl ${url} (${peer.label}): ${bytes} bytes ${direction}`);
    const transferred =
      direction === 'download'
        ? Number(await curl(['-o', '/dev/null', '-w', '%{size_download}', url], null))
        : Number(await curl(['-T', '-', '-X', 'POST', '-H', 'Content-Type: application/octet-stream', url], bytes));
    return { label: peer.label, bytes, transferred, peakRssMiB: statusMiB(front.backendPids(), 'VmHWM') };
  } finally {
    await front.stop();
  }
}
