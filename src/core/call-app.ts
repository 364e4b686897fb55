import { CgiBodyError } from '../errors.js';
import { LightResponse } from '../response/light-response.js';
import type { CgiApp, CgiEnv, CgiExecutionContext } from '../types.js';

/** Calls `app` (a fetch handler, or an object with a fetch method): its answer, or a promise of it. */
export function callApp(app: CgiApp, request: Request, env: CgiEnv, ctx: CgiExecutionContext): unknown {
  if (typeof app === 'function') return app(request, env, ctx);
  if (app && typeof app.fetch === 'function') return app.fetch(request, env, ctx);
  throw new TypeError(
    `fetch-cgi: serveCgi(app) needs a function or an object with a fetch method, got ${describe(app)}`,
  );
}

/** A Response, or anything shaped like one (another realm's, undici's from npm). */
export function checkedResponse(value: unknown): Response {
  if (value instanceof LightResponse) return value as unknown as Response;
  const candidate = value as Response | null;
  if (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.status === 'number' &&
    typeof candidate.headers?.get === 'function' &&
    'body' in candidate
  ) {
    return candidate;
  }
  throw new TypeError(`fetch-cgi: the app returned ${describe(value)} instead of a Response`);
}

/** The request-body error behind `error` (a stream error the app rethrew, or wrapped). */
export function findBodyError(error: unknown): CgiBodyError | undefined {
  for (let cause = error, depth = 0; cause && depth < 5; depth += 1) {
    if (cause instanceof CgiBodyError) return cause;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The stack of an error, or what was thrown. */
export function stack(error: unknown): string {
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return typeof value === 'string' ? 'a string' : String(value);
}
