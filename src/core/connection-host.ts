import type { CgiApp } from '../types.js';
import type { Exchange, ExchangeOptions } from './exchange.js';

/** Bounds a long-lived process keeps per connection, whatever its protocol. */
export interface ConnectionLimits {
  /** Most bytes of one request's meta-variables (FastCGI PARAMS, SCGI's header block). */
  maxParamsBytes: number;
  /** How long a connection may sit in the middle of a record or a header block, in ms. */
  stallTimeout: number;
  /** Request body bytes buffered for an app that has not read them before the socket is paused. */
  bodyHighWater: number;
}

/** A protocol connection as the process serving it sees it. */
export interface HostedConnection {
  /** Closes the connection now if no request is being served on it. */
  closeIfIdle(): void;
  /** Closes the connection: what still runs on it sees its client gone. */
  close(): void;
}

/**
 * What a protocol connection needs from the process serving it: the app and its options, a
 * log, the limits, and a gate on how many exchanges run at once. The listener provides it;
 * every connection of the process shares it.
 */
export interface ConnectionHost {
  readonly app: CgiApp;
  readonly options: ExchangeOptions;
  readonly limits: ConnectionLimits;
  log(text: string): void;
  /**
   * Takes a slot for one exchange: undefined when one is free now, else a promise of one (the
   * connection reads nothing more meanwhile). Every admit is followed by one {@link release}.
   */
  admit(): Promise<void> | undefined;
  /** Gives back the slot of `exchange`, whose run is over; its waitUntil work goes on apart. */
  release(exchange: Exchange): void;
  /** The process is stopping: a connection closes once it has no exchange left. */
  readonly stopping: boolean;
  /** Most exchanges at once, as FastCGI's GET_VALUES reports it (FCGI_MAX_REQS). */
  readonly maxExchanges: number;
  /** Most connections at once (FCGI_MAX_CONNS). */
  readonly maxConnections: number;
}

/**
 * A counting gate: at most `limit` holders at once, the rest wait in order. `idle` settles
 * whenever no one holds a slot.
 */
export class ExchangeGate {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(readonly limit: number) {}

  get active(): number {
    return this.#active;
  }

  admit(): Promise<void> | undefined {
    if (this.#active < this.limit) {
      this.#active += 1;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    // The slot passes straight to the next in line.
    if (next) return next();
    this.#active -= 1;
    if (this.#active === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  /** Settles once no exchange holds a slot. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }
}
