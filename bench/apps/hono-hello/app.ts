import { Hono } from 'hono';

/** The smallest Hono app: one route. What `fetch-cgi build` start-up is judged by. */
const app = new Hono();

app.get('/hello', (c) => c.text('Hello'));

export default app;
