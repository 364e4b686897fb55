/**
 * The app on three hosts behind one nginx, as docs/deploy/many-hosts.md sets it up: each host a
 * network namespace with its own address on a veth link this test makes (and removes), the app
 * started there as the systemd units start it (socket activation, FCGI_WEB_SERVER_ADDRS naming
 * nginx's end of the link), nginx in front with an upstream of all three over FastCGI on TCP.
 * Under a steady load of GETs and POSTs, one host is restarted gracefully, one is killed and one
 * is cut off: no GET fails, no POST is applied twice, and the survivor carries the load.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { buildScript } from '../../src/cli/build.js';
import { nginxBalancedSite, systemdServiceUnit, systemdSocketUnit } from '../servers/configs/many-hosts.js';
import { nginxHarnessConfig } from '../servers/configs/nginx.js';
import { freePort, readLogs } from '../servers/launch.js';
import { createNetnsHosts, type NetnsHosts } from '../servers/netns.js';
import { spawnServer, terminate, waitForHttp } from '../servers/processes.js';
import { createRunDir, installScripts, wwwData } from '../servers/run-dir.js';

const APP_PORT = 9000;
/** How long the load runs, and when each host is hit, in ms from its start. */
const LOAD_MS = 9000;
const RESTART_AT = 1500;
const KILL_AT = 4000;
const CUT_AT = 5500;
/** Requests after this are the survivor's alone. */
const SURVIVOR_FROM = 7500;
const CONCURRENCY = 8;

let runDir = '';
let ledgerDir = '';
let netns: NetnsHosts | undefined;
let nginx: ChildProcess | undefined;
const backends: (ChildProcess | undefined)[] = [];
let pool: Pool | undefined;
let origin = '';

const hostName = (index: number) => `host${index + 1}`;

/**
 * Starts host `index`'s app as systemd would from the units on the deploy page: the socket's
 * ListenStream bound by systemd-socket-activate, the service's ExecStart run as its User with
 * its Environment once a connection comes, LISTEN_FDS telling the app where its socket is.
 */
function startBackend(index: number): ChildProcess {
  const host = netns!.hosts[index]!;
  const units = {
    script: join(runDir, 'docroot/cgi-bin/app.fcgi'),
    listen: `${host.address}:${APP_PORT}`,
    webServers: host.localAddress,
  };
  const socket = /^ListenStream=(.*)$/m.exec(systemdSocketUnit(units))?.[1];
  const service = systemdServiceUnit(units);
  const execStart = /^ExecStart=(.*)$/m.exec(service)?.[1];
  const environment = [...service.matchAll(/^Environment=(.*)$/gm)].map((match) => match[1] ?? '');
  const user = /^User=(.*)$/m.exec(service)?.[1];
  assert.ok(socket && execStart && user, 'the units name a socket, a command and a user');
  const setenv = [...environment, `HOST_NAME=${hostName(index)}`, `LEDGER_DIR=${ledgerDir}`].flatMap((pair) => [
    '-E',
    pair,
  ]);
  return spawnServer(
    [
      '/bin/ip',
      'netns',
      'exec',
      host.namespace,
      '/usr/bin/systemd-socket-activate',
      '-l',
      socket,
      ...setenv,
      '/usr/bin/setpriv',
      `--reuid=${user}`,
      `--regid=${user}`,
      '--clear-groups',
      execStart,
    ],
    join(runDir, `logs/${hostName(index)}.log`),
  );
}

