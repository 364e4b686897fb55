import { serveCgi } from 'fetch-cgi';
import app from './app.js';

serveCgi(app);
