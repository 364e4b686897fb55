import { LazyHeaders } from '../request/lazy-headers.js';
import { LazyRequest, unwrapRequest } from '../request/lazy-request.js';
import { LightResponse } from '../response/light-response.js';
import { alignBunResponse } from '../runtime/bun-response.js';
import { fetchClassesUnloaded, installLightFetch } from '../runtime/fetch-globals.js';

/**
 * Readies the fetch classes the app will use, once per process: where Node's are still unloaded
 * and `light` allows, the light path (a lazy request for the app, a light global `Response`
 * that the writer sends from its parts: no streams, no undici objects for a plain response),
 * which loads the real classes only when the app needs them; else Bun's `Response` is made to
 * list the type its body implies. Says whether exchanges should hand the app a lazy request.
 */
export function prepareFetchClasses(light: boolean): boolean {
  const lazy = light && fetchClassesUnloaded();
  if (lazy)
    installLightFetch({ request: LazyRequest, response: LightResponse, headers: LazyHeaders, unwrap: unwrapRequest });
  else alignBunResponse();
  return lazy;
}
