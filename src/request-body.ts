import { CgiBodyError, CgiEnvError } from './errors.js';
import type { CgiEnv } from './types.js';

/** Where body bytes come from: `process.stdin`, any Readable, a web stream, or an array in tests. */
export type BodySource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

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
 * A web stream of the request body read from `input`, pulled only as the app reads it (so a
 * slow app never buffers the upload), ending after exactly `length` bytes without waiting for
 * EOF. A body that ends early errors the stream with a 400 {@link CgiBodyError}; one that grows
 * past `maxBodySize` (read to EOF) errors it with 413.
 */
export function readRequestBody(
  input: BodySource,
  length: number | 'eof',
  maxBodySize: number,
): ReadableStream<Uint8Array> {
  const limit = length === 'eof' ? maxBodySize : length;
  let received = 0;
  let chunks: AsyncIterator<Uint8Array | string> | Iterator<Uint8Array | string> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (received === limit && length !== 'eof') return controller.close();
        chunks ??= Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]();
        let next: IteratorResult<Uint8Array | string>;
        try {
          next = await chunks.next();
        } catch (cause) {
          return controller.error(new CgiBodyError('request body could not be read from stdin', 400, { cause }));
        }
        if (next.done) {
          if (length === 'eof') return controller.close();
          return controller.error(
            new CgiBodyError(`request body ended after ${received} of ${length} bytes (CONTENT_LENGTH)`, 400),
          );
        }
        let chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
        if (received + chunk.byteLength > limit) {
          if (length === 'eof') {
            return controller.error(new CgiBodyError(`request body larger than the ${maxBodySize}-byte limit`, 413));
          }
          chunk = chunk.subarray(0, limit - received);
        }
        received += chunk.byteLength;
        controller.enqueue(chunk);
        if (received === limit && length !== 'eof') controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}
