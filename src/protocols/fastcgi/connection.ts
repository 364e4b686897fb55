import type { Duplex } from 'node:stream';
import type { ConnectionHost, HostedConnection } from '../../core/connection-host.js';
import { Exchange, type Outcome } from '../../core/exchange.js';
import { quote } from '../../http/quote.js';
import type { CgiEnv } from '../../types.js';
import { decodePairs, encodePairs } from './name-value.js';
import {
  encodeRecord,
  encodeStream,
  endOfStream,
  endRequest,
  FastCgiProtocolError,
  FCGI,
  RecordReader,
  streamRecordsLength,
  unknownType,
  writeStream,
} from './records.js';
import { RequestTable } from './request-table.js';
import { StdinStream } from './stdin-stream.js';
import { StdoutSink } from './stdout-sink.js';

/** One request on a connection, from BEGIN_REQUEST to END_REQUEST. */
interface Request {
  id: number;
  role: number;
  keepConn: boolean;
  params: Buffer[];
  paramsBytes: number;
  /** Set once the empty PARAMS record has arrived and the exchange was started. */
  exchange?: Exchange;
  /** The body, made when the app reads it or STDIN brings data (most requests have none). */
  stdin?: StdinStream;
  /** Whether the empty STDIN record has come (or, for an Authorizer, none will). */
  stdinEnded: boolean;
  sink: StdoutSink;
}

/** STDOUT's empty record and END_REQUEST, as one buffer, by request id and app status. */
const endings = new Map<number, Buffer>();
function ending(id: number, status: number): Buffer {
  const key = id * 2 + status;
  let bytes = endings.get(key);
  if (!bytes) {
    bytes = Buffer.concat([endOfStream(FCGI.STDOUT, id), endRequest(id, status)]);
    // Web servers use a few ids each (nginx: 1); others are not kept.
    if (id < 64) endings.set(key, bytes);
  }
  return bytes;
}

/** The most bytes #flush copies into one buffer to write them at once. */
const COPY_LIMIT = 16 * 1024;

/** The exit status END_REQUEST reports for an outcome, as a CGI script's exit code would. */
function appStatus(outcome: Outcome): number {
  return outcome.kind === 'failed' || outcome.kind === 'timed-out' ? 1 : 0;
}

/**
 * A FastCGI connection (the FastCGI 1.0 specification): reads records, runs an exchange per
 * request (several at once when the web server multiplexes), streams each request's STDIN into
 * its body and its response out as STDOUT records, and ends each with exactly one END_REQUEST.
 * Management records get GET_VALUES_RESULT or UNKNOWN_TYPE. A record that breaks the protocol
 * closes this connection with one line in the log; the process goes on.
 */
export class FastCgiConnection implements HostedConnection {
  readonly #socket: Duplex;
  readonly #host: ConnectionHost;
  readonly #reader: RecordReader;
  readonly #requests = new RequestTable<Request>();
  /** Why reading is paused: a request's body queue is full, or the process is at its limit. */
  readonly #holds = new Set<unknown>();
  /** Requests begun whose params are still coming (no exchange yet). */
  #awaitingParams = 0;
  #closed = false;
  /** The bytes being read belong to the reader and are overwritten after this read. */
  #borrowed = false;
  /**
   * Bytes #send took that are not written yet: the first #unsentCount slots of a list kept
   * from one flush to the next (emptying an array with `length = 0` frees its storage, and the
   * next push allocates it again, once a request).
   */
  #unsent: (Uint8Array | undefined)[] = [];
  /** For each slot, the request whose STDOUT its bytes are (framed when written), or -1: records already. */
  readonly #unsentStdout: number[] = [];
  #unsentCount = 0;
  #unsentBytes = 0;
  /** An exchange is in its synchronous part: a response written now may end at once. */
  #running = false;
  #flushScheduled = false;
  #stallTimer: NodeJS.Timeout | undefined;

