/**
 * A FastCGI client, the web server's side of the protocol: what nginx or Apache send and how
 * they read the answer. The tests drive the responder with it, including what no server sends
 * (interleaved requests, aborts, GET_VALUES, raw bytes).
 */
import { connect, type Socket } from 'node:net';
import { decodePairs, encodePairs } from '../protocols/fastcgi/name-value.js';
import {
  beginRequestBody,
  encodeRecord,
  encodeStream,
  endOfStream,
  FCGI,
  RecordReader,
} from '../protocols/fastcgi/records.js';

/** How a request ended, from its END_REQUEST record. */
export interface EndRequest {
  appStatus: number;
  protocolStatus: number;
}

/** One request in flight on a {@link FastCgiClient}. */
export interface ClientRequest {
  readonly id: number;
  /** STDOUT content as it arrives, ending at the empty STDOUT record (or END_REQUEST). */
  readonly stdout: AsyncIterable<Uint8Array>;
  /** The whole STDOUT, once the request has ended. */
  output(): Promise<Buffer>;
  /** STDERR content received so far. */
  stderr(): string;
  /** Settles with END_REQUEST's fields; rejects if the connection ends first. */
  readonly ended: Promise<EndRequest>;
  /** How many END_REQUEST records arrived for this id (the responder must send exactly one). */
  endRequests(): number;
  /** Sends ABORT_REQUEST for it. */
  abort(): void;
}

interface Pending {
  chunks: Buffer[];
  waiters: (() => void)[];
  done: boolean;
  stderr: string;
  ends: number;
  resolve(end: EndRequest): void;
  reject(error: Error): void;
}

/** Sends `params` as PARAMS records cut at `splitAt` bytes, to exercise pairs split anywhere. */
export function paramsRecords(requestId: number, params: Record<string, string>, splitAt = 65528): Buffer[] {
  const encoded = encodePairs(Object.entries(params));
  const records: Buffer[] = [];
  for (let start = 0; start < encoded.byteLength; start += splitAt) {
    records.push(encodeRecord(FCGI.PARAMS, requestId, encoded.subarray(start, start + splitAt)));
  }
  records.push(endOfStream(FCGI.PARAMS, requestId));
  return records;
}

/** A FastCGI client over one connection. */
export class FastCgiClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #values: ((values: Record<string, string>) => void)[] = [];
  readonly #unknown: ((type: number) => void)[] = [];
  #nextId = 1;
  #closed: Promise<void>;

  /** Connects to a unix socket path or `{ host, port }`. */
  static connect(to: string | { host: string; port: number }): Promise<FastCgiClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof to === 'string' ? connect(to) : connect(to.port, to.host);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new FastCgiClient(socket));
      });
    });
  }

  constructor(socket: Socket) {
    this.#socket = socket;
    const reader = new RecordReader((type, requestId, content) => this.#onRecord(type, requestId, content));
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch {
        // Not FastCGI (an HTTP 400 from a socket that took this for something else).
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.#closed.then(() => {
      for (const pending of this.#pending.values()) {
        pending.done = true;
        for (const wake of pending.waiters.splice(0)) wake();
        pending.reject(new Error('fastcgi client: the connection closed before END_REQUEST'));
      }
    });
  }

  /** Settles when the responder (or this side) has closed the connection. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Writes raw bytes: records made by hand, or garbage. */
  send(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  /**
   * Starts a request: BEGIN_REQUEST, its params (cut at `paramsSplit` bytes), and its body as
   * STDIN records ending with the empty one. With `hold`, the body's end waits for `finish()`.
   */
  request(
    params: Record<string, string>,
    options: {
      body?: Uint8Array | Uint8Array[];
      keepConn?: boolean;
      role?: number;
      id?: number;
      paramsSplit?: number;
      /** Leave STDIN open: send the body's records and its end with the returned request's `finish`. */
      hold?: boolean;
    } = {},
  ): ClientRequest & { finish(body?: Uint8Array): void } {
    const id = options.id ?? this.#nextId++;
    const request = this.#track(id);
    this.send(
      encodeRecord(FCGI.BEGIN_REQUEST, id, beginRequestBody(options.role ?? FCGI.RESPONDER, options.keepConn ?? false)),
    );
    for (const record of paramsRecords(id, params, options.paramsSplit)) this.send(record);
    const chunks = options.body === undefined ? [] : Array.isArray(options.body) ? options.body : [options.body];
    const finish = (body?: Uint8Array) => {
      if (body) this.send(encodeStream(FCGI.STDIN, id, body));
      this.send(endOfStream(FCGI.STDIN, id));
    };
    for (const chunk of chunks) this.send(encodeStream(FCGI.STDIN, id, chunk));
    if (!options.hold) finish();
    return { ...request, finish };
  }

  /** Asks GET_VALUES for `names`; settles with GET_VALUES_RESULT's pairs. */
  getValues(names: string[]): Promise<Record<string, string>> {
    const answer = new Promise<Record<string, string>>((resolve) => this.#values.push(resolve));
    this.send(encodeRecord(FCGI.GET_VALUES, 0, encodePairs(names.map((name) => [name, '']))));
    return answer;
  }

  /** Settles with the type an UNKNOWN_TYPE record names. */
  nextUnknownType(): Promise<number> {
    return new Promise((resolve) => this.#unknown.push(resolve));
  }

  close(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #track(id: number): ClientRequest {
    let resolve!: (end: EndRequest) => void;
    let reject!: (error: Error) => void;
    const ended = new Promise<EndRequest>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    ended.catch(() => {});
    const pending: Pending = { chunks: [], waiters: [], done: false, stderr: '', ends: 0, resolve, reject };
    this.#pending.set(id, pending);
    let read = 0;
    const stdout: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          while (read >= pending.chunks.length && !pending.done)
            await new Promise<void>((wake) => pending.waiters.push(wake));
          if (read < pending.chunks.length) return { done: false, value: pending.chunks[read++] as Buffer };
          return { done: true, value: undefined };
        },
      }),
    };
    return {
      id,
      stdout,
      output: async () => {
        await ended.catch(() => {});
        return Buffer.concat(pending.chunks);
      },
      stderr: () => pending.stderr,
      ended,
      endRequests: () => pending.ends,
      abort: () => this.send(encodeRecord(FCGI.ABORT_REQUEST, id)),
    };
  }

  #onRecord(type: number, requestId: number, content: Buffer): void {
    if (type === FCGI.GET_VALUES_RESULT) {
      this.#values.shift()?.(decodePairs(content));
      return;
    }
    if (type === FCGI.UNKNOWN_TYPE) {
      this.#unknown.shift()?.(content[0] as number);
      return;
    }
    const pending = this.#pending.get(requestId);
    if (!pending) return;
    if (type === FCGI.STDOUT) {
      if (content.byteLength === 0) pending.done = true;
      else pending.chunks.push(Buffer.from(content));
      for (const wake of pending.waiters.splice(0)) wake();
    } else if (type === FCGI.STDERR) {
      pending.stderr += content.toString();
    } else if (type === FCGI.END_REQUEST) {
      pending.ends += 1;
      pending.done = true;
      for (const wake of pending.waiters.splice(0)) wake();
      pending.resolve({ appStatus: content.readUInt32BE(0), protocolStatus: content[4] as number });
    }
  }
}
