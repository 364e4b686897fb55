import { type CgiOutput, outputEvents } from '../../response/output.js';
import { nodeFs } from '../../runtime/node-fs.js';
import { redirectNativeConsole } from './native-console.js';

export interface StdoutStream {
  stream: NodeJS.WriteStream;
  /** The stream's own write, which the app's `process.stdout.write` no longer reaches. */
  write: (chunk: Uint8Array, callback?: (error?: Error | null) => void) => boolean;
}

/**
 * Makes `process.stdout` lazy and harmless: the stream (and the modules behind it) is built
 * only when something asks, and whatever the app writes to it goes to stderr instead.
 */
export function lazyStdout(): () => StdoutStream {
  const descriptor = Object.getOwnPropertyDescriptor(process, 'stdout');
  const getStdout = descriptor?.get ?? (() => descriptor?.value as NodeJS.WriteStream);
  let built: StdoutStream | undefined;
  const build = () => {
    if (!built) {
      const stream = getStdout.call(process) as NodeJS.WriteStream;
      built = { stream, write: stream.write.bind(stream) as StdoutStream['write'] };
      stream.write = ((...args: Parameters<typeof process.stderr.write>) =>
        process.stderr.write(...args)) as typeof stream.write;
    }
    return built;
  };
  Object.defineProperty(process, 'stdout', { configurable: true, enumerable: true, get: () => build().stream });
  return build;
}

/**
 * Bun and Deno: stray console output and `process.stdout` writes go to stderr. `process.stdout`
 * becomes a stand-in that reaches `process.stderr` only when used: on Bun, redefining the
 * property or reading the stream costs ~6 ms a start, while a plain assignment is free.
 */
export function nativeStdout(): undefined {
  redirectNativeConsole();
  const toStderr = new Proxy({} as NodeJS.WriteStream, {
    get(_, key) {
      const stderr = process.stderr as unknown as Record<PropertyKey, unknown>;
      const value = stderr[key];
      return typeof value === 'function' ? value.bind(stderr) : value;
    },
  });
  try {
    (process as { stdout: NodeJS.WriteStream }).stdout = toStderr;
  } catch {
    // A runtime that will not let it be replaced: console output is redirected all the same.
  }
  return undefined;
}

/**
 * The HTTP channel on fd 1. The first write (the head, with the whole body when it is in
 * memory) is a blocking write on the descriptor, so a plain response never builds the stream
 * machinery; a streamed body goes on through Node's own stdout stream, whose non-blocking
 * writes move data through a pipe about twice as fast as blocking ones (see writeStreamed).
 */
export function hybridStdout(stdout: (() => StdoutStream) | undefined): CgiOutput {
  const { emit, ...events } = outputEvents();
  let writes = 0;
  let failed: unknown;
  let streamed: StdoutStream | undefined;
  const fail = (error: unknown) => {
    if (failed !== undefined) return;
    failed = error;
    emit('error', error);
  };
  return {
    write(chunk, callback) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      writes += 1;
      if (failed === undefined && writes > 1 && !streamed && stdout) {
        streamed = stdout();
        streamed.stream.on('drain', () => emit('drain'));
        streamed.stream.on('error', fail);
      }
      if (streamed) return failed === undefined && writeStreamed(streamed, bytes, callback);
      if (failed === undefined) {
        try {
          writeAll(1, bytes);
        } catch (error) {
          // Like a stream: the error is reported on the next tick, to the 'error' listeners.
          process.nextTick(() => fail(error));
        }
      }
      if (callback) process.nextTick(() => callback(failed as Error | null | undefined));
      return failed === undefined;
    },
    end(callback) {
      const finish = () => {
        emit('finish');
        callback?.();
      };
      // Ending Node's stdout waits until every queued write has reached the descriptor.
      if (streamed && failed === undefined) streamed.stream.end(finish);
      // Blocking writes are done when they return: nothing to wait for, not even a tick.
      else finish();
    },
    ...events,
  };
}

/**
 * A streamed chunk goes straight to fd 1, which Node's stream has made non-blocking, whenever
 * nothing is queued in the stream: Writable's bookkeeping for each write costs about as much
 * as copying 64 KiB into the pipe (~30 ms a GiB). What the descriptor does not take, and any
 * error, goes through the stream, which waits for the pipe and reports the error as it always
 * does.
 */
function writeStreamed(
  stdout: StdoutStream,
  bytes: Uint8Array,
  callback: ((error?: Error | null) => void) | undefined,
): boolean {
  let written = 0;
  if (stdout.stream.writableLength === 0) {
    try {
      written = nodeFs().writeSync(1, bytes);
    } catch {
      // EAGAIN (a full pipe) or a broken one: the stream's own write deals with both.
    }
    if (written === bytes.byteLength) {
      if (callback) process.nextTick(callback);
      return true;
    }
  }
  return stdout.write(written === 0 ? bytes : bytes.subarray(written), callback);
}

/** Writes all of `bytes` to `fd`, waiting (briefly) where a non-blocking fd is full. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.byteLength) {
    try {
      offset += nodeFs().writeSync(fd, bytes, offset, bytes.byteLength - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      // The server left the descriptor non-blocking: wait for it to drain.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
