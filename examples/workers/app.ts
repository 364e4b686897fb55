/**
 * A plain module in the shape Cloudflare Workers, Bun and Deno serve: a default export with
 * `fetch(request, env, ctx)`. `fetch-cgi build examples/workers/app.ts` makes it a CGI script.
 */
function formData(): FormData {
  const form = new FormData();
  form.append('field', 'value');
  form.append('file', new Blob(['file contents'], { type: 'application/octet-stream' }), 'notes.txt');
  return form;
}

export default {
  async fetch(request: Request, env: Record<string, string | undefined>): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/') return new Response('Hello from a fetch module\n');
    if (url.pathname === '/env') return Response.json({ method: request.method, server: env.SERVER_SOFTWARE ?? null });
    if (url.pathname === '/echo' && request.method === 'POST') return new Response(await request.text());
    // Bodies whose kind implies a Content-Type (fetch.spec.whatwg.org, "extract a body").
    if (url.pathname === '/kinds/params') return new Response(new URLSearchParams({ a: '1', b: 'two words' }));
    if (url.pathname === '/kinds/form') return new Response(formData());
    if (url.pathname === '/kinds/blob') return new Response(new Blob(['<svg/>'], { type: 'image/svg+xml' }));
    if (url.pathname === '/kinds/json') return Response.json({ kind: 'json' });
    return new Response('Not found\n', { status: 404 });
  },
};
