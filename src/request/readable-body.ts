import { BodyBudget } from './body-budget.js';
import { bodyUnreadable } from '../errors.js';

/** The little of a Node `Readable` (such as `process.stdin`) a body is read from in push mode. */
export interface NodeReadable {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

export function isNodeReadable(input: unknown): input is NodeReadable {
  const candidate = input as Partial<NodeReadable> | null;
  return (
    typeof candidate?.on === 'function' &&
    typeof candidate.off === 'function' &&
    typeof candidate.pause === 'function' &&
    typeof candidate.resume === 'function'
  );
}

/** Bytes read ahead of the app once it reads: a slow app holds at most this much of the upload. */
const READ_AHEAD = 256 * 1024;

/**
 * The body as a web stream fed by `input`'s 'data' events, paused whenever the app falls
 * behind: the same bytes, limits and errors as a stream pulled from the async iterator (see
 * `readRequestBody`), without the three promises per chunk of that pull chain, which cost about
 * a tenth of the throughput of a large upload. Nothing is read before the app first reads.
 */
export function readableBody(
  input: NodeReadable,
  length: number | 'eof',
  maxBodySize: number,
  onRead?: () => void,
): ReadableStream<Uint8Array> {
  const budget = new BodyBudget(length, maxBodySize);
  let listening = false;
  let done = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stop = () => {
    done = true;
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onError);
    input.pause();
  };
  const fail = (error: unknown) => {
    stop();
    controller.error(error);
  };
  const finish = () => {
    stop();
    controller.close();
  };
  const onData = (data: Uint8Array | string) => {
    if (done) return;
    try {
      controller.enqueue(budget.take(data));
    } catch (error) {
      return fail(error);
    }
    if (budget.complete) finish();
    else if ((controller.desiredSize ?? 0) <= -READ_AHEAD) input.pause();
  };
  const onEnd = () => {
    if (done) return;
    try {
      budget.end();
    } catch (error) {
      return fail(error);
    }
    finish();
  };
  const onError = (cause: unknown) => {
    if (!done) fail(bodyUnreadable(cause));
  };
  return new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
      },
      pull() {
        onRead?.();
        if (done) return;
        if (!listening) {
          listening = true;
          input.on('data', onData);
          input.on('end', onEnd);
          input.on('error', onError);
        }
        input.resume();
      },
      cancel() {
        onRead?.();
        if (listening && !done) stop();
        done = true;
      },
    },
    // No high-water mark: the stream pulls only for a read, so nothing is read (and the body
    // is not used) before the app reads; the read-ahead is counted against it instead.
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
}
