/**
 * Imported first by a script built for Bun, before the app's own modules: some of them keep the
 * global Response they find when they load (srvx, and so h3, does), and must find the aligned
 * one (see alignBunResponse).
 */
import { alignBunResponse } from './bun-response.js';

alignBunResponse();
