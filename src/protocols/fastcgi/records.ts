/**
 * FastCGI 1.0 records (the specification's section 3.3): the 8-byte header, content and
 * padding, and the fixed bodies of the records a responder sends. Pure: bytes in, bytes out.
 */

/** Record types, roles, flags and protocol statuses (specification, section 8). */
export const FCGI = {
  VERSION_1: 1,
  HEADER_LENGTH: 8,
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
  /** The request id of management records. */
  NULL_REQUEST_ID: 0,
  RESPONDER: 1,
  AUTHORIZER: 2,
  FILTER: 3,
  /** BEGIN_REQUEST's flag: keep the connection open after this request. */
  KEEP_CONN: 1,
  REQUEST_COMPLETE: 0,
  CANT_MPX_CONN: 1,
  OVERLOADED: 2,
  UNKNOWN_ROLE: 3,
} as const;

/**
 * The most content one record carries as this side writes it: the largest multiple of 8 below
 * the 65535 the 16-bit length allows, so that a full record needs no padding.
 */
export const MAX_RECORD_CONTENT = 65528;

/** Writes a record header at `offset` of `target`. */
function writeHeader(target: Buffer, offset: number, type: number, requestId: number, length: number, padding: number) {
  target[offset] = FCGI.VERSION_1;
  target[offset + 1] = type;
  target.writeUInt16BE(requestId, offset + 2);
  target.writeUInt16BE(length, offset + 4);
  target[offset + 6] = padding;
  target[offset + 7] = 0;
}

/** Padding that puts the next record on an 8-byte boundary, as the specification recommends. */
function paddingFor(length: number): number {
  return (8 - (length % 8)) % 8;
}

/** How many bytes the records of a stream chunk of `length` bytes take (see {@link encodeStream}). */
export function streamRecordsLength(length: number): number {
  const full = Math.floor(length / MAX_RECORD_CONTENT);
  const rest = length % MAX_RECORD_CONTENT;
  return (
    full * (FCGI.HEADER_LENGTH + MAX_RECORD_CONTENT) + (rest > 0 ? FCGI.HEADER_LENGTH + rest + paddingFor(rest) : 0)
  );
}

/**
 * `data` of a stream (STDOUT, STDERR, and the client's STDIN) as records of at most
 * {@link MAX_RECORD_CONTENT} bytes each, written into `target` at `offset`; returns the offset
 * after them. Empty data writes nothing: the empty record ends a stream, see {@link endOfStream}.
 */
export function writeStream(target: Buffer, offset: number, type: number, requestId: number, data: Uint8Array): number {
  let at = offset;
  for (let start = 0; start < data.byteLength; start += MAX_RECORD_CONTENT) {
    const length = Math.min(MAX_RECORD_CONTENT, data.byteLength - start);
    const padding = paddingFor(length);
    writeHeader(target, at, type, requestId, length, padding);
    target.set(data.subarray(start, start + length), at + FCGI.HEADER_LENGTH);
    at += FCGI.HEADER_LENGTH + length;
    target.fill(0, at, at + padding);
    at += padding;
  }
  return at;
}

/** `data` as the records of a stream, in one buffer. */
export function encodeStream(type: number, requestId: number, data: Uint8Array): Buffer {
  const target = Buffer.allocUnsafe(streamRecordsLength(data.byteLength));
  writeStream(target, 0, type, requestId, data);
  return target;
}

/** One record with `content` (at most 65535 bytes), padded to a multiple of 8. */
export function encodeRecord(type: number, requestId: number, content: Uint8Array = new Uint8Array(0)): Buffer {
  if (content.byteLength > 0xffff)
    throw new RangeError(`fastcgi: a record holds at most 65535 bytes, not ${content.byteLength}`);
  const padding = paddingFor(content.byteLength);
  const record = Buffer.alloc(FCGI.HEADER_LENGTH + content.byteLength + padding);
  writeHeader(record, 0, type, requestId, content.byteLength, padding);
  record.set(content, FCGI.HEADER_LENGTH);
  return record;
}

/** The empty record that ends a stream (`type` STDOUT, STDERR, PARAMS or STDIN). */
export function endOfStream(type: number, requestId: number): Buffer {
  const record = Buffer.allocUnsafe(FCGI.HEADER_LENGTH);
  writeHeader(record, 0, type, requestId, 0, 0);
  return record;
}

/** END_REQUEST (section 5.5): the app's exit status and the protocol status. */
export function endRequest(
  requestId: number,
  appStatus: number,
  protocolStatus: number = FCGI.REQUEST_COMPLETE,
): Buffer {
  const record = Buffer.alloc(FCGI.HEADER_LENGTH + 8);
  writeHeader(record, 0, FCGI.END_REQUEST, requestId, 8, 0);
  record.writeUInt32BE(appStatus >>> 0, 8);
  record[12] = protocolStatus;
  return record;
}

/** UNKNOWN_TYPE (section 4.2): the answer to a management record of a type not known here. */
export function unknownType(type: number): Buffer {
  const record = Buffer.alloc(FCGI.HEADER_LENGTH + 8);
  writeHeader(record, 0, FCGI.UNKNOWN_TYPE, FCGI.NULL_REQUEST_ID, 8, 0);
  record[8] = type;
  return record;
}

/** BEGIN_REQUEST's body (section 5.1): the role and whether to keep the connection. */
export function beginRequestBody(role: number, keepConn: boolean): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16BE(role, 0);
  body[2] = keepConn ? FCGI.KEEP_CONN : 0;
  return body;
}

/** A record the peer sent that breaks the protocol: the connection cannot go on. */
export class FastCgiProtocolError extends Error {
  override name = 'FastCgiProtocolError';
}

const NO_CONTENT = Buffer.alloc(0);

/**
 * Cuts a byte stream into records as it arrives: `push` takes each chunk the socket gives, in
 * any size, and calls `onRecord` once per complete record with its type, request id and
 * content (a view of the input when a record arrived whole, a copy when it was split). Throws
 * {@link FastCgiProtocolError} for a version other than 1.
 */
export class RecordReader {
  #pending: Buffer | undefined;

  constructor(readonly onRecord: (type: number, requestId: number, content: Buffer) => void) {}

  /** Whether a record has begun to arrive and is not complete yet. */
  get inRecord(): boolean {
    return this.#pending !== undefined && this.#pending.byteLength > 0;
  }

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.#pending) {
      data = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    let offset = 0;
    while (data.byteLength - offset >= FCGI.HEADER_LENGTH) {
      const version = data[offset] as number;
      if (version !== FCGI.VERSION_1) {
        throw new FastCgiProtocolError(`fastcgi: a record of version ${version}, not 1`);
      }
      const contentLength = data.readUInt16BE(offset + 4);
      const paddingLength = data[offset + 6] as number;
      const end = offset + FCGI.HEADER_LENGTH + contentLength + paddingLength;
      if (end > data.byteLength) break;
      const start = offset + FCGI.HEADER_LENGTH;
      const type = data[offset + 1] as number;
      const requestId = data.readUInt16BE(offset + 2);
      offset = end;
      // Most records of a request are empty (the ends of PARAMS and STDIN): no view for those.
      this.onRecord(type, requestId, contentLength === 0 ? NO_CONTENT : data.subarray(start, start + contentLength));
    }
    if (offset < data.byteLength) this.#pending = Buffer.from(data.subarray(offset));
  }
}
