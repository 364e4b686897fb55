/**
 * readRequestBody, the request body as a web stream, fed two ways: pulled from an iterator (the
 * small-body reader, arrays in tests) and pushed by a Node Readable (`process.stdin` for a large
 * body). Both must give the same bytes, limits and errors.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { CgiBodyError } from '../../src/errors.js';
import { readRequestBody } from '../../src/request/request-body.js';

type Source = 'iterator' | 'Node Readable';
const sources: Source[] = ['iterator', 'Node Readable'];

/** `pieces` as the kind of source named, ending after the last piece unless `open`. */
function source(kind: Source, pieces: string[], open = false) {
  const chunks = pieces.map((piece) => Buffer.from(piece));
  if (kind === 'iterator') {
    return (async function* () {
      yield* chunks;
      if (open) await new Promise(() => {});
    })();
  }
  if (!open) return Readable.from(chunks);
  const stream = new PassThrough();
  for (const chunk of chunks) stream.write(chunk);
  return stream;
}

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

async function failure(stream: ReadableStream<Uint8Array>): Promise<CgiBodyError> {
  const error = await text(stream).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof CgiBodyError, `expected a CgiBodyError, got ${String(error)}`);
  return error;
}

describe('readRequestBody', () => {
  for (const kind of sources) {
    test(`${kind}: exactly CONTENT_LENGTH bytes, without waiting for the source to end`, async () => {
      assert.equal(await text(readRequestBody(source(kind, ['0123', '456789ab'], true), 10, 1000)), '0123456789');
    });

    test(`${kind}: a body that ends early is a 400 naming both lengths`, async () => {
      const error = await failure(readRequestBody(source(kind, ['0123']), 10, 1000));
      assert.equal(error.status, 400);
      assert.equal(error.message, 'fetch-cgi: request body ended after 4 of 10 bytes (CONTENT_LENGTH)');
    });

    test(`${kind}: read to EOF within the limit`, async () => {
      assert.equal(await text(readRequestBody(source(kind, ['ab', 'cd', 'e']), 'eof', 5)), 'abcde');
    });

    test(`${kind}: read to EOF past the limit is a 413`, async () => {
      const error = await failure(readRequestBody(source(kind, ['abc', 'def']), 'eof', 5));
      assert.equal(error.status, 413);
      assert.equal(error.message, 'fetch-cgi: request body larger than the 5-byte limit');
    });

    test(`${kind}: a failing source is a 400 with the cause`, async () => {
      const cause = new Error('EIO');
      const input =
        kind === 'iterator'
          ? (async function* () {
              yield Buffer.from('ab');
              throw cause;
            })()
          : new Readable({
              read() {
                this.push(Buffer.from('ab'));
                this.destroy(cause);
              },
            });
      const error = await failure(readRequestBody(input, 10, 1000));
      assert.equal(error.status, 400);
      assert.equal(error.message, 'fetch-cgi: request body could not be read from stdin');
      assert.equal(error.cause, cause);
    });

    test(`${kind}: the body counts as used from the first read, not before`, async () => {
      let used = 0;
      const stream = readRequestBody(source(kind, ['abc']), 3, 1000, () => (used += 1));
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(used, 0);
      assert.equal(await text(stream), 'abc');
      assert.ok(used > 0);
    });
  }

  test('Node Readable: nothing is read before the app reads, and a cancel stops reading', async () => {
    const input = new PassThrough();
    input.write('abc');
    const stream = readRequestBody(input, 100, 1000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(input.listenerCount('data'), 0);
    assert.equal(input.readableFlowing, null);
    const reader = stream.getReader();
    assert.equal(Buffer.from((await reader.read()).value ?? []).toString(), 'abc');
    await reader.cancel();
    assert.equal(input.listenerCount('data'), 0);
    assert.equal(input.readableFlowing, false);
  });

  test('Node Readable: a slow app holds back the upload (the source is paused)', async () => {
    const input = new PassThrough({ highWaterMark: 64 * 1024 });
    const total = 16 * 1024 * 1024;
    let written = 0;
    const writer = (async () => {
      while (written < total) {
        const chunk = Buffer.alloc(64 * 1024, 1);
        written += chunk.length;
        if (!input.write(chunk)) await new Promise((resolve) => input.once('drain', resolve));
      }
      input.end();
    })();
    const reader = readRequestBody(input, total, total).getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(written < 2 * 1024 * 1024, `${written} bytes taken in while the app read one chunk`);
    let received = 0;
    for (let read = await reader.read(); !read.done; read = await reader.read()) received += read.value.byteLength;
    await writer;
    assert.equal(received + 64 * 1024, total);
  });
});
