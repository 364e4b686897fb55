/**
 * An itty-router v5+ `AutoRouter` as written for Workers or Bun: it formats JSON, handles 404s
 * and errors itself. `fetch-cgi build examples/itty-router/app.ts` makes it a CGI script.
 */
import { AutoRouter, error, type IRequest } from 'itty-router';

const router = AutoRouter();

router
  .get('/', () => new Response('<h1>Hello from itty-router</h1>', { headers: { 'content-type': 'text/html' } }))
  .get('/hello/:name', ({ params, query }: IRequest, env: { SERVER_SOFTWARE?: string }) => ({
    name: params.name,
    query: query.q ?? null,
    server: env.SERVER_SOFTWARE ?? null,
  }))
  .post('/todos', (request: IRequest) =>
    request
      .json()
      .catch(() => null)
      .then((todo: { title?: unknown } | null) => {
        if (typeof todo?.title !== 'string' || todo.title === '') return error(400, 'invalid todo');
        return new Response(JSON.stringify({ created: { title: todo.title } }), {
          status: 201,
          headers: { 'content-type': 'application/json' },
        });
      }),
  );

export default router;