before(async () => {
  // Fails, never skips, where namespaces cannot be made: the check would otherwise be weaker.
  netns = createNetnsHosts(3);
  runDir = await createRunDir('many-hosts');
  ledgerDir = mkdtempSync('/tmp/fetch-cgi-ledger-');
  chmodSync(ledgerDir, 0o755);
  const { uid, gid } = wwwData();
  chownSync(ledgerDir, uid, gid);
  const script = join(runDir, 'build.cjs');
  await buildScript({ entry: new URL('./many-hosts-app.ts', import.meta.url).pathname, outfile: script });
  await installScripts(join(runDir, 'docroot/cgi-bin'), { 'app.fcgi': script });
  for (let index = 0; index < 3; index++) backends[index] = startBackend(index);

  const port = await freePort();
  const site = nginxBalancedSite({
    listen: `127.0.0.1:${port}`,
    serverName: '127.0.0.1',
    backends: netns.hosts.map((host) => `${host.address}:${APP_PORT}`),
    mount: '/app',
    failTimeout: '2s',
    readTimeout: '3s',
  });
  const conf = join(runDir, 'nginx.conf');
  // One worker: the upstream's view of which host failed is then one view.
  writeFileSync(conf, nginxHarnessConfig({ runDir, site, workers: 1 }));
  nginx = spawnServer(
    ['/usr/sbin/nginx', '-e', join(runDir, 'logs/error.log'), '-c', conf],
    join(runDir, 'logs/nginx.log'),
  );
  await waitForHttp(port, () => nginx?.exitCode === null);
  origin = `http://127.0.0.1:${port}`;
  pool = new Pool(origin, { connections: CONCURRENCY });
});

after(async () => {
  await pool?.close();
  const pids = [nginx, ...backends].flatMap((child) => (child?.pid ? [child.pid] : []));
  await terminate(pids).catch(() => {});
  netns?.remove();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
  if (ledgerDir) rmSync(ledgerDir, { recursive: true, force: true });
});

interface Answer {
  method: 'GET' | 'POST';
  /** When it was sent, in ms from the start of the load. */
  at: number;
  status: number;
  body: string;
  order?: string;
}

async function send(method: 'GET' | 'POST', at: number, order: string): Promise<Answer> {
  try {
    const response = await pool!.request({
      // A POST is held longest, after it is applied: at each blow some are in flight.
      path: method === 'GET' ? '/app/?wait=20' : '/app/orders?wait=200',
      method,
      body: method === 'POST' ? order : null,
      headers: method === 'POST' ? { 'content-type': 'text/plain' } : {},
    });
    return { method, at, status: response.statusCode, body: await response.body.text(), order };
  } catch (error) {
    return { method, at, status: 0, body: String(error), order };
  }
}

