/**
 * The CGI meta-variables a server hands the script (RFC 3875 section 4.1), plus the
 * non-standard ones common servers add. Every value is a string; a variable may be absent
 * or empty, and the two mean the same thing (RFC 3875 section 4.1).
 */
export interface CgiEnv {
  AUTH_TYPE?: string | undefined;
  CONTENT_LENGTH?: string | undefined;
  CONTENT_TYPE?: string | undefined;
  GATEWAY_INTERFACE?: string | undefined;
  PATH_INFO?: string | undefined;
  PATH_TRANSLATED?: string | undefined;
  QUERY_STRING?: string | undefined;
  REMOTE_ADDR?: string | undefined;
  REMOTE_HOST?: string | undefined;
  REMOTE_IDENT?: string | undefined;
  REMOTE_USER?: string | undefined;
  REQUEST_METHOD?: string | undefined;
  SCRIPT_NAME?: string | undefined;
  SERVER_NAME?: string | undefined;
  SERVER_PORT?: string | undefined;
  SERVER_PROTOCOL?: string | undefined;
  SERVER_SOFTWARE?: string | undefined;
  /** Not in RFC 3875, but set by Apache, lighttpd, nginx and busybox. */
  REMOTE_PORT?: string | undefined;
  REQUEST_URI?: string | undefined;
  REQUEST_SCHEME?: string | undefined;
  HTTPS?: string | undefined;
  DOCUMENT_ROOT?: string | undefined;
  SCRIPT_FILENAME?: string | undefined;
  SERVER_ADDR?: string | undefined;
  /**
   * The public path prefix the app is mounted at, computed by fetch-cgi (see docs/api.md):
   * `/cgi-bin/app.cgi` when reached directly, `/app` when `/app/users/42` was rewritten to
   * the script, `''` when the script answers at the site root.
   */
  FETCH_CGI_BASE?: string | undefined;
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
export type CgiFetchHandler = (request: Request, env: CgiEnv, ctx: CgiExecutionContext) => CgiHandlerResult;

/**
 * An app: a fetch handler, or an object with a `fetch` method (a Hono instance,
 * `export default { fetch }`). Typed loosely on purpose so any framework's app fits.
 */
// biome-ignore lint: framework apps type their fetch parameters in their own ways
export type CgiApp = CgiFetchHandler | { fetch(request: Request, ...rest: any[]): unknown };