  constructor(socket: Duplex, host: ConnectionHost) {
    this.#socket = socket;
    this.#host = host;
    this.#reader = new RecordReader((type, requestId, content) => this.#onRecord(type, requestId, content));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      for (const request of this.#requests.values()) request.sink.drained();
    });
    // A web server closes its side only when it is done with the connection (or gives up on
    // it); nothing more can be asked on it, and what runs loses its client.
    socket.on('end', () => this.#close());
    socket.on('close', () => this.#lost('the connection closed'));
    socket.on('error', () => this.#lost('the connection failed'));
  }

  /** How many requests are open on this connection. */
  get openRequests(): number {
    return this.#requests.size;
  }

  /** Closes the connection if no request is open on it (the process is stopping). */
  closeIfIdle(): void {
    if (this.#requests.size === 0 && !this.#reader.inRecord) this.#close();
  }

  /**
   * Takes bytes read from the socket other than through its 'data' event. `borrowed` bytes are
   * overwritten once this returns, so the connection copies what it keeps of them. Returns
   * whether it wants more now (not while a body queue is full or the process at its limit).
   */
  receive(bytes: Buffer, borrowed: boolean): boolean {
    this.#borrowed = borrowed;
    this.#onData(bytes);
    this.#borrowed = false;
    if (borrowed) this.#ownPendingParams();
    // Reading goes on after a close: a web server may still be sending a body the app left
    // (mod_fcgid writes all of it before it reads the answer), and it is read off and dropped.
    return this.#holds.size === 0;
  }

  /** Params still waiting for their empty record are views of the read: they become copies. */
  #ownPendingParams(): void {
    if (this.#awaitingParams === 0) return;
    for (const request of this.#requests.values()) {
      if (!request.exchange && request.params.length > 0) request.params = [Buffer.concat(request.params)];
    }
  }

  #onData(chunk: Buffer): void {
    try {
      this.#reader.push(chunk);
    } catch (error) {
      return this.#protocolError(error);
    }
    this.#watchStall();
  }

  #onRecord(type: number, requestId: number, content: Buffer): void {
    if (this.#closed) return;
    if (requestId === FCGI.NULL_REQUEST_ID) return this.#management(type, content);
    switch (type) {
      case FCGI.BEGIN_REQUEST:
        return this.#begin(requestId, content);
      case FCGI.ABORT_REQUEST:
        return this.#abort(requestId);
      case FCGI.PARAMS:
        return this.#params(requestId, content);
      case FCGI.STDIN:
        return this.#stdin(requestId, content);
      case FCGI.DATA:
        // Only the Filter role reads DATA, and this side refuses that role at BEGIN_REQUEST.
        return;
      default:
        throw new FastCgiProtocolError(`fastcgi: a record of type ${type} for request ${requestId}`);
    }
  }

  #management(type: number, content: Buffer): void {
    if (type !== FCGI.GET_VALUES) return void this.#send(unknownType(type));
    const asked = decodePairs(content);
    const known: Record<string, string> = {
      FCGI_MAX_CONNS: String(this.#host.maxConnections),
      FCGI_MAX_REQS: String(this.#host.maxExchanges),
      FCGI_MPXS_CONNS: '1',
    };
    const answer = Object.keys(asked)
      .filter((name) => Object.hasOwn(known, name))
      .map((name): [string, string] => [name, known[name] as string]);
    this.#send(encodeRecord(FCGI.GET_VALUES_RESULT, FCGI.NULL_REQUEST_ID, encodePairs(answer)));
  }

  #begin(id: number, content: Buffer): void {
    if (content.byteLength < 8)
      throw new FastCgiProtocolError(`fastcgi: BEGIN_REQUEST ${id} is ${content.byteLength} bytes long, not 8`);
    // A BEGIN_REQUEST for a request that is still open is ignored (specification, section 3.3).
    if (this.#requests.has(id)) return;
    const role = content.readUInt16BE(0);
    const keepConn = ((content[2] as number) & FCGI.KEEP_CONN) !== 0;
    if (role !== FCGI.RESPONDER && role !== FCGI.AUTHORIZER) {
      this.#send(endRequest(id, 0, FCGI.UNKNOWN_ROLE));
      if (!keepConn) this.#close();
      return;
    }
    const sink = new StdoutSink((data) => this.#take(data, id));
    this.#requests.set(id, { id, role, keepConn, params: [], paramsBytes: 0, stdinEnded: false, sink });
    this.#awaitingParams += 1;
  }

  #params(id: number, content: Buffer): void {
    const request = this.#requests.get(id);
    if (!request || request.exchange) return;
    if (content.byteLength > 0) {
      request.paramsBytes += content.byteLength;
      if (request.paramsBytes > this.#host.limits.maxParamsBytes) {
        throw new FastCgiProtocolError(
          `fastcgi: the params of request ${id} pass the ${this.#host.limits.maxParamsBytes}-byte limit`,
        );
      }
      // A view of the chunk read, decoded when the empty PARAMS record comes (most often in
      // the same chunk): no copy for the usual single record.
      request.params.push(content);
      return;
    }
    const params: CgiEnv = decodePairs(
      request.params.length === 1 ? (request.params[0] as Buffer) : Buffer.concat(request.params),
    );
    request.params = [];
    if (request.role === FCGI.AUTHORIZER) {
      params.FCGI_ROLE ??= 'AUTHORIZER';
      // An Authorizer gets no STDIN (specification, section 6.3).
      request.stdinEnded = true;
    }
    this.#start(request, params);
  }

  /** The request's body stream, made when first needed. */
  #stdinOf(request: Request): StdinStream {
    if (!request.stdin) {
      const stdin = new StdinStream(
        this.#host.limits.bodyHighWater,
        () => this.#hold(stdin),
        () => this.#release(stdin),
      );
      if (request.stdinEnded) stdin.end();
      request.stdin = stdin;
    }
    return request.stdin;
  }

  #start(request: Request, params: CgiEnv): void {
    const exchange = new Exchange({
      app: this.#host.app,
      params,
      openBody: () => this.#stdinOf(request),
      sink: request.sink,
      log: (text) => this.#host.log(text),
      options: this.#host.options,
    });
    request.exchange = exchange;
    this.#awaitingParams -= 1;
    const admitted = this.#host.admit();
    if (admitted) {
      const slot = {};
      this.#hold(slot);
      void admitted.then(() => {
        this.#release(slot);
        this.#run(request, exchange);
      });
    } else {
      this.#run(request, exchange);
    }
  }

  #run(request: Request, exchange: Exchange): void {
    this.#running = true;
    const answer = exchange.start();
    this.#running = false;
    // Answered at once (most requests): the response and END_REQUEST go out in one write now.
    if (!(answer instanceof Promise)) return this.#ended(request, exchange, answer);
    // What the exchange wrote before it had to wait goes out after this turn.
    if (this.#unsentCount > 0) this.#flushSoon();
    void answer.then((outcome) => this.#ended(request, exchange, outcome));
  }

  #ended(request: Request, exchange: Exchange, outcome: Outcome): void {
    this.#host.release(exchange);
    this.#finish(request, outcome);
  }

  #finish(request: Request, outcome: Outcome): void {
    request.stdin?.discard();
    this.#forget(request);
    if (this.#closed) return;
    this.#send(ending(request.id, appStatus(outcome)));
    this.#flush();
    if (!request.keepConn || (this.#host.stopping && this.#requests.size === 0)) this.#close();
  }

  #stdin(id: number, content: Buffer): void {
    const request = this.#requests.get(id);
    if (!request) return;
    if (content.byteLength === 0) {
      request.stdinEnded = true;
      request.stdin?.end();
    } else {
      this.#stdinOf(request).push(this.#borrowed ? Buffer.from(content) : content);
    }
  }

  #forget(request: Request): void {
    if (this.#requests.delete(request.id) && !request.exchange) this.#awaitingParams -= 1;
  }

  /** ABORT_REQUEST: the client went away. The exchange stops quietly and ends with END_REQUEST. */
  #abort(id: number): void {
    const request = this.#requests.get(id);
    if (!request) return;
    const error = new Error('fetch-cgi: the web server aborted the request (ABORT_REQUEST)');
    request.stdin?.fail(error);
    request.sink.fail(error);
    // Not started yet (params still coming): nothing runs, so it ends here.
    if (!request.exchange) this.#finish(request, { kind: 'gone', reason: 'client' });
  }

  /**
   * Takes bytes for the socket and writes them after the exchange's synchronous part (#run)
   * or this turn of the event loop, all in one write: a response that ends at once goes out
   * with its END_REQUEST, one still streaming in one write a turn. A write to a socket costs a
   * system call, more than the rest of a small request. Returns whether the writer may go on;
   * when not, the socket's 'drain' tells it when.
   */
  #send(records: Buffer): boolean {
    return this.#take(records, -1);
  }

  /** Takes `data` as request `stdoutOf`'s STDOUT, framed into records as it is written; or, with -1, records. */
  #take(data: Uint8Array, stdoutOf: number): boolean {
    if (this.#closed) return false;
    // While an exchange runs, #run decides when its bytes go.
    if (this.#unsentCount === 0 && !this.#running) this.#flushSoon();
    this.#unsent[this.#unsentCount] = data;
    this.#unsentStdout[this.#unsentCount] = stdoutOf;
    this.#unsentCount += 1;
    this.#unsentBytes += stdoutOf === -1 ? data.byteLength : streamRecordsLength(data.byteLength);
    const socket = this.#socket;
    if (socket.writableLength + this.#unsentBytes < socket.writableHighWaterMark) return true;
    // Past the socket's high-water mark: written now, so that the socket's own answer (false,
    // and a 'drain' to come) is the one the writer waits on.
    return this.#flush();
  }

  /** Flushes after this turn of the event loop, unless something flushes sooner. */
  #flushSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushLater);
  }

  readonly #flushLater = () => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /**
   * Writes what #send took; returns what the socket's write returned. Small batches (a whole
   * response and its END_REQUEST, most often) are copied into one buffer: one write, without
   * the bookkeeping of a corked writev. Large ones are written as they are, corked.
   */
  #flush(): boolean {
    const unsent = this.#unsent;
    const stdoutOf = this.#unsentStdout;
    const count = this.#unsentCount;
    if (count === 0) return true;
    const socket = this.#socket;
    let ready = false;
    if (socket.destroyed) {
      // The connection is gone (#lost): nothing can be written.
    } else if (count === 1 && stdoutOf[0] === -1) ready = socket.write(unsent[0] as Buffer);
    else if (this.#unsentBytes <= COPY_LIMIT) {
      const whole = Buffer.allocUnsafe(this.#unsentBytes);
      let at = 0;
      for (let index = 0; index < count; index++) {
        const bytes = unsent[index] as Uint8Array;
        const id = stdoutOf[index] as number;
        if (id === -1) {
          whole.set(bytes, at);
          at += bytes.byteLength;
        } else at = writeStream(whole, at, FCGI.STDOUT, id, bytes);
      }
      ready = socket.write(whole);
    } else {
      socket.cork();
      for (let index = 0; index < count; index++) {
        const bytes = unsent[index] as Uint8Array;
        const id = stdoutOf[index] as number;
        ready = socket.write(id === -1 ? bytes : encodeStream(FCGI.STDOUT, id, bytes));
      }
      socket.uncork();
    }
    // A turn that wrote many chunks does not leave its long list behind.
    if (count > 64) {
      this.#unsent = [];
      stdoutOf.length = 0;
    } else unsent.fill(undefined, 0, count);
    this.#unsentCount = 0;
    this.#unsentBytes = 0;
    return ready;
  }

  #hold(reason: unknown): void {
    this.#holds.add(reason);
    this.#socket.pause();
  }

  #release(reason: unknown): void {
    this.#holds.delete(reason);
    if (this.#holds.size === 0 && !this.#closed) this.#socket.resume();
  }

  /** A half-read record or request must not hold the connection forever. */
  #watchStall(): void {
    clearTimeout(this.#stallTimer);
    if (!this.#reader.inRecord && !this.#paramsPending()) return;
    this.#stallTimer = setTimeout(() => {
      this.#host.log(
        `fetch-cgi: fastcgi: no complete record for ${this.#host.limits.stallTimeout} ms; closing the connection`,
      );
      this.#close();
    }, this.#host.limits.stallTimeout);
    this.#stallTimer.unref();
  }

  /** Whether a request's params are still coming (no exchange yet). */
  #paramsPending(): boolean {
    return this.#awaitingParams > 0;
  }

  #protocolError(error: unknown): void {
    const message = error instanceof FastCgiProtocolError ? error.message : `fastcgi: ${quote(String(error))}`;
    this.#host.log(`fetch-cgi: ${message}; closing the connection`);
    this.#close();
  }

  /** The web server went away: every open request stops, and no END_REQUEST can reach it. */
  #lost(why: string): void {
    if (this.#closed && this.#requests.size === 0) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    const error = new Error(`fetch-cgi: ${why}`);
    for (const request of this.#requests.values()) {
      request.stdin?.fail(error);
      request.sink.fail(error);
      if (!request.exchange) this.#forget(request);
    }
  }

  close(): void {
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#stallTimer);
    const error = new Error('fetch-cgi: the connection was closed');
    for (const request of this.#requests.values()) {
      request.stdin?.fail(error);
      request.sink.fail(error);
    }
    this.#flush();
    this.#socket.end();
  }
}
