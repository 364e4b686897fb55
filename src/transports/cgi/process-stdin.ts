import { nodeFs } from '../../runtime/node-fs.js';
import type { BodyLength, BodySource } from '../../request/request-body.js';

/** Bodies up to this size are read from fd 0 directly; larger ones through `process.stdin`. */
const DIRECT_LIMIT = 1024 * 1024;
const READ_SIZE = 64 * 1024;

/**
 * The most of a declared body left unread that is read and dropped before the process ends
 * (docs/api.md, "Unread request bodies"). A larger rest is left alone at once: reading part of it
 * would not save the response. Go's net/http server stops at 256 KiB, but it only loses the
 * connection's reuse by stopping; under mod_cgid a script loses its response, so the bound is
 * set where the time bound below, not the size, is what normally ends a slow upload.
 */
export const DISCARD_LIMIT = 16 * 1024 * 1024;
/** The longest the discarding may take: a client that trickles its body cannot hold the process. */
export const DISCARD_TIMEOUT = 5000;

/**
 * The process's stdin (fd 0) as the request body, with a count of the bytes taken off it, so
 * that what the app left of a declared body can be read and dropped before the process ends.
 * That matters under Apache mod_cgid, whose one socket carries both the body and the response:
 * a script that exits with request bytes still unread makes the kernel reset that socket, and
 * Apache loses the response it already had (`AH00574 ... Connection reset by peer`).
 */
export class ProcessStdin {
  /** Bytes read from fd 0 with `fs.read`. */
  #direct = 0;
  /** `process.stdin`, once something reads through it. */
  #stream: NodeJS.ReadStream | undefined;
  /** A direct read in progress: fd 0 is read by one reader at a time. */
  #reading: Promise<unknown> | undefined;
  #pendingReads = 0;
  #directStarted = false;

  /**
   * Whether the app started reading the body: a direct read was asked for, or process.stdin
   * was set flowing (`readableFlowing` stays null until something reads or listens for data).
   */
  get started(): boolean {
    return this.#directStarted || (this.#stream !== undefined && this.#stream.readableFlowing !== null);
  }

  /**
   * The body source for `length` bytes. One of known length up to 1 MiB (form posts, JSON) is
   * read with `fs.read` on fd 0: `process.stdin` builds a net.Socket for a pipe, about 5 ms a
   * start. Each such read waits in libuv's thread pool, so timers still fire; that hop is why a
   * larger body, or one read to EOF, goes through `process.stdin`.
   */
  open(length: BodyLength): BodySource {
    return typeof length === 'number' && length <= DIRECT_LIMIT ? this.#directChunks(length) : this.#processStdin();
  }

  /**
   * Whether a direct read waits for data. It waits in libuv's thread pool, which `process.exit`
   * joins, so a process with such a read never exits while stdin stalls.
   */
  get reading(): boolean {
    return this.#pendingReads > 0;
  }

  /** How many bytes have been taken off fd 0 so far (read by the app, or buffered for it). */
  get consumed(): number {
    return this.#direct + (this.#stream?.bytesRead ?? 0);
  }

  /** Whether {@link dropRest} has something to do: a rest of a declared body within the limit. */
  hasRestToDrop(length: BodyLength): boolean {
    if (typeof length !== 'number') return false;
    const left = length - this.consumed;
    return left > 0 && left <= DISCARD_LIMIT;
  }

  /**
   * Reads and drops what is left of a body of `length` bytes, at most {@link DISCARD_LIMIT}
   * bytes and {@link DISCARD_TIMEOUT} ms; never reads past `length`, so it never waits for an
   * EOF that mini_httpd, whose stdin is the client's socket, never sends. A body read to EOF
   * (no length) is left alone for the same reason.
   */
  async dropRest(length: BodyLength): Promise<void> {
    if (!this.hasRestToDrop(length)) return;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, DISCARD_TIMEOUT)));
    const stop = { requested: false };
    try {
      await Promise.race([this.#discard(length as number, stop), expired]);
    } catch {
      // A broken stdin has nothing left to save.
    } finally {
      stop.requested = true;
      clearTimeout(timer);
    }
  }

  async #discard(length: number, stop: { requested: boolean }): Promise<void> {
    await this.#reading?.catch(() => {});
    // Through process.stdin, which waits for data in the event loop: a direct read of a stalled
    // stdin would wait in libuv's thread pool, and keep the process from ever exiting.
    if (!stop.requested) await this.#discardStream(this.#processStdin(), length, stop);
  }

  /** Lets `stream` flow into nothing until `length` bytes have been taken off fd 0. */
  #discardStream(stream: NodeJS.ReadStream, length: number, stop: { requested: boolean }): Promise<void> {
    if (this.consumed >= length) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        stream.off('data', onData);
        stream.off('end', done);
        stream.off('error', done);
        stream.pause();
        resolve();
      };
      const onData = () => {
        if (stop.requested || this.consumed >= length) done();
      };
      stream.on('data', onData);
      stream.once('end', done);
      stream.once('error', done);
      stream.resume();
    });
  }

  async *#directChunks(length: number): AsyncGenerator<Uint8Array> {
    this.#directStarted = true;
    for (let left = length; left > 0;) {
      const buffer = Buffer.allocUnsafe(Math.min(left, READ_SIZE));
      let count: number;
      try {
        count = await this.#read(buffer, buffer.byteLength);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        // The server left the descriptor non-blocking: process.stdin waits for the rest.
        yield* this.#processStdin();
        return;
      }
      if (count === 0) return;
      left -= count;
      yield buffer.subarray(0, count);
    }
  }

  #processStdin(): NodeJS.ReadStream {
    this.#stream ??= process.stdin;
    return this.#stream;
  }

  #read(buffer: Buffer, size: number): Promise<number> {
    this.#pendingReads += 1;
    const reading = new Promise<number>((resolve, reject) => {
      nodeFs().read(0, buffer, 0, size, null, (error, count) => {
        this.#pendingReads -= 1;
        if (error) return reject(error);
        this.#direct += count;
        resolve(count);
      });
    });
    this.#reading = reading;
    return reading;
  }
}
