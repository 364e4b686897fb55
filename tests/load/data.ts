import { createHash } from 'node:crypto';

/** Size of each chunk the load app streams. */
export const STREAM_CHUNK = 16 * 1024;

/**
 * `length` deterministic bytes for `seed` (xorshift32), so client and app produce the same body
 * independently and a lost, repeated or swapped byte changes its hash.
 */
export function patternBytes(seed: number, length: number, offset = 0): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761 + offset + 1) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Chunk `index` of the streamed download for `seed`: {@link STREAM_CHUNK} bytes. */
export function streamChunk(seed: number, index: number): Uint8Array<ArrayBuffer> {
  return patternBytes(seed, STREAM_CHUNK, index * STREAM_CHUNK);
}

/** SHA-256 of `chunks`, hex. */
export function sha256(...chunks: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}
