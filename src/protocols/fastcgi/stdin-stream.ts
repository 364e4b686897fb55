import type { NodeReadable } from '../../request/readable-body.js';

type Listener = (...args: never[]) => void;

/**
 * One request's STDIN records as the body source the core reads in push mode (it looks like a
 * paused Node Readable: 'data', 'end', 'error', pause and resume). What arrives before the app
 * reads is queued; past `highWater` bytes the connection is told to stop reading (`onFull`),
 * and to go on once the app has taken them (`onRoom`). Once the exchange is over, the rest is
 * dropped as it comes.
 */
export class StdinStream implements NodeReadable {
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #paused = true;
  #ended = false;
  #endEmitted = false;
  #failure: unknown;
  #discarding = false;
  #full = false;

  constructor(
    readonly highWater: number,
    readonly onFull: () => void,
    readonly onRoom: () => void,
  ) {}

  /** Whether the empty STDIN record has arrived. */
  get ended(): boolean {
    return this.#ended;
  }

  /** A STDIN record's content. */
  push(chunk: Buffer): void {
    if (this.#discarding || this.#ended || chunk.byteLength === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.byteLength;
    this.#flush();
    if (!this.#full && this.#queued > this.highWater) {
      this.#full = true;
      this.onFull();
    }
  }

  /** The empty STDIN record: the body is complete. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#flush();
  }

  /** The request was aborted or its connection lost: a reader gets `error`. */
  fail(error: unknown): void {
    if (this.#ended || this.#failure !== undefined) return;
    this.#failure = error;
    this.#emit('error', error);
  }

  /** The exchange is over: what is queued and what still comes is dropped. */
  discard(): void {
    this.#discarding = true;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#roomMade();
  }

  on(event: string, listener: Listener): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off(event: string, listener: Listener): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.#flush();
    return this;
  }

  #flush(): void {
    while (!this.#paused && this.#queue.length > 0 && this.#listeners.get('data')?.size) {
      const chunk = this.#queue.shift() as Buffer;
      this.#queued -= chunk.byteLength;
      this.#emit('data', chunk);
    }
    if (this.#queued <= this.highWater / 2) this.#roomMade();
    if (this.#ended && !this.#endEmitted && this.#queue.length === 0 && !this.#paused) {
      this.#endEmitted = true;
      this.#emit('end');
    }
  }

  #roomMade(): void {
    if (!this.#full) return;
    this.#full = false;
    this.onRoom();
  }

  #emit(event: string, ...args: unknown[]): void {
    // A copy: a listener may remove itself (or another) while the event is delivered.
    for (const listener of Array.from(this.#listeners.get(event) ?? [])) {
      (listener as (...values: unknown[]) => void)(...args);
    }
  }
}
