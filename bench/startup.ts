import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Median of `node -e 0` in the same interleaved run. */
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

/** Runs each variant once with its CGI environment and request body; throws unless it answered. */
export function checkAnswers(variants: readonly StartupVariant[]): void {
  for (const variant of variants) {
    const [command = '', ...args] = variant.argv;
    const run = spawnSync(command, args, { env: envOf(variant), input: variant.body ?? '', encoding: 'utf8' });
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
    execFileSync('/usr/bin/time', ['-f', '%M', '-o', out, ...variant.argv], {
      env: envOf(variant),
      input: variant.body ?? '',
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    samples.push(Number(readFileSync(out, 'utf8').trim().split('\n').at(-1)) / 1024);
  }
  rmSync(out, { force: true });
  return median(samples);
}

/** Writes `strings` as the NUL-terminated list bench/timer.c reads. */
function writeNulList(file: string, strings: readonly string[]): void {
  const bad = strings.find((string) => string.includes('\0'));
  if (bad !== undefined) throw new Error(`bench: NUL inside ${JSON.stringify(bad)}`);
  writeFileSync(file, strings.map((string) => `${string}\0`).join(''));
}

/**
 * Times every variant in one interleaved run of bench/timer.c: each round runs each variant
 * once, with its own CGI environment, so slow drift of the machine hits all rows alike and
 * every ratio compares with the `node -e 0` row of the same run. Then measures peak RSS.
 */
export function measureStartup(
  variants: readonly StartupVariant[],
  timer: string,
  options: StartupOptions,
): StartupResult[] {
  const baselineIndex = variants.findIndex((variant) => variant.name === BASELINE);
  if (baselineIndex < 0) throw new Error('bench: no baseline variant');

  const files = variants.flatMap((variant, index) => {
    const argvFile = join(workDir, `timer-${index}.argv`);
    const envFile = join(workDir, `timer-${index}.env`);
    const bodyFile = join(workDir, `timer-${index}.body`);
    if (variant.body !== undefined) writeFileSync(bodyFile, variant.body);
    // "<FILE" first: the timer gives the command a pipe holding FILE's bytes as stdin.
    writeNulList(argvFile, variant.body === undefined ? variant.argv : [`<${bodyFile}`, ...variant.argv]);
    writeNulList(
      envFile,
      Object.entries(envOf(variant)).map(([name, value]) => `${name}=${value}`),
    );
    return [argvFile, envFile];
  });
  console.log(
    `\n$ timer ${options.runs} ${options.warmup} ... (${variants.length} commands, each with its own CGI environment)`,
  );
  const output = execFileSync(timer, [String(options.runs), String(options.warmup), ...files], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const times = output
    .trimEnd()
    .split('\n')
    .map((line) => line.split(' ').map(Number));
  if (times.length !== variants.length || times.some((row) => row.length !== options.runs)) {
    throw new Error(
      `bench: expected ${variants.length} lines of ${options.runs} times from the timer, got: ${output.slice(0, 300)}`,
    );
  }
  for (const file of files) rmSync(file);
  for (let index = 0; index < variants.length; index++) rmSync(join(workDir, `timer-${index}.body`), { force: true });

  const baselineMs = median(times[baselineIndex] ?? []);
  console.log(`\npeak RSS: ${options.rssRuns} runs of each under /usr/bin/time -f %M`);
  return variants.map((variant, index) => {
    const ms = times[index] ?? [];
    return {
      variant,
      medianMs: median(ms),
      p10Ms: percentile(ms, 10),
      p90Ms: percentile(ms, 90),
      runs: ms.length,
      baselineMs,
      rssMiB: peakRss(variant, options.rssRuns),
    };
  });
}
