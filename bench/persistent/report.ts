import { availableParallelism } from 'node:os';
import type { LeakResult, StreamPeak } from './memory.js';
import type { PromotionResult } from './promotion.js';
import type { RowResult } from './measure.js';
import type { LoadResult } from './load.js';
import { median } from '../stats.js';

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const verdict = (ok: boolean) => (ok ? 'ok' : '**MISS**');
const rate = (row: RowResult | undefined, c: number) => row?.byConcurrency.get(c)?.requestsPerSecond ?? Number.NaN;
const cpu = (row: RowResult | undefined, c: number) => row?.byConcurrency.get(c)?.cpuMicrosPerRequest ?? Number.NaN;
const p99 = (row: RowResult | undefined, c: number) => row?.byConcurrency.get(c)?.p99Ms ?? Number.NaN;

/**
 * How `row` did against `reference` at concurrency `c`: the median over the rounds of each
 * round's ratio `better(row's run, reference's run)`, above 1 when `row` did better. The two runs
 * of a round ran seconds apart, so a slow stretch of the machine weighs on both; a ratio of the
 * two cells' medians would compare runs minutes apart.
 */
function pairedRatio(
  row: RowResult,
  reference: RowResult,
  c: number,
  better: (mine: LoadResult, theirs: LoadResult) => number,
): number {
  const mine = row.rounds.get(c) ?? [];
  const theirs = reference.rounds.get(c) ?? [];
  return median(mine.flatMap((run, round) => (theirs[round] ? [better(run, theirs[round])] : [])));
}
const rateBetter = (mine: LoadResult, theirs: LoadResult) => mine.requestsPerSecond / theirs.requestsPerSecond;
const cpuBetter = (mine: LoadResult, theirs: LoadResult) => theirs.cpuMicrosPerRequest / mine.cpuMicrosPerRequest;
const p99Better = (mine: LoadResult, theirs: LoadResult) => theirs.p99Ms / mine.p99Ms;

/**
 * Every row beside the others: req/s, backend CPU per request and p99 at each concurrency (the
 * medians of the rounds). A judged row is held to the issue's targets against the reference
 * serving the same app, round by round (pairedRatio), the CGI row and node-fastcgi: at least
 * 1.0x the reference's req/s and CPU per request (below 0.8x is a defect), p99 at the top
 * concurrency no worse, 20x CGI, ahead of node-fastcgi. SCGI rows are held to 20x CGI and no
 * errors only (the issue reports SCGI beside FastCGI).
 */
export function persistentTable(rows: readonly RowResult[], concurrencies: readonly number[]): string {
  const top = concurrencies.at(-1) ?? 1;
  const cgi = rows.find((row) => row.peer.name === 'cgi');
  const nodeFastcgi = rows.find((row) => row.peer.name === 'node-fastcgi');
  const lines = [
    `| row | app | ${concurrencies.map((c) => `req/s c${c}`).join(' | ')} | ${concurrencies.map((c) => `CPU µs/req c${c}`).join(' | ')} | p99 ms c${top} | errors | vs reference, round by round: req/s (worst c), CPU (worst c), p99 c${top} | target | ok/MISS |`,
    `|---|---|${concurrencies.map(() => '---').join('|')}|${concurrencies.map(() => '---').join('|')}|---|---|---|---|---|`,
  ];
  for (const row of rows) {
    const reference = rows.find((other) => other.peer.role === 'reference' && other.peer.app === row.peer.app);
    const errors = [...row.byConcurrency.values()].reduce((sum, run) => sum + run.errors, 0);
    let versus = '';
    let target = '';
    let judged = '';
    if (reference && row !== reference && row.peer.name !== 'cgi') {
      const rateRatio = Math.min(...concurrencies.map((c) => pairedRatio(row, reference, c, rateBetter)));
      const cpuRatio = Math.min(...concurrencies.map((c) => pairedRatio(row, reference, c, cpuBetter)));
      const p99Ratio = pairedRatio(row, reference, top, p99Better);
      versus = `${fixed(rateRatio, 2)}x, ${fixed(cpuRatio, 2)}x, ${fixed(p99Ratio, 2)}x`;
      if (row.peer.role === 'judged') {
        // SCGI is reported beside FastCGI, held to 20x CGI only: nginx's scgi_pass opens a
        // connection per request, which no backend can make up for.
        const againstReference = row.peer.protocol !== 'scgi';
        const checks = [errors === 0];
        const targets = ['no errors'];
        if (againstReference) {
          checks.push(rateRatio >= 1, cpuRatio >= 1, p99Ratio >= 1);
          targets.unshift('≥ 1.0x req/s and CPU');
          targets.push(`p99 c${top} ≤ reference`);
        }
        if (cgi && row.peer.app === cgi.peer.app) {
          checks.push(concurrencies.every((c) => rate(row, c) >= 20 * rate(cgi, c)));
          targets.push('≥ 20x CGI');
        }
        if (againstReference && nodeFastcgi && row.peer.app === nodeFastcgi.peer.app) {
          checks.push(
            concurrencies.every((c) => rate(row, c) > rate(nodeFastcgi, c) && cpu(row, c) < cpu(nodeFastcgi, c)),
          );
          targets.push('ahead of node-fastcgi');
        }
        target = targets.join(', ');
        judged =
          verdict(checks.every(Boolean)) + (againstReference && rateRatio < 0.8 ? ' (below 0.8x: a defect)' : '');
      }
    }
    lines.push(
      `| ${row.peer.label} | ${row.peer.app} | ${concurrencies.map((c) => fixed(rate(row, c), 0)).join(' | ')} | ` +
        `${concurrencies.map((c) => fixed(cpu(row, c))).join(' | ')} | ${fixed(p99(row, top), 2)} | ${errors} | ${versus} | ${target} | ${judged} |`,
    );
  }
  const one = rows.find((row) => row.peer.name === 'fetch-cgi-workers-1');
  const two = rows.find((row) => row.peer.name === 'fetch-cgi-workers-2');
  if (one && two) {
    lines.push(
      '',
      `Workers on this machine's ${availableParallelism()} cores, a CPU-bound route: 2 workers answer ` +
        `${concurrencies.map((c) => `${fixed(rate(two, c) / rate(one, c), 2)}x the req/s of 1 at c${c}`).join(', ')} ` +
        '(2.0x would be linear; nginx and wrk share the same cores).',
    );
  }
  if (cgi) {
    const fastcgi = rows.find((row) => row.peer.name === 'fetch-cgi-fastcgi');
    lines.push(
      '',
      `FastCGI against CGI, the same built file: ${concurrencies.map((c) => `${fixed(rate(fastcgi, c) / rate(cgi, c), 0)}x at c${c}`).join(', ')}.`,
    );
  }
  return lines.join('\n');
}

