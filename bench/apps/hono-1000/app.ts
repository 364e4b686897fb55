import { Hono } from 'hono';
import { registerPages } from '../hono-500/pages.js';

/**
 * The pages of ../hono-500 at twice the size: 500 sections, 1,001 routes with the home page.
 * Informative only (issue 5 sets no target for it): how start-up grows with the route count.
 */
const app = new Hono();
registerPages(app, 500);

export default app;
