import type { Stats } from 'node:fs';
import { bunOutput, bunStderrIsOutput } from './bun-output.js';
import { redirectNativeConsole } from './native-console.js';
import { nodeFs } from './node-fs.js';
import { type CgiOutput, outputEvents } from './output.js';

/** What serveCgi needs from the process when it runs on the process's own streams. */
export interface ProcessIo {
  /** The HTTP channel: fd 1, bypassing the redirect of stray output. */
  output: CgiOutput;
  /** Called when the server sends SIGTERM before the response is complete. */
  onTerminate(listener: () => void): void;
  /** Marks the response as complete: a later SIGTERM (mod_cgid, lighttpd) is then ignored. */
  responseDone(): void;
  /**
   * Points fds 1 and 2 at /dev/null so the server sees the response end while the process goes
   * on (waitUntil work, dropping an unread body): Apache prefork and fcgiwrap wait for stderr
   * to close too. fd 0 stays open: see {@link ProcessIo.closeInput}.
   */
  detachOutput(): void;
  /**
   * After {@link ProcessIo.detachOutput}: points fd 0 at /dev/null too when it was the same
   * socket as fd 1, as mod_cgid hands it over: the response ends only when both are closed.
   */
  closeInput(): void;
  /** Set when the bridge must wait before the app runs: Bun checks stderr asynchronously. */
  ready?: Promise<void>;
}

/**
 * Takes over the process's stdout for the CGI response. The response goes to fd 1 with
 * blocking writes, so `process.stdout` (and the stream modules behind it, a few ms per start)
 * is never built for it; whatever else asks for `process.stdout` (a stray `console.log`) gets
 * a stream that writes to stderr. SIGTERM after the response no longer kills background work.
 */
export function takeOverProcessIo(): ProcessIo {
  const onBun = 'Bun' in globalThis;
  // mini_httpd makes stderr the same pipe as stdout: diagnostics (and stack traces) would land
  // in the response, so they go nowhere instead.
  let ready: Promise<void> | undefined;
  if (onBun) ready = bunStderrIsOutput().then((same) => (same ? pointAtDevNull(2) : undefined));
  else if (sameFile(2, 1, 0)) pointAtDevNull(2);
  // Bun and Deno build process.stdout eagerly when it is so much as looked at (~10 ms) and
  // write console output natively; there the response uses blocking writes (Bun: Bun.write).
  const nodeStdio = !onBun && !('Deno' in globalThis);
  const stdout = nodeStdio ? lazyStdout() : nativeStdout();
  let done = false;
  let detached = false;
  let inputIsOutput = false;
  let terminate: () => void = noop;
  // Installed at once: without a listener, SIGTERM kills the process, background work too.
  process.on('SIGTERM', () => {
    if (!done) terminate();
  });
  return {
    ...(ready ? { ready } : {}),
    output: onBun ? bunOutput() : hybridOutput(stdout),
    onTerminate(listener) {
      terminate = listener;
    },
    responseDone() {
      done = true;
    },
    detachOutput() {
      // Deno keeps a copy of stdout of its own until it exits (even Deno.stdout.close() leaves
      // it open), so there the response ends with the process; see docs/api.md.
      if (detached || 'Deno' in globalThis) return;
      detached = true;
      inputIsOutput = sameFile(0, 1);
      for (const fd of [1, 2]) pointAtDevNullUnlessTerminal(fd);
    },
    closeInput() {
      if (inputIsOutput) pointAtDevNullUnlessTerminal(0);
      inputIsOutput = false;
    },
  };
}

interface StdoutStream {
  stream: NodeJS.WriteStream;
  /** The stream's own write, which the app's `process.stdout.write` no longer reaches. */
  write: (chunk: Uint8Array, callback?: (error?: Error | null) => void) => boolean;
}

/**
 * Makes `process.stdout` lazy and harmless: the stream (and the modules behind it) is built
 * only when something asks, and whatever the app writes to it goes to stderr instead.
 */
function lazyStdout(): () => StdoutStream {
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
function nativeStdout(): undefined {
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
function hybridOutput(stdout: (() => StdoutStream) | undefined): CgiOutput {
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

/** A terminal (or /dev/null already) holds no response open; node:tty would cost a start-up. */
function pointAtDevNullUnlessTerminal(fd: number): void {
  if (!nodeFs().fstatSync(fd).isCharacterDevice()) pointAtDevNull(fd);
}

/**
 * Closes `fd` and opens /dev/null in its place at once, which keeps the number taken: no socket
 * the app opens later can land on it and receive stray output.
 */
function pointAtDevNull(fd: number): void {
  const fs = nodeFs();
  fs.closeSync(fd);
  const reopened = fs.openSync('/dev/null', fd === 0 ? 'r' : 'w');
  if (reopened !== fd) fs.closeSync(reopened);
}

/** Whether `fd` is the same pipe or socket as one of `others` (never a terminal). */
function sameFile(fd: number, ...others: number[]): boolean {
  const first = statOf(fd);
  if (!first || (!first.isSocket() && !first.isFIFO())) return false;
  return others.some((other) => {
    const second = statOf(other);
    return second !== undefined && first.ino === second.ino && first.dev === second.dev;
  });
}

function statOf(fd: number): Stats | undefined {
  try {
    return nodeFs().fstatSync(fd);
  } catch {
    return undefined;
  }
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

function noop(): void {}
