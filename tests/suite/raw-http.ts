/**
 * A minimal HTTP/1.1 client over a bare socket, for what undici will not do: count the bytes a
 * server really sends after a HEAD response's header block, and send `Expect: 100-continue`
 * (mini_httpd drops a small POST whose body shares a packet with its headers; undici refuses
 * the Expect header over HTTP/1.1). It always sends `Connection: close`, and reads a body up
 * to Content-Length or, without one, to the end of the connection.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

/** A response read off the wire; `body` streams the rest of the connection. */
export interface RawResponse {
  status: number;
  /** The header block exactly as received, status line included. */
  head: string;
  headers: Headers;
  body: AsyncIterable<Uint8Array>;
  abort(): void;
}

export interface RawRequest {
  method: string;
  /** Path and query, sent as is. */
  target: string;
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Required with a body: this client does not send chunked bodies. */
  contentLength?: number;
  expectContinue?: boolean;
  timeoutMs?: number;
}

/** Sends one request on a new connection to `origin` (`http://host:port`) and reads the head. */
export async function rawRequest(origin: string, request: RawRequest): Promise<RawResponse> {
  const { hostname, port, host } = new URL(origin);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.setTimeout(request.timeoutMs ?? 30_000, () => socket.destroy(new Error('raw-http: timed out')));
  await once(socket, 'connect');
  const reader = socketReader(socket);
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (request.body !== undefined) lines.push(`Content-Length: ${request.contentLength ?? bodyLength(request.body)}`);
  if (request.body !== undefined && request.expectContinue) lines.push('Expect: 100-continue');
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);

  if (request.body !== undefined) {
    // Send the body on `100 Continue`, or after a second without an answer, as curl does.
    if (request.expectContinue && (await reader.waitForData(1000))) {
      const interim = await readHead(reader);
      if (interim.status !== 100) return finish(interim, reader, socket, request.method);
    }
    await writeBody(socket, request.body);
  }
  let head = await readHead(reader);
  while (head.status === 100) head = await readHead(reader);
  return finish(head, reader, socket, request.method);
}

function bodyLength(body: RawRequest['body']): number {
  if (body instanceof Uint8Array) return body.byteLength;
  throw new Error('raw-http: a streamed body needs contentLength');
}

async function writeBody(socket: Socket, body: NonNullable<RawRequest['body']>): Promise<void> {
  const chunks = body instanceof Uint8Array ? [body] : body;
  for await (const chunk of chunks) {
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    if (socket.destroyed) throw new Error('raw-http: connection closed while sending the body');
  }
}

/** Pull-based reads of a socket, with a buffer of bytes read too far. */
interface SocketReader {
  /** The next chunk, or undefined at the end of the connection. */
  next(): Promise<Uint8Array | undefined>;
  unread(bytes: Uint8Array): void;
  /** Whether data (or the end) arrives within `ms`; nothing is consumed. */
  waitForData(ms: number): Promise<boolean>;
}

function socketReader(socket: Socket): SocketReader {
  const iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const pushed: Uint8Array[] = [];
  // A read still outstanding from waitForData, handed to the next call of next().
  let pending: Promise<IteratorResult<Buffer>> | undefined;
  return {
    async next() {
      const first = pushed.shift();
      if (first) return first;
      const result = await (pending ?? iterator.next());
      pending = undefined;
      return result.done ? undefined : result.value;
    },
    async waitForData(ms) {
      if (pushed.length > 0) return true;
      pending ??= iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
      const arrived = await Promise.race([pending.then(() => true), timeout]);
      clearTimeout(timer);
      return arrived;
    },
    unread(bytes) {
      if (bytes.length > 0) pushed.unshift(bytes);
    },
  };
}

/** Reads one header block (CRLF or bare LF line ends, as busybox and mini_httpd send). */
async function readHead(reader: SocketReader): Promise<{ status: number; head: string; headers: Headers }> {
  let buffer = Buffer.alloc(0);
  for (;;) {
    const text = buffer.toString('latin1');
    const match = /\r?\n\r?\n/.exec(text);
    if (match) {
      const end = match.index + match[0].length;
      reader.unread(buffer.subarray(end));
      const head = text.slice(0, end);
      const [statusLine = '', ...fields] = head.trimEnd().split(/\r?\n/);
      const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
      if (Number.isNaN(status)) throw new Error(`raw-http: bad status line ${JSON.stringify(statusLine)}`);
      const headers = new Headers();
      for (const field of fields) {
        const colon = field.indexOf(':');
        if (colon > 0) headers.append(field.slice(0, colon).trim(), field.slice(colon + 1).trim());
      }
      return { status, head, headers };
    }
    const chunk = await reader.next();
    if (!chunk) {
      throw new Error(`raw-http: connection closed ${buffer.length ? 'inside the header block' : 'with no response'}`);
    }
    buffer = Buffer.concat([buffer, chunk]);
  }
}

function finish(
  head: { status: number; head: string; headers: Headers },
  reader: SocketReader,
  socket: Socket,
  method: string,
): RawResponse {
  const length = head.headers.get('content-length');
  // HEAD's body is read to the end of the connection anyway: the point is to see any bytes.
  let left = length === null || method === 'HEAD' ? Number.POSITIVE_INFINITY : Number(length);
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      while (left > 0) {
        const chunk = await reader.next();
        if (!chunk) break;
        const part = chunk.subarray(0, Math.min(chunk.length, left));
        left -= part.length;
        yield part;
      }
    } finally {
      socket.destroy();
    }
  }
  return { ...head, body: body(), abort: () => socket.destroy() };
}
