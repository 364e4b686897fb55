import { nodeFs } from './node-fs.js';
import type { BodyLength, BodySource } from './request-body.js';

/** Bodies up to this size are read from fd 0 directly; larger ones through `process.stdin`. */
const DIRECT_LIMIT = 1024 * 1024;
const READ_SIZE = 64 * 1024;

/**
 * The process's stdin as the source of a body of `length` bytes. One of known length up to
 * 1 MiB (form posts, JSON) is read with `fs.read` on fd 0: `process.stdin` builds a net.Socket
 * for a pipe, about 5 ms a start. Each such read waits in libuv's thread pool, so timers still
 * fire; that hop is why a larger body, or one read to EOF, goes through `process.stdin`.
 */
export function processStdin(length: BodyLength): BodySource {
  return typeof length === 'number' && length <= DIRECT_LIMIT ? directChunks(length) : process.stdin;
}

async function* directChunks(length: number): AsyncGenerator<Uint8Array> {
  for (let left = length; left > 0;) {
    const buffer = Buffer.allocUnsafe(Math.min(left, READ_SIZE));
    let count: number;
    try {
      count = await readStdin(buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      // The server left the descriptor non-blocking: process.stdin waits for the rest.
      yield* process.stdin;
      return;
    }
    if (count === 0) return;
    left -= count;
    yield buffer.subarray(0, count);
  }
}

function readStdin(buffer: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    nodeFs().read(0, buffer, 0, buffer.byteLength, null, (error, count) => (error ? reject(error) : resolve(count)));
  });
}
