/**
 * The naive CGI bridge of issue 5, kept as the "before" of the comparison: it builds a global
 * `Request` from the environment (with stdin as the body when there is one), calls the app, and
 * writes `await res.text()`. No streaming, no error handling; for measuring start-up only.
 */
export async function naiveServe(app: { fetch(request: Request): Response | Promise<Response> }): Promise<void> {
  const env = process.env;
  const query = env['QUERY_STRING'] ? `?${env['QUERY_STRING']}` : '';
  const url = `http://${env['HTTP_HOST'] ?? 'localhost'}${encodeURI(env['PATH_INFO'] ?? '/')}${query}`;
  const headers = new Headers();
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('HTTP_') && value !== undefined) headers.set(name.slice(5).replaceAll('_', '-'), value);
  }
  let body: Uint8Array<ArrayBuffer> | null = null;
  if (env['CONTENT_LENGTH']) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    body = new Uint8Array(Buffer.concat(chunks));
  }
  const response = await app.fetch(new Request(url, { method: env['REQUEST_METHOD'] ?? 'GET', headers, body }));
  let head = `Status: ${response.status}\r\n`;
  response.headers.forEach((value, name) => {
    head += `${name}: ${value}\r\n`;
  });
  process.stdout.write(`${head}\r\n${await response.text()}`);
}
