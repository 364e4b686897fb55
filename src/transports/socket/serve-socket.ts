import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import {
  type ConnectionHost,
  type ConnectionLimits,
  ExchangeGate,
  type HostedConnection,
} from '../../core/connection-host.js';
import type { ExchangeOptions } from '../../core/exchange.js';
import { prepareFetchClasses } from '../../core/fetch-classes.js';
import { FastCgiConnection } from '../../protocols/fastcgi/connection.js';
import { ScgiConnection } from '../../protocols/scgi/connection.js';
import type { CgiApp } from '../../types.js';
import { describeTarget, type ListenTarget } from './listen-address.js';
import { readIntoSharedBuffer } from './shared-read-buffer.js';
import { removeSocketFile } from './socket-file.js';

/** How a long-lived process serves, besides where it listens. */
export interface SocketServeOptions extends Omit<ExchangeOptions, 'lazyRequest'> {
  /**
   * Hand the app a lazy request and make the global `Response` a light one, loading Node's fetch
   * classes only when the app needs them, as a CGI request does (default true; Node only).
   */
  lightFetch?: boolean;
  /** Most requests served at once, all connections together (default 64); more wait. */
  concurrency?: number;
  /** Most connections at once (default 1024); more wait in the listen queue. */
  maxConnections?: number;
  /** Serve this many requests, then stop as on SIGTERM (default: no limit), as php-fpm's pm.max_requests. */
  maxRequests?: number;
  /** Stop when no request came for this many ms (default: never), as mod_fcgid's idle timeout. */
  idleTimeout?: number;
  /** How long a stop waits for requests in flight and their waitUntil work, in ms (default 10 000). */
  gracePeriod?: number;
  /** How long waitUntil work may run after its response, in ms (default 30 000). */
  waitUntilTimeout?: number;
  /** File mode of a unix socket this process creates (default 0o660: owner and group). */
  socketMode?: number;
  /**
   * Addresses that may connect over TCP (default: `FCGI_WEB_SERVER_ADDRS`, a comma-separated
   * list, else anyone who can reach the socket); others are closed at once.
   */
  webServerAddrs?: readonly string[];
  /** Where diagnostics go (default `process.stderr`). */
  stderr?: { write(text: string): unknown };
  /** Connection limits (defaults: 1 MiB of params, 30 s stalls, 1 MiB of body read ahead). */
  limits?: Partial<ConnectionLimits>;
}

/** A listening process: its address, and the way to stop it. */
export interface SocketServer {
  /** Where it listens, as `unix:/path`, `host:port` or `fd:N`. */
  readonly address: string;
  /** Settles with the exit code once the server has stopped (after a stop, max requests, idle). */
  readonly closed: Promise<number>;
  /** Stops taking connections, finishes what is in flight within the grace period, then closes. */
  stop(): Promise<number>;
}

const DEFAULT_LIMITS: ConnectionLimits = {
  maxParamsBytes: 1024 * 1024,
  stallTimeout: 30_000,
  bodyHighWater: 1024 * 1024,
};

const NOT_FASTCGI =
  'This socket speaks FastCGI and SCGI, not HTTP: point a web server at it (nginx fastcgi_pass or scgi_pass, Apache mod_proxy_fcgi, lighttpd mod_fastcgi).\n';

/**
 * Serves `app` over FastCGI and SCGI on `target`, both on one socket: the first byte of a
 * connection tells them apart (1, FastCGI's version, or a digit, SCGI's netstring); anything
 * else gets a short plain-text HTTP 400 and is closed. Resolves once it listens.
 */
