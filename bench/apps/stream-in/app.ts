/** Reads the whole request body as a stream and answers with its length (in bytes). */
export default async function app(request: Request): Promise<Response> {
  let bytes = 0;
  const reader = request.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    bytes += read.value.byteLength;
  }
  return new Response(String(bytes), { headers: { 'content-type': 'text/plain' } });
}
