import type { CgiOutput } from '../../response/output.js';

type Listener = (...args: unknown[]) => void;
type SinkEvent = 'drain' | 'close' | 'error' | 'finish';

/**
 * One request's response, the sink the core writes the CGI response to: `send` hands the bytes
 * to the connection, which frames them as the request's STDOUT records when it writes them,
 * and says, as a socket does, whether the writer should wait for 'drain'. Ending it writes
 * nothing: the empty STDOUT record goes out with END_REQUEST, once the exchange's outcome is
 * known. One per request, so it keeps its few listeners in a plain list.
 */
export class StdoutSink implements CgiOutput {
  readonly endsAtOnce = true;
  #listeners: { event: SinkEvent; listener: Listener; once: boolean }[] = [];
  #failure: Error | undefined;

  constructor(readonly send: (data: Uint8Array) => boolean) {}

  write(chunk: Uint8Array | string, callback?: (error?: Error | null) => void): boolean {
    if (this.#failure) {
      if (callback) queueMicrotask(() => callback(this.#failure));
      return false;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const ready = bytes.byteLength === 0 || this.send(bytes);
    if (callback) queueMicrotask(() => callback());
    return ready;
  }

  end(callback?: () => void): void {
    this.#emit('finish');
    callback?.();
  }

  /** The connection can take more: a writer waiting for 'drain' goes on. */
  drained(): void {
    this.#emit('drain');
  }

  /** The request was aborted or its connection lost: the writer stops, the core sees the client gone. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#emit('error', error);
  }

  on(event: SinkEvent, listener: Listener): this {
    this.#listeners.push({ event, listener, once: false });
    return this;
  }

  once(event: SinkEvent, listener: Listener): this {
    this.#listeners.push({ event, listener, once: true });
    return this;
  }

  removeListener(event: SinkEvent, listener: Listener): this {
    const index = this.#listeners.findIndex((entry) => entry.event === event && entry.listener === listener);
    if (index !== -1) this.#listeners.splice(index, 1);
    return this;
  }

  #emit(event: SinkEvent, ...args: unknown[]): void {
    if (this.#listeners.length === 0) return;
    const due = this.#listeners.filter((entry) => entry.event === event);
    if (due.length === 0) return;
    this.#listeners = this.#listeners.filter((entry) => entry.event !== event || !entry.once);
    for (const { listener } of due) listener(...args);
  }
}
