import type { ApacheResult } from './apache.js';
import type { StartupResult } from './startup.js';
import type { StreamComparison } from './streaming.js';

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const verdict = (ok: boolean) => (ok ? 'ok' : '**MISS**');

/** The start-up table: median, spread, ratio to `node -e 0` of the same run, RSS, target. */
export function startupTable(results: readonly StartupResult[]): string {
  const lines = [
    '| variant | median ms | p10–p90 ms | ratio to `node -e 0` | issue 5 ratio | peak RSS MiB | target | ok/MISS |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { variant, medianMs, p10Ms, p90Ms, baselineMs, rssMiB } of results) {
    const ratio = medianMs / baselineMs;
    const targets: string[] = [];
    let ok = true;
    if (variant.maxRatio !== undefined) {
      targets.push(`≤ ${variant.maxRatio}x`);
      ok &&= ratio <= variant.maxRatio;
    }
    const peer = results.find((other) => other.variant.name === variant.notSlowerThan);
    if (variant.notSlowerThan !== undefined) {
      targets.push(`≤ ${variant.notSlowerThan}`);
      ok &&= peer !== undefined && medianMs <= peer.medianMs;
    }
    if (variant.maxRssMiB !== undefined) {
      targets.push(`≤ ${variant.maxRssMiB} MiB`);
      ok &&= rssMiB <= variant.maxRssMiB;
    }
    const judged = targets.length > 0;
    lines.push(
      `| ${variant.name} | ${fixed(medianMs)} | ${fixed(p10Ms)}–${fixed(p90Ms)} | ${fixed(ratio, 2)} | ` +
        `${variant.issueRatio ?? ''} | ${fixed(rssMiB)} | ${targets.join(', ')} | ${judged ? verdict(ok) : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Requests/s through Apache, and the judged script's ratio to the reference. */
export function apacheTable(results: readonly ApacheResult[], seconds: number): string {
  const reference = results.find((result) => result.script.reference);
  const lines = [
    `| script (Apache mpm_event + mod_cgid, wrk -t1 -c2 -d${seconds}s) | req/s keep-alive | req/s Connection: close | errors | ratio to hand-written Node (keep-alive / close) | target | ok/MISS |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const { script, keepAlive, close } of results) {
    const ratios =
      reference && !script.reference
        ? [
            keepAlive.requestsPerSecond / reference.keepAlive.requestsPerSecond,
            close.requestsPerSecond / reference.close.requestsPerSecond,
          ]
        : null;
    const judged = script.judged === true && ratios !== null;
    lines.push(
      `| ${script.label} | ${fixed(keepAlive.requestsPerSecond)} | ${fixed(close.requestsPerSecond)} | ${keepAlive.errors + close.errors} | ` +
        `${ratios ? ratios.map((ratio) => fixed(ratio, 2)).join(' / ') : ''} | ${judged ? '≥ 0.85x' : ''} | ` +
        `${judged ? verdict(ratios.every((ratio) => ratio >= 0.85)) : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Streaming throughput of the bridge against the plain Node loops. */
export function streamTable(results: readonly StreamComparison[]): string {
  const lines = [
    '| body | plain Node MB/s | fetch-cgi MB/s | ratio | plain peak RSS MiB | fetch-cgi peak RSS MiB | target | ok/MISS |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { direction, bytes, plain, bridge } of results) {
    const ratio = bridge.megabytesPerSecond / plain.megabytesPerSecond;
    const minRatio = direction === 'out' ? 0.95 : 0.9;
    const size = bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / 2 ** 20} MiB`;
    const what =
      direction === 'out'
        ? `${size} out (64 KiB chunks) vs stdout.write loop with drain`
        : `${size} in vs \`for await (chunk of process.stdin)\``;
    lines.push(
      `| ${what} | ${fixed(plain.megabytesPerSecond, 0)} | ${fixed(bridge.megabytesPerSecond, 0)} | ${fixed(ratio, 2)} | ` +
        `${fixed(plain.rssMiB)} | ${fixed(bridge.rssMiB)} | ≥ ${minRatio}x, ≤ 100 MiB | ` +
        `${verdict(ratio >= minRatio && bridge.rssMiB <= 100)} |`,
    );
  }
  return lines.join('\n');
}
