import { Hono } from 'hono';

/** A JSON POST handler (a webhook, a form API): reads the body with `c.req.json()` and echoes it. */
const app = new Hono();

app.post('/echo', async (c) => c.json(await c.req.json()));

export default app;
