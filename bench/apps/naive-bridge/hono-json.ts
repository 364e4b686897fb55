import app from '../hono-json/app.js';
import { naiveServe } from './naive-serve.js';

void naiveServe(app);
