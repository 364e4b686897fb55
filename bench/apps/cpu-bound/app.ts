import { Hono } from 'hono';

/**
 * A route that keeps the CPU busy for a fixed amount of work per request (a hash over a buffer,
 * in JavaScript), so that the backend, not nginx or wrk, is what limits the requests per
 * second: how req/s grows with `fetch-cgi listen --workers N` then shows how the workers scale.
 */
const app = new Hono();
const data = new Uint8Array(256 * 1024).map((_, index) => index * 31);

app.get('/work', (c) => {
  let hash = 2166136261;
  for (const byte of data) hash = Math.imul(hash ^ byte, 16777619);
  return c.text(`done ${hash >>> 0}`);
});

export default app;
