/** Bytes the response streams: 1 GiB, unless STREAM_BYTES (a multiple of 64 KiB) says otherwise. */
const total = Number(process.env['STREAM_BYTES'] ?? 2 ** 30);
const chunk = new Uint8Array(64 * 1024).fill(0x61);

/** A response body of `total` bytes in 64 KiB chunks, produced as fast as the reader pulls. */
export default function app(): Response {
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
  return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
}