/** A host's ledger: the orders it applied, one per line. */
function ledger(index: number): string[] {
  const file = join(ledgerDir, `${hostName(index)}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

async function logs(): Promise<string> {
  return readLogs(
    ['error.log', ...[0, 1, 2].map((index) => `${hostName(index)}.log`)].map((name) => join(runDir, 'logs', name)),
  );
}

test('three hosts behind nginx: one restarted, one killed, one cut off, and no GET fails or POST runs twice', async () => {
  // Each app starts on its first connection, as under systemd; until all three answer, the
  // rotation is not yet what the test hits.
  const seen = new Set<string>();
  for (const deadline = Date.now() + 20_000; seen.size < 3;) {
    assert.ok(Date.now() < deadline, `only ${[...seen].join(', ')} answered: ${await logs()}`);
    const answer = await send('GET', 0, '');
    assert.equal(answer.status, 200, answer.body);
    seen.add(answer.body);
  }

  const answers: Answer[] = [];
  const start = Date.now();
  const elapsed = () => Date.now() - start;
  let orders = 0;
  const client = async (index: number) => {
    for (let n = 0; elapsed() < LOAD_MS; n++) {
      const method = (n + index) % 3 === 0 ? 'POST' : 'GET';
      answers.push(await send(method, elapsed(), `order-${(orders += 1)}`));
    }
  };
  const events = async () => {
    await sleep(RESTART_AT);
    // Graceful: SIGTERM, the requests in flight finish, exit 0; then systemd starts it again.
    const restarting = backends[2]!;
    const exited = new Promise<number | null>((resolve) => restarting.on('exit', resolve));
    restarting.kill('SIGTERM');
    assert.equal(await exited, 0, `host3 did not stop cleanly: ${await logs()}`);
    backends[2] = startBackend(2);
    await sleep(KILL_AT - elapsed());
    await postInFlightOn(0);
    backends[0]!.kill('SIGKILL');
    await sleep(CUT_AT - elapsed());
    await postInFlightOn(1);
    netns!.cut(1);
  };
  /**
   * Waits (briefly) until host `index` has applied an order whose answer has not come back, so
   * that the blow that follows always catches one: what proves that no order runs twice.
   */
  const postInFlightOn = async (index: number) => {
    const answered = () => new Set(answers.map((answer) => answer.order));
    for (const deadline = Date.now() + 2000; ; await sleep(5)) {
      const done = answered();
      if (ledger(index).some((order) => !done.has(order))) return;
      assert.ok(Date.now() < deadline, `no POST in flight on ${hostName(index)} within 2 s`);
    }
  };
  await Promise.all([events(), ...Array.from({ length: CONCURRENCY }, (_, index) => client(index))]);

  const gets = answers.filter((answer) => answer.method === 'GET');
  const posts = answers.filter((answer) => answer.method === 'POST');
  const failedGets = gets.filter((answer) => answer.status !== 200);
  assert.deepEqual(
    failedGets.map(({ at, status, body }) => `${at} ms: ${status} ${body.slice(0, 80)}`),
    [],
    `GETs failed: ${await logs()}`,
  );

  const applied = new Map<string, number>();
  for (const index of [0, 1, 2]) for (const order of ledger(index)) applied.set(order, (applied.get(order) ?? 0) + 1);
  const twice = [...applied].filter(([, count]) => count > 1).map(([order]) => order);
  assert.deepEqual(twice, [], 'orders applied more than once');
  const created = posts.filter((answer) => answer.status === 201);
  for (const answer of created)
    assert.equal(applied.get(answer.order ?? ''), 1, `${answer.order} was answered 201 but not applied`);
  // A POST in flight on a host that died may fail (502/504); it is never retried elsewhere.
  const failedPosts = posts.filter((answer) => answer.status !== 201);
  for (const answer of failedPosts)
    assert.ok([502, 504].includes(answer.status), `${answer.order}: ${answer.status} ${answer.body}`);
  // Orders applied whose answer was lost with their host: a retry would have run them twice,
  // so without any the check above proved nothing.
  const lost = failedPosts.filter((answer) => applied.has(answer.order ?? ''));
  assert.ok(lost.length > 0, 'no POST was in flight when a host went away');

  const servedBy = (from: number, to: number) => {
    const counts: Record<string, number> = {};
    for (const answer of gets)
      if (answer.at >= from && answer.at < to) counts[answer.body] = (counts[answer.body] ?? 0) + 1;
    return counts;
  };
  const before = servedBy(0, RESTART_AT);
  for (const index of [0, 1, 2])
    assert.ok((before[hostName(index)] ?? 0) > 0, `nginx spread the load: ${JSON.stringify(before)}`);
  const last = servedBy(SURVIVOR_FROM, LOAD_MS);
  assert.deepEqual(Object.keys(last), ['host3'], `the survivor carries the load: ${JSON.stringify(last)}`);
  assert.ok((last.host3 ?? 0) > 5, `the survivor served only ${last.host3} GETs in the last stretch`);

  console.log(
    `many hosts: ${answers.length} requests in ${LOAD_MS} ms (${gets.length} GET, all 200; ${posts.length} POST, ` +
      `${created.length} created, ${failedPosts.length} failed, ${lost.length} of them applied once); ` +
      `first ${RESTART_AT} ms ${JSON.stringify(before)}, last ${LOAD_MS - SURVIVOR_FROM} ms ${JSON.stringify(last)}`,
  );
});
