import { Hono } from 'hono';
import { registerPages } from './pages.js';

/**
 * Issue 5's "500-route Hono app with JSX rendering": 250 sections, each with `/rN/:id` (a record
 * rendered with hono/jsx) and `/rN` (a list), plus a home page: 501 routes, registered at
 * start-up as a real app does.
 */
const app = new Hono();
registerPages(app, 250);

export default app;
