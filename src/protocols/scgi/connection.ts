import type { Socket } from 'node:net';
import type { ConnectionHost, HostedConnection } from '../../core/connection-host.js';
import { Exchange } from '../../core/exchange.js';
import { parseHeaderBlock, ScgiProtocolError } from './header-block.js';

/** How long the rest of a body the app did not read may take to arrive before the connection goes. */
const BODY_GRACE_MS = 5000;

/**
 * An SCGI connection: one request, then the connection closes. Reads the header block, runs an
 * exchange whose body is the rest of the socket (up to CONTENT_LENGTH) and whose response, CGI
 * output as SCGI wants it, goes straight to the socket. A malformed header block closes the
 * connection with one line in the log; the process goes on.
 */
export class ScgiConnection implements HostedConnection {
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  #received: Buffer = Buffer.alloc(0);
  #exchange: Exchange | undefined;
  #done = false;
  readonly #stallTimer: NodeJS.Timeout;
  readonly #onData = (chunk: Buffer) => this.#header(chunk);

  constructor(socket: Socket, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    socket.on('data', this.#onData);
    // A closed connection is the only abort SCGI has; web servers close their side only when
    // they give up on the response.
    const gone = () => {
      if (!this.#done) this.#exchange?.clientGone();
    };
    socket.on('end', () => {
      gone();
      if (!this.busy) socket.destroy();
    });
    socket.on('close', gone);
    socket.on('error', () => {});
    this.#stallTimer = setTimeout(() => {
      host.log(`fetch-cgi: scgi: no complete header block for ${host.limits.stallTimeout} ms; closing the connection`);
      socket.destroy();
    }, host.limits.stallTimeout);
    this.#stallTimer.unref();
  }

  /** Whether the request is still being served. */
  get busy(): boolean {
    return this.#exchange !== undefined && !this.#done;
  }

  /** Closes the connection if no request is being served on it (the process is stopping). */
  closeIfIdle(): void {
    if (!this.busy) this.#socket.destroy();
  }

  close(): void {
    this.#socket.destroy();
  }

  #header(chunk: Buffer): void {
    this.#received = this.#received.byteLength === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    let block;
    try {
      block = parseHeaderBlock(this.#received, this.#host.limits.maxParamsBytes);
    } catch (error) {
      const message = error instanceof ScgiProtocolError ? error.message : `scgi: ${String(error)}`;
      this.#host.log(`fetch-cgi: ${message}; closing the connection`);
      clearTimeout(this.#stallTimer);
      this.#socket.destroy();
      return;
    }
    if (!block) return;
    clearTimeout(this.#stallTimer);
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.pause();
    const rest = this.#received.subarray(block.end);
    this.#received = Buffer.alloc(0);
    if (rest.byteLength > 0) socket.unshift(rest);
    const exchange = new Exchange({
      app: this.#host.app,
      params: block.params,
      openBody: () => socket,
      sink: socket,
      log: (text) => this.#host.log(text),
      options: this.#host.options,
    });
    this.#exchange = exchange;
    const admitted = this.#host.admit();
    if (admitted) void admitted.then(() => this.#serve(exchange));
    else this.#serve(exchange);
  }

  #serve(exchange: Exchange): void {
    const answer = exchange.start();
    // Most answers are known at once: no promise to wait on.
    if (answer instanceof Promise) void answer.then(() => this.#ended(exchange));
    else this.#ended(exchange);
  }

  #ended(exchange: Exchange): void {
    this.#host.release(exchange);
    this.#done = true;
    const socket = this.#socket;
    // What the app left of the body is read into nothing until the web server closes its
    // side: closing with request bytes unread would reset the connection under the response.
    socket.on('data', () => {});
    socket.resume();
    if (!socket.writableEnded) socket.end();
    setTimeout(() => socket.destroy(), BODY_GRACE_MS).unref();
  }
}
