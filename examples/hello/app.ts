import { Hono } from 'hono';
import type { CgiEnv } from 'fetch-cgi';

/** A small Hono app, written for the site root: it knows nothing about CGI. */
const app = new Hono<{ Bindings: CgiEnv }>();

app.get('/', (c) => c.html('<h1>Hello from fetch-cgi</h1><p><a href="users/42">a user</a></p>'));
app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), server: c.env.SERVER_SOFTWARE ?? 'unknown' }));
app.post('/echo', async (c) => c.json({ received: await c.req.json() }));
app.get('/old', (c) => c.redirect('/'));

export default app;
