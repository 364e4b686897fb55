/**
 * FastCGI name-value pairs (the specification's section 3.4): each length is one byte below
 * 128, else four bytes with the high bit set. PARAMS carry a request's meta-variables this way,
 * GET_VALUES and GET_VALUES_RESULT the management variables. Pure.
 */
import { FastCgiProtocolError } from './records.js';

/**
 * Adds the pairs `data` holds to `into`: the whole of a stream, once its records have been put
 * together (a pair may be split anywhere between records). Names and values are read as UTF-8,
 * as a process environment is. Throws {@link FastCgiProtocolError} for a pair cut short.
 */
export function decodePairs(data: Uint8Array, into: Record<string, string | undefined>): void {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // One decode for the whole block: when it is all ASCII (the usual case), every name and value
  // is a substring at its byte offsets, without a call into C++ for each.
  const text = bytes.toString('utf8');
  const ascii = text.length === bytes.byteLength;
  let offset = 0;
  const length = (): number => {
    const first = bytes[offset];
    if (first === undefined) throw truncated();
    if (first < 0x80) {
      offset += 1;
      return first;
    }
    if (offset + 4 > bytes.byteLength) throw truncated();
    const value = bytes.readUInt32BE(offset) & 0x7fffffff;
    offset += 4;
    return value;
  };
  while (offset < bytes.byteLength) {
    const nameLength = length();
    const valueLength = length();
    const end = offset + nameLength + valueLength;
    if (end > bytes.byteLength) throw truncated();
    const split = offset + nameLength;
    const name = ascii ? text.slice(offset, split) : bytes.toString('utf8', offset, split);
    into[name] = ascii ? text.slice(split, end) : bytes.toString('utf8', split, end);
    offset = end;
  }
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
