import type { Socket } from 'node:net';

/** One buffer every connection of the process reads into, one read at a time. */
let shared: Buffer | undefined;

/**
 * Makes Node read `socket` into one buffer shared by the process's connections, handing each
 * read to `onBytes`, instead of giving every read a new 64 KiB allocation (malloc, free, and an
 * ArrayBuffer to sweep in each scavenge: about 1.5 µs a request at one connection, measured).
 *
 * This is what net.Socket's public `onread` option does for a socket it creates; an accepted
 * socket cannot be given the option, so the two private fields the option sets are set here,
 * only where they exist as Node 20-24 have them. Elsewhere (Bun, Deno, a Node without them)
 * nothing changes and the socket keeps its 'data' events; the return value says which.
 *
 * Call it from inside a 'data' listener, so that no read comes between the two ways. The view
 * `onBytes` gets is overwritten by the next read: what it keeps, it copies. It returns false
 * to stop reading until `socket.resume()`, which Node's Socket honours in this mode.
 */
export function readIntoSharedBuffer(socket: Socket, onBytes: (bytes: Buffer) => boolean): boolean {
  if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' || process.versions.bun !== undefined)
    return false;
  // oxlint-disable-next-line no-underscore-dangle -- Node's private stream handle, on purpose (see above)
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } })._handle;
  if (typeof handle?.useUserBuffer !== 'function') return false;
  const symbols = Object.getOwnPropertySymbols(socket);
  const bufferField = symbols.find((symbol) => symbol.description === 'kBuffer');
  const callbackField = symbols.find((symbol) => symbol.description === 'kBufferCb');
  const fields = socket as unknown as Record<symbol, unknown>;
  if (!bufferField || !callbackField || fields[bufferField] !== null || fields[callbackField] !== null) return false;
  shared ??= Buffer.allocUnsafe(64 * 1024);
  const buffer = shared;
  fields[bufferField] = buffer;
  fields[callbackField] = (length: number) => onBytes(buffer.subarray(0, length));
  (handle.useUserBuffer as (buffer: Buffer) => void).call(handle, buffer);
  return true;
}
