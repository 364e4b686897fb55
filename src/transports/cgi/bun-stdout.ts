import { type CgiOutput, outputEvents } from '../../response/output.js';

interface BunStat {
  ino: number;
  dev: number;
  isFIFO(): boolean;
  isSocket(): boolean;
}

interface BunApi {
  stdout: unknown;
  write(destination: unknown, data: Uint8Array): Promise<number>;
  file(fd: number): { stat(): Promise<BunStat> };
}

const bun = () => (globalThis as unknown as { Bun: BunApi }).Bun;

/** Bytes that may wait for the descriptor before `write` asks the writer to wait for 'drain'. */
const HIGH_WATER = 64 * 1024;

/**
 * Bun's HTTP channel on fd 1: `Bun.write(Bun.stdout, ...)`, one write after another. It needs
 * no `node:fs` (about 2 ms for Bun to load), and it reports a broken pipe by rejecting, where
 * Bun's FileSink (`Bun.stdout.writer()`) throws EPIPE as an uncaught error, over and over.
 */
export function bunStdout(): CgiOutput {
  const events = outputEvents();
  let queued = 0;
  let tail: Promise<unknown> = Promise.resolve();
  let failed: unknown;
  const fail = (error: unknown) => {
    if (failed !== undefined) return;
    failed = error;
    events.emit('error', error);
  };
  return {
    ...events,
    write(chunk, callback) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (failed !== undefined) {
        if (callback) queueMicrotask(() => callback(failed as Error));
        return false;
      }
      queued += bytes.byteLength;
      tail = tail
        .then(() => (failed === undefined && bytes.byteLength > 0 ? bun().write(bun().stdout, bytes) : undefined))
        .then(
          () => {
            queued -= bytes.byteLength;
            callback?.(failed as Error | undefined);
            if (queued === 0 && failed === undefined) events.emit('drain');
          },
          (error: unknown) => {
            fail(error);
            callback?.(error as Error);
          },
        );
      return queued < HIGH_WATER;
    },
    end(callback) {
      void tail.then(() => {
        events.emit('finish');
        callback?.();
      });
    },
  };
}

/**
 * Bun: whether fd 2 is the same pipe or socket as fd 1 or fd 0, as mini_httpd leaves it, found
 * without `node:fs`.
 */
export async function bunStderrIsOutput(): Promise<boolean> {
  const stat = (fd: number) =>
    bun()
      .file(fd)
      .stat()
      .catch(() => undefined);
  const [stderr, stdout, stdin] = await Promise.all([stat(2), stat(1), stat(0)]);
  if (!stderr || (!stderr.isFIFO() && !stderr.isSocket())) return false;
  return [stdout, stdin].some((other) => other !== undefined && other.ino === stderr.ino && other.dev === stderr.dev);
}
