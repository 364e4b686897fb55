import { BodyBudget } from './body-budget.js';
import { bodyUnreadable, CgiEnvError } from '../errors.js';
import { isNodeReadable, type NodeReadable, readableBody } from './readable-body.js';
import type { CgiEnv } from '../types.js';

/** Body bytes as an iterable: a web stream, an async generator, an array in tests. */
export type BodyIterable = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/**
 * Where body bytes come from: `process.stdin` or anything shaped like a Node Readable (read in
 * push mode, see readable-body.ts), or any {@link BodyIterable}.
 */
export type BodySource = NodeReadable | BodyIterable;

/** How many body bytes stdin holds: a number, `'eof'` (read to the end), or none at all. */
export type BodyLength = number | 'eof' | undefined;

/**
 * Decides how much of stdin is the request body (RFC 3875 section 4.2). GET and HEAD never
 * have one. CONTENT_LENGTH rules; busybox sends only HTTP_CONTENT_LENGTH for PUT, PATCH and
 * DELETE, so that is the fallback. Without either, nothing is read, except when the server says
 * it de-chunked the upload (Apache: HTTP_TRANSFER_ENCODING=chunked and EOF at the end): stdin is
 * the client socket on mini_httpd and Python's server, and reading it to EOF would hang.
 * Throws {@link CgiEnvError} (400) for a malformed length and 413 for one above `maxBodySize`.
 */
export function requestBodyLength(env: CgiEnv, method: string, maxBodySize: number): BodyLength {
  if (method === 'GET' || method === 'HEAD') return undefined;
  const variable = env.CONTENT_LENGTH ? 'CONTENT_LENGTH' : env.HTTP_CONTENT_LENGTH ? 'HTTP_CONTENT_LENGTH' : undefined;
  if (variable === undefined) {
    return /(^|,)\s*chunked\s*$/i.test(env.HTTP_TRANSFER_ENCODING ?? '') ? 'eof' : undefined;
  }
  const value = env[variable] ?? '';
  if (!/^\d+$/.test(value)) throw new CgiEnvError(variable, value);
  const length = Number(value);
  if (length > maxBodySize) {
    throw new CgiEnvError(variable, value, `request body larger than the ${maxBodySize}-byte limit:`, 413);
  }
  return length;
}

/**
 * The request body read from `input` one chunk at a time: exactly `length` bytes (any more on
 * stdin are left alone, without waiting for EOF), or everything up to EOF within `maxBodySize`.
 * `next()` resolves to the next chunk, or null at the end; it rejects with a 400
 * {@link CgiBodyError} for a body that ends early or cannot be read, and 413 for one that grows
 * past `maxBodySize`.
 */
export class BodyChunks {
  #chunks: AsyncIterator<Uint8Array | string> | Iterator<Uint8Array | string> | undefined;
  readonly #budget: BodyBudget;

  constructor(
    readonly input: BodyIterable,
    length: number | 'eof',
    maxBodySize: number,
  ) {
    this.#budget = new BodyBudget(length, maxBodySize);
  }

  /** Whether every byte of a known length was read. */
  get complete(): boolean {
    return this.#budget.complete;
  }

  async next(): Promise<Uint8Array | null> {
    if (this.complete) return null;
    const { input } = this;
    this.#chunks ??= Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
    let next: IteratorResult<Uint8Array | string>;
    try {
      next = await this.#chunks.next();
    } catch (cause) {
      throw bodyUnreadable(cause);
    }
    if (!next.done) return this.#budget.take(next.value);
    this.#budget.end();
    return null;
  }
}

/**
 * A web stream of the request body (see {@link BodyChunks}), read only as the app reads it, so
 * a slow app never buffers the upload; a Node Readable (`process.stdin`) feeds it in push mode
 * (see `readableBody`). `onRead` is called when the stream is first read or cancelled: from
 * then on the body counts as used.
 */
export function readRequestBody(
  input: BodySource,
  length: number | 'eof',
  maxBodySize: number,
  onRead?: () => void,
): ReadableStream<Uint8Array> {
  if (isNodeReadable(input)) return readableBody(input, length, maxBodySize, onRead);
  const chunks = new BodyChunks(input, length, maxBodySize);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        onRead?.();
        let chunk: Uint8Array | null;
        try {
          chunk = await chunks.next();
        } catch (error) {
          return controller.error(error);
        }
        if (chunk === null) return controller.close();
        controller.enqueue(chunk);
        if (chunks.complete) controller.close();
      },
      cancel() {
        onRead?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** The whole request body (see {@link BodyChunks}) in one array of its own, without a web stream. */
export function readWholeBody(input: BodySource, length: number | 'eof', maxBodySize: number): Promise<Uint8Array> {
  if (isNodeReadable(input)) return readWholeStream(readableBody(input, length, maxBodySize));
  // Not one array of CONTENT_LENGTH bytes up front: a client may claim a gigabyte and send nothing.
  const chunks = new BodyChunks(input, length, maxBodySize);
  return concatenate(() => chunks.next());
}

/** Everything `stream` holds, in one array of its own. */
export function readWholeStream(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader();
  return concatenate(async () => {
    const { done, value } = await reader.read();
    return done ? null : value;
  });
}

async function concatenate(next: () => Promise<Uint8Array | null>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let chunk = await next(); chunk; chunk = await next()) {
    parts.push(chunk);
    total += chunk.byteLength;
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}
