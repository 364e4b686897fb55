/**
 * An h3 v2 app (`new H3()`, which has a `fetch` method), with a Standard Schema validator from
 * zod. `fetch-cgi build examples/h3/app.ts` makes it a CGI script.
 */
import { getQuery, getRouterParam, H3, html, readValidatedBody } from 'h3';
import { z } from 'zod';

const app = new H3();

app.get('/', () => html`<h1>Hello from h3</h1>`);

// A plain string: h3 answers it as text/plain, as `new Response(string)` would.
app.get('/text', () => 'Hello from h3 as text');

app.get('/hello/:name', (event) => ({
  name: getRouterParam(event, 'name') ?? null,
  query: getQuery(event).q ?? null,
  // h3 keeps what the host passes after the request in event.req.runtime / context.
  server: null,
}));

const Todo = z.object({ title: z.string().min(1) });

app.post('/todos', async (event) => {
  const todo = await readValidatedBody(event, Todo);
  event.res.status = 201;
  return { created: todo };
});

export default app;
