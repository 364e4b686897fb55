/**
 * The CGI meta-variables a server hands the script (RFC 3875 section 4.1), plus the
 * non-standard ones common servers add. Every value is a string; a variable may be absent
 * or empty, and the two mean the same thing (RFC 3875 section 4.1).
 */
export interface CgiEnv {
  AUTH_TYPE?: string;
  CONTENT_LENGTH?: string;
  CONTENT_TYPE?: string;
  GATEWAY_INTERFACE?: string;
  PATH_INFO?: string;
  PATH_TRANSLATED?: string;
  QUERY_STRING?: string;
  REMOTE_ADDR?: string;
  REMOTE_HOST?: string;
  REMOTE_IDENT?: string;
  REMOTE_USER?: string;
  REQUEST_METHOD?: string;
  SCRIPT_NAME?: string;
  SERVER_NAME?: string;
  SERVER_PORT?: string;
  SERVER_PROTOCOL?: string;
  SERVER_SOFTWARE?: string;
  /** Not in RFC 3875, but set by Apache, lighttpd, nginx and busybox. */
  REMOTE_PORT?: string;
  REQUEST_URI?: string;
  REQUEST_SCHEME?: string;
  HTTPS?: string;
  DOCUMENT_ROOT?: string;
  SCRIPT_FILENAME?: string;
  SERVER_ADDR?: string;
  /**
   * The public path prefix the app is mounted at, computed by fetch-cgi (see docs/api.md):
   * `/cgi-bin/app.cgi` when reached directly, `/app` when `/app/users/42` was rewritten to
   * the script, `''` when the script answers at the site root.
   */
  FETCH_CGI_BASE?: string;
  [name: string]: string | undefined;
}

/** The third argument an app receives, shaped like the Workers / Hono `ExecutionContext`. */
export interface CgiExecutionContext {
  /** Keeps the process alive after the response has been sent until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for compatibility with Workers code; CGI has no origin to fall back to. */
  passThroughOnException(): void;
  /** Present so Hono's `ExecutionContext` type is satisfied. */
  readonly props: Record<string, unknown>;
}

/** What an app's handler returns. */
export type CgiHandlerResult = Response | Promise<Response>;

/** A fetch handler: the request, the CGI meta-variables and the execution context. */
export type CgiFetchHandler = (
  request: Request,
  env: CgiEnv,
  ctx: CgiExecutionContext,
) => CgiHandlerResult;

/**
 * An app: a fetch handler, or an object with a `fetch` method (a Hono instance,
 * `export default { fetch }`). Typed loosely on purpose so any framework's app fits.
 */
// biome-ignore lint: framework apps type their fetch parameters in their own ways
export type CgiApp = CgiFetchHandler | { fetch(request: Request, ...rest: any[]): unknown };
