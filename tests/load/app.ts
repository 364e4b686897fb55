/**
 * The load test's app, a plain fetch handler (no framework, so each CGI start is as light as
 * the bridge allows). Every response says which process served it and that process's resident
 * memory when it answered (`x-pid`, `x-rss`), so the test can bound memory per process.
 *
 * - `GET /bytes?seed=S&length=N`: N deterministic bytes.
 * - `POST /upload`: reads the whole body and answers `<bytes> <sha256>`.
 * - `GET /stream?seed=S&chunks=N`: N chunks of 16 KiB, each produced on demand.
 */
import { hashBody } from '../helpers/hash-body.js';
import { patternBytes, streamChunk } from './data.js';

function stamped(body: BodyInit, type: string): Response {
  return new Response(body, {
    headers: { 'content-type': type, 'x-pid': String(process.pid), 'x-rss': String(process.memoryUsage.rss()) },
  });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const query = url.searchParams;
    const seed = Number(query.get('seed') ?? 0);
    switch (url.pathname) {
      case '/bytes':
        return stamped(patternBytes(seed, Number(query.get('length') ?? 0)), 'application/octet-stream');
      case '/upload':
        return stamped(await hashBody(request), 'text/plain');
      case '/stream': {
        const chunks = Number(query.get('chunks') ?? 0);
        let index = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (index === chunks) return controller.close();
            controller.enqueue(streamChunk(seed, index));
            index += 1;
          },
        });
        return stamped(body, 'application/octet-stream');
      }
      default:
        return new Response('not found', { status: 404 });
    }
  },
};
