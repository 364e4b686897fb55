import app from '../hono-500/app.js';
import { naiveServe } from './naive-serve.js';

void naiveServe(app);
