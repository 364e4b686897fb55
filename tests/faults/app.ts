/**
 * The fault tests' script: a self-serving entry (it calls serveCgi itself) so that each request
 * can pick the bridge's `timeout` option from its query string (`timeout=MS`): real servers
 * start scripts with an empty environment, so the query is the only channel.
 *
 * - `POST /upload?delay=MS`: reads the body one chunk at a time, sleeping between chunks.
 * - `GET /download?chunks=N&delay=MS`: N chunks of 16 KiB, one every MS.
 * - `GET /hang`: never answers (a timer keeps the process alive).
 * - `GET /hang-after-head`: sends the head and one chunk, then never another.
 * - `GET /long-header?chunks=N`: a 64 KiB header field (valid HTTP, but longer than Apache takes
 *   from a script: it answers 500) and then N streamed chunks.
 * - `GET /sleep?ms=MS`: answers `slept` after MS.
 */
import { serveCgi } from '../../src/index.js';
import { streamChunk } from '../load/data.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function app(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const query = url.searchParams;
  const delay = Number(query.get('delay') ?? 0);
  switch (url.pathname) {
    case '/upload': {
      let bytes = 0;
      for await (const chunk of request.body ?? []) {
        bytes += chunk.byteLength;
        if (delay) await sleep(delay);
      }
      return new Response(`received ${bytes}`);
    }
    case '/download': {
      const chunks = Number(query.get('chunks') ?? 0);
      let index = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (index === chunks) return controller.close();
          if (delay) await sleep(delay);
          controller.enqueue(streamChunk(1, index));
          index += 1;
        },
      });
      return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
    }
    case '/hang':
      setInterval(() => {}, 1000);
      return new Promise(() => {});
    case '/hang-after-head': {
      setInterval(() => {}, 1000);
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent) return new Promise(() => {});
          sent = true;
          controller.enqueue(new TextEncoder().encode('first chunk\n'));
        },
      });
      return new Response(body);
    }
    case '/long-header': {
      const chunks = Number(query.get('chunks') ?? 0);
      let index = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (index === chunks) return controller.close();
          controller.enqueue(streamChunk(2, index));
          index += 1;
        },
      });
      return new Response(body, { headers: { 'x-long': 'a'.repeat(64 * 1024) } });
    }
    case '/sleep':
      await sleep(Number(query.get('ms') ?? 0));
      return new Response('slept');
    default:
      return new Response('not found', { status: 404 });
  }
}

const timeout = Number(new URLSearchParams(process.env.QUERY_STRING ?? '').get('timeout') ?? 0);
serveCgi(app, timeout > 0 ? { timeout } : {});
