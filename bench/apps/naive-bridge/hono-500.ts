// The 500-route app of ../hono-500 (250 sections, 501 routes) behind the naive bridge.
import app from '../hono-500/app.js';
import { naiveServe } from './naive-serve.js';

void naiveServe(app);
