/**
 * The SCGI request header block (python.ca/scgi/protocol.txt): a netstring,
 * `<length>:<name>NUL<value>NUL...,`, whose first pair is CONTENT_LENGTH and which holds
 * SCGI=1. Pure: bytes in, meta-variables out.
 */
import { quote } from '../../http/quote.js';
import type { CgiEnv } from '../../types.js';

/** The header block breaks the protocol: the connection cannot go on. */
export class ScgiProtocolError extends Error {
  override name = 'ScgiProtocolError';
}

/** A parsed header block: the meta-variables and where the body starts in the input. */
export interface HeaderBlock {
  params: CgiEnv;
  /** Offset of the first body byte (just after the netstring's comma). */
  end: number;
}

// The netstring's length, then its colon: at most 8 digits, more than any limit allows.
const LENGTH_DIGITS = 8;

/**
 * Parses the header block at the start of `data`: undefined while it is incomplete, else the
 * meta-variables (read as UTF-8, as a process environment is) and where the body starts.
 * Throws {@link ScgiProtocolError} for a malformed netstring, a block over `maxBytes`, a first
 * header other than CONTENT_LENGTH, or an SCGI version other than 1.
 */
export function parseHeaderBlock(data: Buffer, maxBytes: number): HeaderBlock | undefined {
  const colon = data.indexOf(0x3a);
  if (colon === -1) {
    if (data.byteLength > LENGTH_DIGITS || !/^\d*$/.test(data.toString('latin1'))) throw malformed();
    return undefined;
  }
  const digits = data.toString('latin1', 0, colon);
  if (!/^\d{1,8}$/.test(digits)) throw malformed();
  const length = Number(digits);
  if (length > maxBytes)
    throw new ScgiProtocolError(`scgi: a header block of ${length} bytes passes the ${maxBytes}-byte limit`);
  const start = colon + 1;
  const comma = start + length;
  if (data.byteLength <= comma) return undefined;
  if (data[comma] !== 0x2c) throw malformed();
  const fields = data.toString('utf8', start, comma).split('\0');
  // The block ends with a NUL, which leaves an empty last field; pairs fill the rest.
  if (fields.pop() !== '' || fields.length % 2 !== 0)
    throw new ScgiProtocolError('scgi: a header block that is not name-value pairs');
  const params: CgiEnv = {};
  // Names must not repeat (the protocol says so); where a server repeats one anyway (nginx, told
  // to pass CONTENT_LENGTH, which it already sends first), the first value stands.
  for (let index = 0; index < fields.length; index += 2)
    params[fields[index] as string] ??= fields[index + 1] as string;
  if (fields[0] !== 'CONTENT_LENGTH' || !/^\d+$/.test(params.CONTENT_LENGTH ?? '')) {
    throw new ScgiProtocolError('scgi: the header block must start with CONTENT_LENGTH, a number');
  }
  // The protocol wants SCGI=1; a server that leaves it out still speaks it (nginx does unless
  // told to pass it), so only another version is refused.
  if (params.SCGI !== undefined && params.SCGI !== '1') {
    throw new ScgiProtocolError(`scgi: the header block says SCGI=${quote(params.SCGI)}, not 1`);
  }
  return { params, end: comma + 1 };
}

function malformed(): ScgiProtocolError {
  return new ScgiProtocolError('scgi: the header block is not a netstring');
}

/** `params` as an SCGI header block (CONTENT_LENGTH first, SCGI=1 added), for clients and tests. */
export function encodeHeaderBlock(params: Record<string, string>, contentLength: number): Buffer {
  const pairs: [string, string][] = [
    ['CONTENT_LENGTH', String(contentLength)],
    ['SCGI', '1'],
  ];
  for (const [name, value] of Object.entries(params))
    if (name !== 'CONTENT_LENGTH' && name !== 'SCGI') pairs.push([name, value]);
  const block = Buffer.from(pairs.map(([name, value]) => `${name}\0${value}\0`).join(''), 'utf8');
  return Buffer.concat([Buffer.from(`${block.byteLength}:`), block, Buffer.from(',')]);
}