export async function serveSocket(
  app: CgiApp,
  target: ListenTarget,
  options: SocketServeOptions = {},
): Promise<SocketServer> {
  const stderr = options.stderr ?? process.stderr;
  const log = (text: string) => void stderr.write(`${text}\n`);
  const gate = new ExchangeGate(options.concurrency ?? 64);
  const connections = new Set<HostedConnection>();
  const background = new Set<Promise<void>>();
  const allowed = options.webServerAddrs ?? webServerAddrsFromEnv();
  let served = 0;
  let stopping = false;
  let idleTimer: NodeJS.Timeout | undefined;

  const host: ConnectionHost = {
    app,
    options: { ...options, lazyRequest: prepareFetchClasses(options.lightFetch ?? true) },
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    log,
    maxExchanges: gate.limit,
    maxConnections: options.maxConnections ?? 1024,
    get stopping() {
      return stopping;
    },
    admit() {
      served += 1;
      clearTimeout(idleTimer);
      if (options.maxRequests !== undefined && served >= options.maxRequests && !stopping) {
        log(`fetch-cgi: served ${served} requests (the maxRequests option); stopping`);
        queueMicrotask(() => void stop());
      }
      return gate.admit();
    },
    release(exchange) {
      gate.release();
      if (exchange.hasBackgroundWork) {
        const work = exchange.settleBackgroundWork(options.waitUntilTimeout ?? 30_000);
        background.add(work);
        void work.finally(() => background.delete(work));
      }
      if (gate.active === 0) armIdleTimer();
    },
  };

  const server = createServer({ allowHalfOpen: true }, (socket) => accept(socket));
  server.maxConnections = host.maxConnections;

  function accept(socket: Socket): void {
    if (
      allowed.length > 0 &&
      socket.remoteAddress !== undefined &&
      !allowed.includes(normalizeAddress(socket.remoteAddress))
    ) {
      log(`fetch-cgi: a connection from ${socket.remoteAddress}, which FCGI_WEB_SERVER_ADDRS does not list; closed`);
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.once('data', (first: Buffer) => {
      const byte = first[0] as number;
      let connection: HostedConnection;
      if (byte === 1) connection = new FastCgiConnection(socket, host);
      else if (byte >= 0x30 && byte <= 0x39) connection = new ScgiConnection(socket, host);
      else return refuseHttp(socket);
      track(socket, connection);
      handOver(socket, first, connection);
      if (stopping) connection.closeIfIdle();
    });
    socket.on('error', () => {});
  }

  function track(socket: Socket, connection: HostedConnection): void {
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  }

  function armIdleTimer(): void {
    if (options.idleTimeout === undefined || stopping) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      log(`fetch-cgi: no request for ${options.idleTimeout} ms (the idleTimeout option); stopping`);
      void stop();
    }, options.idleTimeout);
  }

  let resolveClosed!: (code: number) => void;
  const closed = new Promise<number>((resolve) => (resolveClosed = resolve));
  let stopped: Promise<number> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      clearTimeout(idleTimer);
      server.close();
      for (const connection of connections) connection.closeIfIdle();
      const grace = options.gracePeriod ?? 10_000;
      const finished = Promise.all([gate.idle(), Promise.all(background)]).then(() => true);
      const timer = new Promise<false>((resolve) => setTimeout(resolve, grace, false).unref());
      if (!(await Promise.race([finished, timer]))) {
        log(`fetch-cgi: requests still running ${grace} ms after the stop began; closing their connections`);
      }
      for (const connection of connections) connection.close();
      if (target.kind === 'unix') removeSocketFile(target.path);
      resolveClosed(0);
      return 0;
    })());

  await listen(server, target, options.socketMode ?? 0o660);
  server.on('error', (error) => log(`fetch-cgi: the listening socket failed: ${error.message}`));
  armIdleTimer();
  // A TCP port of 0 is the one the system picked.
  const bound = server.address();
  const address =
    target.kind === 'tcp' && bound && typeof bound === 'object'
      ? describeTarget({ ...target, port: bound.port })
      : describeTarget(target);
  return { address, closed, stop };
}

/**
 * Gives `connection` the first read, taken by the listener that chose the protocol, and every
 * read after it. Called inside that listener, so that no read comes in between.
 */
function handOver(socket: Socket, first: Buffer, connection: HostedConnection): void {
  if (
    connection instanceof FastCgiConnection &&
    readIntoSharedBuffer(socket, (bytes) => connection.receive(bytes, true))
  ) {
    connection.receive(first, false);
    return;
  }
  // The connection listens for 'data' itself: put the first read back for it.
  socket.pause();
  socket.unshift(first);
  socket.resume();
}

/** Something else, most likely HTTP sent to the FastCGI port by mistake: a short 400, closed. */
function refuseHttp(socket: Socket): void {
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(NOT_FASTCGI)}\r\nConnection: close\r\n\r\n${NOT_FASTCGI}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** FCGI_WEB_SERVER_ADDRS: the addresses a FastCGI process accepts connections from. */
function webServerAddrsFromEnv(): string[] {
  const value = process.env.FCGI_WEB_SERVER_ADDRS ?? '';
  return value
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
}

/** An IPv4 address as Node gives it for a dual-stack socket (`::ffff:127.0.0.1`), plain. */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

async function listen(server: Server, target: ListenTarget, socketMode: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (target.kind === 'fd') server.listen({ fd: target.fd }, done);
    else if (target.kind === 'tcp') server.listen({ host: target.host, port: target.port }, done);
    else {
      // A socket file left by an earlier run would make listen fail with EADDRINUSE.
      removeSocketFile(target.path);
      server.listen({ path: target.path }, done);
    }
  });
  if (target.kind === 'unix') chmodSync(target.path, socketMode);
}
