/**
 * The benchmark of issue 5: start-up of every variant and peer, requests/s through Apache,
 * streaming throughput. `bash bench/run.sh` (npm run bench) installs what it needs and runs
 * this; BENCH_QUICK=1 runs a short smoke version that writes bench/.tmp/quick.md instead of
 * bench/results/latest.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type ApacheScript, measureApache } from './apache.js';
import { benchDir, bunPath, workDir } from './paths.js';
import { type Built, prepare } from './prepare.js';
import { persistentChart } from './persistent/chart.js';
import { measureCgi, measurePeers } from './persistent/measure.js';
import { measureLeaks, measureStreamPeak } from './persistent/memory.js';
import { persistentPeers, streamPeers } from './persistent/peers.js';
import { measurePromotion } from './persistent/promotion.js';
import { leakTable, persistentTable, promotionTable, streamPeakTable } from './persistent/report.js';
import { apacheTable, startupTable, streamTable } from './report.js';
import { checkAnswers, measureStartup } from './startup.js';
import { measureStream } from './streaming.js';
import { startupVariants } from './variants.js';

const quick = process.env['BENCH_QUICK'] === '1';
const settings = quick
  ? {
      runs: 10,
      warmup: 2,
      rssRuns: 3,
      wrkSeconds: 2,
      streamBytes: 64 * 2 ** 20,
      streamRepeats: 1,
      leakRequests: 5_000,
      promotionRequests: [1_000, 5_000] as const,
    }
  : {
      runs: 120,
      warmup: 5,
      rssRuns: 20,
      wrkSeconds: 10,
      streamBytes: 2 ** 30,
      streamRepeats: 9,
      leakRequests: 100_000,
      promotionRequests: [5_000, 30_000] as const,
    };

const started = Date.now();
// Two cores: anything else running skews every number. Recorded per phase, shown in the report.
const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const loads: string[] = [`start ${loadAverage()}`];
if (loadAverage() > 0.5) {
  console.log(
    `bench: warning: 1-minute load average is ${loadAverage()}: something else is running; the numbers will be noisy`,
  );
}
const leaked = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'].filter((name) => process.env[name] !== undefined);
if (leaked.length > 0) {
  console.log(
    `bench: warning: ${leaked.join(', ')} set in the benchmark's own environment (run it through bench/run.sh)`,
  );
}
console.log(
  'bench: every measured process gets a CGI environment built from nothing (env -i with PATH and the CGI variables)',
);

const version = (argv: string[]) =>
  execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' })
    .trim()
    .split('\n')[0];
const machine = [
  `Node ${version(['node', '--version'])}, Bun ${version([bunPath, '--version'])}`,
  `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Linux ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}`,
  `fetch-cgi at ${execFileSync('git', ['describe', '--always', '--dirty'], { cwd: benchDir, encoding: 'utf8' }).trim()}`,
].join('; ');

console.log('\n== building the benchmark apps');
const built = await prepare();
const variants = startupVariants(built);
checkAnswers(variants);

console.log(
  `\n== start-up: ${settings.warmup} warm-up + ${settings.runs} timed rounds, each running every variant once`,
);
const startup = measureStartup(variants, built.timer, settings);
loads.push(`after start-up ${loadAverage()}`);

console.log('\n== Apache requests/s');
const apacheScripts: ApacheScript[] = [
  { name: 'node', label: 'hand-written Node CGI', path: built.nodeHandwritten, reference: true },
  { name: 'hono', label: 'Hono hello, fetch-cgi build', path: built.honoHello, judged: true },
  { name: 'naive', label: 'Hono hello, naive bridge, esbuild CJS bundle', path: built.naiveHelloCjs },
  { name: 'python', label: 'hand-written Python CGI', path: built.pythonHandwritten },
  { name: 'wsgiref', label: 'Python wsgiref CGIHandler', path: built.wsgiref },
  { name: 'go', label: 'Go net/http/cgi', path: built.go },
];
const apache = await measureApache(apacheScripts, settings.wrkSeconds);
loads.push(`after Apache ${loadAverage()}`);

console.log(
  '\n== persistent mode through one nginx worker: fetch-cgi FastCGI and SCGI beside node-server and the peers',
);
const concurrencies = [1, 16, 64];
// Many short rounds rather than a few long ones: a judged cell is the median of its rounds' ratios,
// and single runs here move 10-20% with the machine, so the count of rounds settles it.
const loadSettings = { concurrencies, seconds: 2, rounds: quick ? 1 : 10, warmupSeconds: quick ? 1 : 3 };
const peers = persistentPeers(built);
const persistentRows = [await measureCgi(built.honoHello, loadSettings), ...(await measurePeers(peers, loadSettings))];
loads.push(`after persistent ${loadAverage()}`);
const helloRows = persistentRows.filter((row) => row.peer.app === 'hello');
const chart = persistentChart(
  helloRows.filter((row) => row.peer.name !== 'cgi'),
  concurrencies,
  `Hono hello through one nginx worker, ${cpus().length} cores (${new Date().toISOString().slice(0, 10)})`,
);
const leakPeers = peers.filter((peer) => peer.name === 'fetch-cgi-fastcgi' || peer.name === 'node-server');
const leaks = await measureLeaks(leakPeers, 1000, settings.leakRequests);
// The 500-route app answers through a promise (Hono's JSX renders inside AsyncLocalStorage):
// the path where a request's objects once outlived it.
const promotionPeers = peers.filter((peer) => peer.name === 'fetch-cgi-fastcgi-500' || peer.name === 'node-server-500');
const [promotionWarmup, promotionCount] = settings.promotionRequests;
const promotion = await measurePromotion(promotionPeers, [1, 64], promotionWarmup, promotionCount);
const streamBackends = streamPeers(built, settings.streamBytes);
const streamPeaks = [
  await measureStreamPeak(streamBackends.download, 'download', settings.streamBytes),
  await measureStreamPeak(streamBackends.upload, 'upload', settings.streamBytes),
];
loads.push(`after memory ${loadAverage()}`);

console.log(`\n== streaming ${settings.streamBytes} bytes, ${settings.streamRepeats} runs each`);
const streams = [
  measureStream(
    'out',
    { plain: built.streamOutPlain, bridge: built.streamOut },
    settings.streamBytes,
    settings.streamRepeats,
  ),
  measureStream(
    'in',
    { plain: built.streamInPlain, bridge: built.streamIn },
    settings.streamBytes,
    settings.streamRepeats,
  ),
];

loads.push(`end ${loadAverage()}`);
const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const report = [
  `# fetch-cgi benchmark${quick ? ' (BENCH_QUICK: too few runs to mean anything)' : ''}`,
  '',
  `${new Date().toISOString().slice(0, 10)}; ${machine}. Every process ran with a CGI environment built from nothing ` +
    '(PATH and the variables Apache sets for a GET, or a POST for the JSON rows; no NODE_OPTIONS or NODE_EXTRA_CA_CERTS), stdin from /dev/null (a pipe holding the body for a POST), ' +
    `stdout a pipe. ${settings.runs} timed rounds after ${settings.warmup} warm-up (bench/timer.c, fork to waitpid): ` +
    'every round runs each variant once, in a shuffled order, so drift of the machine hits all rows alike; ' +
    `each ratio is to \`node -e 0\` of the same run. ${settings.rssRuns} RSS runs per variant. Took ${minutes} min. ` +
    `1-minute load average (the benchmark alone keeps it near 1, 2–3 under wrk; much more means something else ran): ${loads.join(', ')}.`,
  '',
  '## Start-up (one GET per process)',
  '',
  startupTable(startup),
  '',
  `Sizes of the standalone builds (\`fetch-cgi build --standalone\`: Bun inside): ${standaloneSizes(built)}.`,
  '',
  '## Through Apache',
  '',
  apacheTable(apache, settings.wrkSeconds),
  '',
  '## Persistent mode through nginx (one worker), beside node-server and the peers',
  '',
  `wrk -t1 --latency, keep-alive, after a warm-up: every cell run ${loadSettings.rounds} times for ${loadSettings.seconds} s, each after 1 s of unmeasured load, ` +
    'interleaved with the other rows (all started at once, loaded one at a time, every other round in reverse order), ' +
    'the median shown; every backend on a loopback TCP port; wrk alone on core 0, nginx and the backend on core 1 ' +
    '(bench/persistent/placement.ts; the CGI and workers rows unpinned); ' +
    "CPU µs/req is the backend's user + system time across the run (from /proc/<pid>/stat) over the requests served. " +
    "A judged row runs straight after its reference in each round and is compared with it round by round: each ratio is the median of the rounds' ratios " +
    '(the two rows ran seconds apart in each round), so at least 1.0x means ahead in most rounds.',
  '',
  persistentTable(persistentRows, concurrencies),
  '',
  '![requests per second against concurrency](persistent.svg)',
  '',
  '### Memory',
  '',
  leakTable(leaks),
  '',
  "Promotion to V8's old generation (`--trace-gc-nvp`), ApacheBench keep-alive, a fresh backend per row, " +
    `after ${settings.promotionRequests[0].toLocaleString('en-US')} warm-up requests:`,
  '',
  promotionTable(promotion),
  '',
  streamPeakTable(streamPeaks),
  '',
  '## Streaming (median of ' + settings.streamRepeats + ')',
  '',
  streamTable(streams),
  '',
].join('\n');

const outfile = quick ? join(workDir, 'quick.md') : join(benchDir, 'results/latest.md');
mkdirSync(join(outfile, '..'), { recursive: true });
writeFileSync(outfile, report);
writeFileSync(join(outfile, '../persistent.svg'), chart);
// The picture docs/performance.md shows: only a full run replaces it.
if (!quick) writeFileSync(join(benchDir, '../docs/persistent.svg'), chart);
console.log(`\n${report}\nbench: wrote ${outfile}`);

/** `hello 106.6 MiB, ...`: the size of each standalone build, which carries its runtime. */
function standaloneSizes(files: Built): string {
  const sizes = {
    hello: files.honoHelloStandalone,
    '500 pages': files.honoPagesStandalone,
    '500 routes': files.hono500Standalone,
  };
  return Object.entries(sizes)
    .map(([name, file]) => `${name} ${(statSync(file).size / 1024 / 1024).toFixed(1)} MiB`)
    .join(', ');
}
