import { connect, type Socket } from 'node:net';

/** What a raw connection received: the bytes, and when (and whether) the server closed it. */
export interface Connection {
  socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Status code of the response head received so far, or undefined. */
  status(): number | undefined;
  /** Bytes received after the head. */
  bodyBytes(): number;
  /** Resolves when the connection is closed, by either side. */
  closed: Promise<void>;
  /** Resolves once at least `bytes` body bytes arrived, or the connection closed. */
  bodyAtLeast(bytes: number): Promise<void>;
}

/**
 * Opens a connection to `origin` and writes `head` (the request line and fields, `Connection:
 * close` added) and `body`, for faults undici would not stage: stopping half-way through an
 * upload, half-closing, dropping the connection mid-download.
 */
export function openRequest(origin: string, head: string, body?: Uint8Array): Connection {
  const { hostname, port, host } = new URL(origin);
  const socket = connect({ host: hostname, port: Number(port) });
  const chunks: Buffer[] = [];
  let total = 0;
  const waiters: { bytes: number; resolve: () => void }[] = [];
  const headEnd = () => Buffer.concat(chunks).indexOf('\r\n\r\n');
  const bodyBytes = () => {
    const end = headEnd();
    return end === -1 ? 0 : total - end - 4;
  };
  socket.on('error', () => {});
  socket.on('connect', () => {
    const [line, ...fields] = head.split('\r\n');
    socket.write(`${[line, `Host: ${host}`, 'Connection: close', ...fields.filter(Boolean)].join('\r\n')}\r\n\r\n`);
    if (body) socket.write(body);
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    for (const waiter of waiters.splice(0)) {
      if (bodyBytes() >= waiter.bytes) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  return {
    socket,
    received: () => Buffer.concat(chunks),
    status() {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).subarray(0, 20).toString('latin1'));
      return match ? Number(match[1]) : undefined;
    },
    bodyBytes,
    closed,
    bodyAtLeast(bytes) {
      if (bodyBytes() >= bytes) return Promise.resolve();
      return Promise.race([closed, new Promise<void>((resolve) => waiters.push({ bytes, resolve }))]);
    },
  };
}
