import { type CgiOutput, drained, drainWaiter, endOutput } from './output.js';
import { type HeadOptions, headOf } from './response-head.js';
import { bodyByteLength, isInMemory, type ResponseParts, responseParts } from './response-parts.js';

export interface WriteResponseOptions extends HeadOptions {
  /** Stops the body mid-stream when aborted (the client went away). */
  signal?: AbortSignal;
}

/** Statuses that never have a body, whatever the app put in the `Response`. */
export function forbidsBody(status: number, method?: string): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Writes `response` to `output` as CGI bytes: the head, then the body chunk by chunk as the
 * app produces it, waiting for `'drain'` whenever `output` is full, then ends `output`.
 * No body for HEAD, 204 and 304. Rejects if the body stream fails or `output` breaks.
 */
export async function writeResponse(
  response: Response,
  output: CgiOutput,
  options: WriteResponseOptions = {},
): Promise<void> {
  const parts = responseParts(response);
  await writeHeadAndBody(headOf(response, parts, options), parts, output, options);
  await endOutput(output);
}

/**
 * Writes a head and then the body. A body already in memory goes out in the same write as the
 * head: one write lets the server answer in one packet (two small ones meet Nagle's algorithm
 * and delayed ACKs on a kept-alive connection: a ~40 ms stall through Apache).
 */
export async function writeHeadAndBody(
  head: string,
  parts: Pick<ResponseParts, 'status' | 'body'>,
  output: CgiOutput,
  options: Pick<WriteResponseOptions, 'method' | 'signal'> = {},
): Promise<void> {
  const { body } = parts;
  if (body !== null && isInMemory(body)) {
    if (!writeWhole(head, { status: parts.status, body }, output, options.method))
      await drained(output, options.signal);
    return;
  }
  output.write(Buffer.from(head, 'latin1'));
  await writeBody(parts, output, options);
}

/**
 * Writes a head and its in-memory body (none for HEAD, 204, 304) as one chunk, at once; returns
 * what the write returned (false: wait for 'drain' before ending).
 */
export function writeWhole(
  head: string,
  parts: { status: number; body: string | Uint8Array | null },
  output: CgiOutput,
  method: string | undefined,
): boolean {
  const { body } = parts;
  if (body === null || forbidsBody(parts.status, method)) return output.write(Buffer.from(head, 'latin1'));
  const headLength = Buffer.byteLength(head, 'latin1');
  const bodyLength = bodyByteLength(body);
  const whole = Buffer.allocUnsafe(headLength + bodyLength);
  whole.write(head, 0, 'latin1');
  if (typeof body === 'string') whole.write(body, headLength);
  else whole.set(body, headLength);
  return output.write(whole);
}

/** Sends the body of `parts` to `output` with backpressure; cancels a stream it may not send. */
export async function writeBody(
  parts: Pick<ResponseParts, 'status' | 'body'>,
  output: CgiOutput,
  options: Pick<WriteResponseOptions, 'method' | 'signal'> = {},
): Promise<void> {
  const { body } = parts;
  if (body === null) return;
  const streamed = typeof body === 'object' && !(body instanceof Uint8Array);
  if (forbidsBody(parts.status, options.method)) {
    if (streamed) await body.cancel().catch(() => {});
    return;
  }
  if (!streamed) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (bytes.byteLength > 0 && !output.write(bytes)) await drained(output, options.signal);
    return;
  }
  const { signal } = options;
  const reader = body.getReader();
  const wait = drainWaiter(output, signal, () => void reader.cancel(signal?.reason).catch(() => {}));
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (signal?.aborted) throw signal.reason;
      if (done) return;
      const chunk = toBytes(value);
      if (chunk.byteLength === 0) continue;
      if (!output.write(chunk)) await wait.drained();
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    wait.dispose();
    reader.releaseLock();
  }
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`fetch-cgi: the response body stream produced a ${typeof value}, not bytes`);
}
