import app from '../hono-hello/app.js';
import { naiveServe } from './naive-serve.js';

void naiveServe(app);
