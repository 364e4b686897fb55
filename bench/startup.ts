import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cgiEnv } from './cgi-env.js';
import { workDir } from './paths.js';
import { median, percentile } from './stats.js';
import { BASELINE, type StartupVariant } from './variants.js';

/** Start-up timings of one variant, in milliseconds, and the baseline it is compared with. */
export interface StartupResult {
  variant: StartupVariant;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  runs: number;
  /** Median of `node -e 0` in the same hyperfine invocation. */
  baselineMs: number;
  /** Median peak RSS over the RSS runs, in MiB. */
  rssMiB: number;
}

export interface StartupOptions {
  runs: number;
  warmup: number;
  rssRuns: number;
}

function envOf(variant: StartupVariant): Record<string, string> {
  return cgiEnv(variant.pathInfo, variant.extraEnv ?? {});
}

/** Runs each variant once with its CGI environment and stdin from /dev/null; throws unless it answered. */
export function checkAnswers(variants: readonly StartupVariant[]): void {
  for (const variant of variants) {
    const [command = '', ...args] = variant.argv;
    const run = spawnSync(command, args, { env: envOf(variant), stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0 || !run.stdout.includes(variant.expect)) {
      throw new Error(
        `bench: ${variant.name} did not answer (exit ${run.status}, expected ${JSON.stringify(variant.expect)})\n` +
          `stdout: ${run.stdout.slice(0, 500)}\nstderr: ${run.stderr.slice(0, 500)}`,
      );
    }
  }
}

/** Median peak RSS (MiB) of `runs` runs under GNU time. */
function peakRss(variant: StartupVariant, runs: number): number {
  const out = join(workDir, 'rss.txt');
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    execFileSync('/usr/bin/time', ['-f', '%M', '-o', out, ...variant.argv], { env: envOf(variant), stdio: 'ignore' });
    samples.push(Number(readFileSync(out, 'utf8').trim().split('\n').at(-1)) / 1024);
  }
  rmSync(out, { force: true });
  return median(samples);
}

/** A command line for `hyperfine -N`, which splits it like a shell. */
function commandLine(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w./@:=-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(' ');
}

interface HyperfineJson {
  results: Array<{ command: string; median: number; times: number[] }>;
}

/**
 * Times the variants with hyperfine (`-N`: no shell, stdout a pipe, stdin /dev/null), one
 * invocation per distinct CGI environment, each with `node -e 0` first so that every ratio
 * compares with a baseline from the same invocation; then measures peak RSS.
 */
export function measureStartup(variants: readonly StartupVariant[], options: StartupOptions): StartupResult[] {
  const baseline = variants.find((variant) => variant.name === BASELINE);
  if (!baseline) throw new Error('bench: no baseline variant');
  const groups = new Map<string, StartupVariant[]>();
  for (const variant of variants) {
    if (variant === baseline) continue;
    const key = JSON.stringify([variant.pathInfo, variant.extraEnv ?? {}]);
    groups.set(key, [...(groups.get(key) ?? []), variant]);
  }

  const results: StartupResult[] = [];
  let group = 0;
  for (const members of groups.values()) {
    const first = members[0];
    if (!first) continue;
    const groupBaseline = {
      ...baseline,
      pathInfo: first.pathInfo,
      ...(first.extraEnv ? { extraEnv: first.extraEnv } : {}),
    };
    const withBaseline = [groupBaseline, ...members];
    const json = join(workDir, `hyperfine-${group++}.json`);
    const args = [
      '-N',
      '--style',
      'basic',
      '--output',
      'pipe',
      '--warmup',
      String(options.warmup),
      '--runs',
      String(options.runs),
    ];
    args.push('--export-json', json);
    for (const variant of withBaseline) args.push('--command-name', variant.name, commandLine(variant.argv));
    console.log(
      `\n$ hyperfine ${args
        .filter((arg) => !arg.startsWith('/work'))
        .slice(0, 9)
        .join(' ')} ... (${withBaseline.length} commands, PATH_INFO=${first.pathInfo})`,
    );
    execFileSync('hyperfine', args, { env: envOf(first), stdio: ['ignore', 'inherit', 'inherit'] });
    const parsed = JSON.parse(readFileSync(json, 'utf8')) as HyperfineJson;
    const msOf = (index: number) => (parsed.results[index]?.times ?? []).map((seconds) => seconds * 1000);
    const baselineMs = median(msOf(0));
    withBaseline.forEach((variant, index) => {
      // The baseline is reported once, from the first invocation.
      if (index === 0 && results.some((result) => result.variant === baseline)) return;
      const times = msOf(index);
      results.push({
        variant: index === 0 ? baseline : variant,
        medianMs: median(times),
        p10Ms: percentile(times, 10),
        p90Ms: percentile(times, 90),
        runs: times.length,
        baselineMs,
        rssMiB: Number.NaN,
      });
    });
  }

  console.log(`\npeak RSS: ${options.rssRuns} runs of each under /usr/bin/time -f %M`);
  for (const result of results) result.rssMiB = peakRss(result.variant, options.rssRuns);
  // Report in the order the variants were given, not the order of the invocations.
  return results.toSorted((a, b) => variants.indexOf(a.variant) - variants.indexOf(b.variant));
}
