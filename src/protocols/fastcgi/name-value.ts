/**
 * FastCGI name-value pairs (the specification's section 3.4): each length is one byte below
 * 128, else four bytes with the high bit set. PARAMS carry a request's meta-variables this way,
 * GET_VALUES and GET_VALUES_RESULT the management variables. Pure.
 */
import { envObject } from '../../request/env-object.js';
import { FastCgiProtocolError } from './records.js';

/** Names and values up to this long are looked up in {@link recent} before a string is made. */
const CACHED_LENGTH = 64;
const SLOTS = 1024;
/**
 * Strings made from short names and values, by a hash of their bytes. A web server sends the
 * same names, and mostly the same values (GATEWAY_INTERFACE, SERVER_NAME, REQUEST_METHOD...),
 * with every request: taking the string made last time costs less than making one, and leaves
 * less for the garbage collector. At most {@link SLOTS} short strings are kept.
 */
const recent: (string | undefined)[] = Array.from({ length: SLOTS }, () => undefined);

/** The string of bytes `start` to `end`, taken from {@link recent} when it was made before. */
function stringOf(bytes: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === 0) return '';
  if (length > CACHED_LENGTH) return bytes.toString('utf8', start, end);
  let hash = length;
  for (let index = start; index < end; index++) {
    const byte = bytes[index] as number;
    // Not ASCII: decoded as UTF-8 each time (rare).
    if (byte >= 0x80) return bytes.toString('utf8', start, end);
    hash = (Math.imul(hash, 31) + byte) | 0;
  }
  const slot = hash & (SLOTS - 1);
  const cached = recent[slot];
  if (cached !== undefined && cached.length === length) {
    let same = true;
    for (let index = 0; index < length; index++) {
      if (cached.charCodeAt(index) !== bytes[start + index]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const made = bytes.toString('latin1', start, end);
  recent[slot] = made;
  return made;
}

/**
 * The string of bytes `start` to `end`: `previous` when it holds those bytes (ASCII only).
 * Each pair is first compared with the pair at its place in the last request, which a web
 * server mostly sends again, before the bytes are hashed for {@link recent}.
 */
function stringLike(previous: string | undefined, bytes: Buffer, start: number, end: number): string {
  if (previous !== undefined && previous.length === end - start) {
    let index = 0;
    for (; start + index < end; index++) {
      const byte = bytes[start + index] as number;
      if (byte >= 0x80 || byte !== previous.charCodeAt(index)) break;
    }
    if (start + index === end) return previous;
  }
  return stringOf(bytes, start, end);
}

/**
 * Names and values of the pairs being decoded, reused from one decode to the next: what the
 * last request sent at each place, for {@link stringLike}.
 */
const names: string[] = [];
const values: string[] = [];

/**
 * The pairs `data` holds, as an object (a repeated name keeps its last value): the whole of a
 * stream, once its records have been put together (a pair may be split anywhere between
 * records). Names and values are read as UTF-8, as a process environment is. Throws
 * {@link FastCgiProtocolError} for a pair cut short.
 */
export function decodePairs(data: Uint8Array): Record<string, string> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = bytes.byteLength;
  let offset = 0;
  let count = 0;
  while (offset < end) {
    // Top-level helpers, not a closure: one closing over `offset` would move it off the stack.
    const nameLength = lengthAt(bytes, offset, end);
    offset += lengthSize(bytes, offset);
    if (offset >= end) throw truncated();
    const valueLength = lengthAt(bytes, offset, end);
    offset += lengthSize(bytes, offset);
    const split = offset + nameLength;
    const stop = split + valueLength;
    if (stop > end) throw truncated();
    names[count] = stringLike(names[count], bytes, offset, split);
    values[count] = stringLike(values[count], bytes, split, stop);
    count += 1;
    offset = stop;
  }
  return envObject(names, values, count);
}

/** The length whose first byte is at `offset`: one byte below 128, else four with the high bit set. */
function lengthAt(bytes: Buffer, offset: number, end: number): number {
  const first = bytes[offset] as number;
  if (first < 0x80) return first;
  if (offset + 4 > end) throw truncated();
  return bytes.readUInt32BE(offset) & 0x7fffffff;
}

function lengthSize(bytes: Buffer, offset: number): number {
  return (bytes[offset] as number) < 0x80 ? 1 : 4;
}

function truncated(): FastCgiProtocolError {
  return new FastCgiProtocolError('fastcgi: a name-value pair is cut short');
}

/** `pairs` encoded as name-value pairs (UTF-8), in one buffer. */
export function encodePairs(pairs: Iterable<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of pairs) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    parts.push(encodeLength(nameBytes.byteLength), encodeLength(valueBytes.byteLength), nameBytes, valueBytes);
  }
  return Buffer.concat(parts);
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE((length | 0x80000000) >>> 0);
  return bytes;
}
