/** @jsxImportSource hono/jsx */
/**
 * A Hono app as it would run on any runtime: JSX rendering, a validator, `c.env`,
 * `c.executionCtx.waitUntil` and a streaming helper. `fetch-cgi build examples/hono/app.tsx`
 * makes it a CGI script; nothing here knows about CGI except the optional helpers.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { streamText } from 'hono/streaming';
import { validator } from 'hono/validator';
import { getConnInfo, type CgiBindings } from 'fetch-cgi/hono';
import { z } from 'zod';

const app = new Hono<{ Bindings: CgiBindings }>();

const Page: FC<{ title: string; items: string[] }> = ({ title, items }) => (
  <html>
    <body>
      <h1>{title}</h1>
      <ul>
        {items.map((item) => (
          <li>{item}</li>
        ))}
      </ul>
    </body>
  </html>
);

app.get('/', (c) => c.html(<Page title="Hello from Hono" items={['jsx', 'validators', 'streaming']} />));

// A body with no type of its own: the response says what `new Response(string)` implies.
app.get('/text', (c) => c.body('Hello from Hono as text'));

app.get('/hello/:name', (c) =>
  c.json({
    name: c.req.param('name'),
    query: c.req.query('q') ?? null,
    server: c.env.SERVER_SOFTWARE ?? null,
    base: c.env.FETCH_CGI_BASE ?? null,
  }),
);

const Todo = z.object({ title: z.string().min(1), done: z.boolean().default(false) });

app.post(
  '/todos',
  validator('json', (value, c) => {
    const parsed = Todo.safeParse(value);
    return parsed.success ? parsed.data : c.json({ error: 'invalid todo' }, 400);
  }),
  (c) => c.json({ created: c.req.valid('json') }, 201),
);

app.get('/ip', (c) => c.json(getConnInfo(c).remote));

// Work after the response: the script's process stays until it is done.
app.get('/visit/:id{[a-z0-9-]+}', (c) => {
  const file = join(tmpdir(), `fetch-cgi-hono-visit-${c.req.param('id')}`);
  c.executionCtx.waitUntil(
    new Promise((resolve) => setTimeout(resolve, 100)).then(() => writeFile(file, new Date().toISOString())),
  );
  return c.text('counted\n');
});

app.get('/stream', (c) =>
  streamText(c, async (stream) => {
    for (const word of ['one', 'two', 'three']) {
      await stream.writeln(word);
      await stream.sleep(20);
    }
  }),
);

export default app;
