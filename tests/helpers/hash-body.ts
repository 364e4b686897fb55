import { createHash } from 'node:crypto';

/** Reads a request body chunk by chunk (never whole) and answers `"<bytes> <sha256 hex>"`. */
export async function hashBody(request: Request): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of request.body ?? []) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return `${bytes} ${hash.digest('hex')}`;
}
