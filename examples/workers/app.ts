/**
 * A plain module in the shape Cloudflare Workers, Bun and Deno serve: a default export with
 * `fetch(request, env, ctx)`. `fetch-cgi build examples/workers/app.ts` makes it a CGI script.
 */
export default {
  async fetch(request: Request, env: Record<string, string | undefined>): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/') return new Response('Hello from a fetch module\n');
    if (url.pathname === '/env') return Response.json({ method: request.method, server: env.SERVER_SOFTWARE ?? null });
    if (url.pathname === '/echo' && request.method === 'POST') return new Response(await request.text());
    return new Response('Not found\n', { status: 404 });
  },
};
