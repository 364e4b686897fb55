/**
 * Starts one bench backend with one nginx worker in front of it, as a site on this machine
 * would run it: FastCGI through a kept-alive upstream pool (`fastcgi_keep_conn`), SCGI (one
 * connection per request, as the protocol has it), HTTP through `proxy_pass` with a kept-alive
 * pool. The nginx configuration of the FastCGI and SCGI rows is the one docs/deploy/ shows.
 */
import { writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nginxHarnessConfig } from '../../tests/servers/configs/nginx.js';
import { nginxAppSite } from '../../tests/servers/configs/nginx-persistent.js';
import { readLogs, type Started, startProcess } from '../../tests/servers/launch.js';
import { terminate, waitForHttp, withDescendants } from '../../tests/servers/processes.js';
import { createRunDir } from '../../tests/servers/run-dir.js';
import type { Peer } from './peers.js';
import { CLIENT_CORE, onCore, SERVER_CORE } from './placement.js';

/** Connections nginx keeps open to the backend between requests: enough for concurrency 64. */
const POOL = 64;

export interface Front {
  origin: string;
  /** The core wrk runs on against this front, or none when the row keeps every core (placement.ts). */
  clientCore: number | undefined;
  /** The backend's processes (php-fpm's children included), read when called. */
  backendPids(): number[];
  logs(): Promise<string>;
  /** What the backend wrote to its stdout and stderr so far. */
  backendLog(): Promise<string>;
  stop(): Promise<void>;
}

function proxySite(port: number, backendPort: number): string {
  return `upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive ${POOL};
}

server {
    listen 127.0.0.1:${port};
    server_name 127.0.0.1;

    location /app/ {
        proxy_pass http://backend/;
        # HTTP/1.1 without "Connection: close": the pool's connections stay open.
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
    }
}
`;
}

async function waitForPort(port: number, alive: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`bench: the backend exited before listening on ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => resolve(true));
      socket.on('error', () => resolve(false));
      socket.on('connect', () => socket.destroy());
    });
    if (open) return;
    await sleep(25);
  }
  throw new Error(`bench: nothing listens on ${port} after ${timeoutMs} ms`);
}

/** Starts `peer` on `backendPort` and nginx on `port`; both free ports chosen by the caller. */
export async function startFront(peer: Peer, port: number, backendPort: number): Promise<Front> {
  const runDir = await createRunDir(`bench-${peer.name}`);
  const logFiles = [join(runDir, 'logs/error.log'), join(runDir, 'logs/backend.log'), join(runDir, 'logs/php-fpm.log')];
  const started: Started[] = [];
  const stop = async () => {
    await terminate(withDescendants(started.flatMap(({ child }) => (child.pid ? [child.pid] : []))));
    await rm(runDir, { recursive: true, force: true });
  };
  try {
    const setup = peer.setup?.(backendPort, runDir);
    if (setup) writeFileSync(setup.file, setup.text);
    // nginx and the backend on one core, wrk on the other (placement.ts); children inherit it.
    const serverCore = peer.everyCore ? undefined : SERVER_CORE;
    const backend = startProcess(
      onCore(serverCore, peer.command(backendPort, runDir)),
      join(runDir, 'logs/backend.log'),
    );
    started.push(backend);
    const alive = () => backend.child.exitCode === null && backend.child.signalCode === null;
    await waitForPort(backendPort, alive);

    const site =
      peer.protocol === 'http'
        ? proxySite(port, backendPort)
        : nginxAppSite({
            listen: `127.0.0.1:${port}`,
            serverName: '127.0.0.1',
            protocol: peer.protocol,
            backend: `127.0.0.1:${backendPort}`,
            keepConn: peer.protocol === 'fastcgi',
            keepalive: POOL,
            ...(peer.scriptFilename ? { scriptFilename: peer.scriptFilename } : {}),
            mount: '/app',
          });
    const conf = join(runDir, 'nginx.conf');
    // One worker: the bench measures the backend, and nginx shares its core with it (placement.ts).
    writeFileSync(conf, nginxHarnessConfig({ runDir, site, workers: 1 }));
    const nginx = startProcess(
      onCore(serverCore, ['/usr/sbin/nginx', '-e', logFiles[0] ?? '', '-c', conf]),
      join(runDir, 'logs/nginx.log'),
    );
    started.push(nginx);
    await waitForHttp(port, () => nginx.child.exitCode === null);
    return {
      origin: `http://127.0.0.1:${port}`,
      clientCore: peer.everyCore ? undefined : CLIENT_CORE,
      backendPids: () => (backend.child.pid ? withDescendants([backend.child.pid]) : []),
      logs: () => readLogs(logFiles),
      backendLog: () => readFile(join(runDir, 'logs/backend.log'), 'utf8'),
      stop,
    };
  } catch (error) {
    const logs = await readLogs(logFiles);
    await stop();
    throw new Error(`bench: ${peer.label} did not start: ${(error as Error).message}\n${logs}`, { cause: error });
  }
}
