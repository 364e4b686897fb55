import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cgiEnv } from './cgi-env.js';
import { workDir } from './paths.js';
import { median } from './stats.js';

/** Throughput of one script moving `bytes` through stdout or stdin. */
export interface StreamResult {
  megabytesPerSecond: number;
  rssMiB: number;
}

export interface StreamComparison {
  direction: 'out' | 'in';
  bytes: number;
  plain: StreamResult;
  bridge: StreamResult;
}

/**
 * One run: `sh -c` wires the script to `wc -c` (out) or to `head -c BYTES /dev/zero` (in), under
 * GNU time for the peak RSS (the largest process of the pipeline: the script). Throws unless
 * every byte arrived.
 */
function runOnce(direction: 'out' | 'in', script: string, bytes: number): { seconds: number; rssMiB: number } {
  const timeFile = join(workDir, 'stream-rss.txt');
  const pipeline = direction === 'out' ? '"$0" | wc -c' : `head -c ${bytes} /dev/zero | "$0"`;
  const env =
    direction === 'out'
      ? cgiEnv('/stream', { STREAM_BYTES: String(bytes) })
      : cgiEnv('/upload', {
          REQUEST_METHOD: 'POST',
          CONTENT_LENGTH: String(bytes),
          CONTENT_TYPE: 'application/octet-stream',
        });
  const started = process.hrtime.bigint();
  const output = execFileSync('/usr/bin/time', ['-f', '%M', '-o', timeFile, 'sh', '-c', pipeline, script], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rssMiB = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) / 1024;
  rmSync(timeFile, { force: true });
  if (direction === 'out') {
    // The count includes the CGI header, a few dozen bytes.
    const received = Number(output.trim());
    if (!(received >= bytes && received < bytes + 1024))
      throw new Error(`bench: ${script} wrote ${received} bytes, expected ${bytes} + header`);
  } else if (!output.trimEnd().endsWith(`\n${bytes}`) && output.trim() !== String(bytes)) {
    throw new Error(`bench: ${script} did not count ${bytes} bytes in: ${output.slice(0, 300)}`);
  }
  return { seconds, rssMiB };
}

/**
 * Streams `bytes` out of (or into) the plain Node loop and the fetch-cgi bridge, alternating
 * `repeats` times, and reports the median throughput (MB/s, 10^6 bytes) and peak RSS of each.
 */
export function measureStream(
  direction: 'out' | 'in',
  scripts: { plain: string; bridge: string },
  bytes: number,
  repeats: number,
): StreamComparison {
  const samples = {
    plain: [] as Array<{ seconds: number; rssMiB: number }>,
    bridge: [] as Array<{ seconds: number; rssMiB: number }>,
  };
  for (let i = 0; i < repeats; i++) {
    samples.plain.push(runOnce(direction, scripts.plain, bytes));
    samples.bridge.push(runOnce(direction, scripts.bridge, bytes));
  }
  const summarise = (runs: ReadonlyArray<{ seconds: number; rssMiB: number }>): StreamResult => ({
    megabytesPerSecond: bytes / 1e6 / median(runs.map((run) => run.seconds)),
    rssMiB: median(runs.map((run) => run.rssMiB)),
  });
  return { direction, bytes, plain: summarise(samples.plain), bridge: summarise(samples.bridge) };
}
