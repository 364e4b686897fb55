import { Hono } from 'hono';
import { registerPages } from './pages.js';

/**
 * A large Hono app: 500 sections, each with `/rN/:id` (a record rendered with hono/jsx) and
 * `/rN` (a list), plus a home page: 1001 routes, registered at start-up as a real app does.
 */
const app = new Hono();
registerPages(app);

export default app;
