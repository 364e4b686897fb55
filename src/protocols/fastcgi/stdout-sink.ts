import { type CgiOutput, outputEvents } from '../../response/output.js';
import { encodeStream, FCGI } from './records.js';

/**
 * One request's response as STDOUT records (at most 65528 bytes of content each): the sink the
 * core writes the CGI response to. `send` puts bytes on the connection and says, as a socket
 * does, whether it wants the writer to wait for 'drain'. Ending it writes nothing: the empty
 * STDOUT record goes out with END_REQUEST, once the exchange's outcome is known.
 */
export class StdoutSink implements CgiOutput {
  readonly #events = outputEvents();
  #failure: Error | undefined;

  constructor(
    readonly requestId: number,
    readonly send: (bytes: Buffer) => boolean,
  ) {}

  write(chunk: Uint8Array | string, callback?: (error?: Error | null) => void): boolean {
    if (this.#failure) {
      if (callback) queueMicrotask(() => callback(this.#failure));
      return false;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const ready = bytes.byteLength === 0 || this.send(encodeStream(FCGI.STDOUT, this.requestId, bytes));
    if (callback) queueMicrotask(() => callback());
    return ready;
  }

  end(callback?: () => void): void {
    this.#events.emit('finish');
    callback?.();
  }

  /** The connection can take more: a writer waiting for 'drain' goes on. */
  drained(): void {
    this.#events.emit('drain');
  }

  /** The request was aborted or its connection lost: the writer stops, the core sees the client gone. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#events.emit('error', error);
  }

  on(event: 'drain' | 'close' | 'error' | 'finish', listener: (...args: unknown[]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  once(event: 'drain' | 'close' | 'error' | 'finish', listener: (...args: unknown[]) => void): this {
    this.#events.once(event, listener);
    return this;
  }

  removeListener(event: 'drain' | 'close' | 'error' | 'finish', listener: (...args: unknown[]) => void): this {
    this.#events.removeListener(event, listener);
    return this;
  }
}
