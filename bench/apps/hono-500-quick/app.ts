import { Hono } from 'hono/quick';
import { registerPages } from '../hono-500/pages.js';

/**
 * The 500-route app of ../hono-500 (250 sections, 501 routes with the home page) on Hono's
 * `hono/quick` preset, whose LinearRouter needs no compile step: what Hono recommends for an app
 * built again on every request, as under CGI.
 */
const app = new Hono();
registerPages(app, 250);

export default app;