/** Resident size after the first requests and after all of them; a leak shows as growth. */
export function leakTable(results: readonly LeakResult[]): string {
  const lines = [
    '| backend | RSS MiB after first | RSS MiB after all | growth | target | ok/MISS |',
    '|---|---|---|---|---|---|',
  ];
  for (const { label, rssAfterFirstMiB, rssAfterAllMiB, first, all } of results) {
    const growth = rssAfterAllMiB / rssAfterFirstMiB;
    const judged = label.startsWith('fetch-cgi');
    lines.push(
      `| ${label} (${first.toLocaleString('en-US')} / ${all.toLocaleString('en-US')} requests) | ${fixed(rssAfterFirstMiB)} | ${fixed(rssAfterAllMiB)} | ${fixed((growth - 1) * 100)}% | ${judged ? '≤ 10%' : ''} | ${judged ? verdict(growth <= 1.1) : ''} |`,
    );
  }
  return lines.join('\n');
}

/**
 * What the young generation promoted while the measured requests ran, beside the reference
 * serving the same app at the same concurrency. A request's objects should all die young: a
 * judged row may promote at most a tenth of a percentage point more of what it allocates than the
 * reference does.
 */
export function promotionTable(results: readonly PromotionResult[]): string {
  const lines = [
    '| backend | app | c | requests | scavenges | allocated MiB | promoted KiB | promoted share | median scavenge ms | mark-compacts | target | ok/MISS |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const share = (result: PromotionResult) => (100 * result.promotedBytes) / result.allocatedBytes;
  for (const result of results) {
    const reference = results.find(
      (other) => other.role === 'reference' && other.app === result.app && other.concurrency === result.concurrency,
    );
    const judged = result.role === 'judged' && reference !== undefined;
    const target = judged ? `≤ reference's + 0.1 points (${fixed(share(reference) + 0.1, 2)}%)` : '';
    lines.push(
      `| ${result.label} | ${result.app} | ${result.concurrency} | ${result.requests.toLocaleString('en-US')} | ${result.scavenges} | ` +
        `${fixed(result.allocatedBytes / 2 ** 20)} | ${fixed(result.promotedBytes / 1024)} | ${fixed(share(result), 2)}% | ` +
        `${fixed(result.medianScavengeMs, 2)} | ${result.markCompacts} | ${target} | ${judged ? verdict(share(result) <= share(reference) + 0.1) : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Peak resident size of a FastCGI backend while a big body goes through it. */
export function streamPeakTable(results: readonly StreamPeak[]): string {
  const lines = ['| transfer | bytes | arrived | peak RSS MiB | target | ok/MISS |', '|---|---|---|---|---|---|'];
  for (const { label, bytes, transferred, peakRssMiB } of results) {
    lines.push(
      `| ${label} | ${bytes} | ${transferred} | ${fixed(peakRssMiB)} | all bytes, ≤ 100 MiB | ${verdict(transferred === bytes && peakRssMiB <= 100)} |`,
    );
  }
  return lines.join('\n');
}
