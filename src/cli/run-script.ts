import { type ChildProcess, spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { CgiResponseError } from '../errors.js';
import { isLocalRedirect, parseCgiResponse } from '../host/parse-cgi-response.js';
import { requestToEnv } from '../host/request-to-env.js';
import type { CgiEnv } from '../types.js';

/** How to run a CGI script for one request. */
export interface RunScriptOptions {
  /** Absolute path of the executable script; it runs in its own folder. */
  script: string;
  /** SCRIPT_NAME: the URL path the script is mounted at, `''` for the site root. */
  mount: string;
  remoteAddr: string;
  remotePort?: number;
  serverSoftware: string;
  /** Added to the environment besides the CGI variables (PATH, `--env` values). */
  baseEnv: Record<string, string>;
  /** Kill the script after this many milliseconds; 0 means never. */
  timeoutMs: number;
  /** Aborting kills the script (the client went away, the host stops). */
  signal?: AbortSignal;
  /** The script's stderr, as it arrives; an empty chunk when it ends. */
  onStderr(chunk: Buffer): void;
}

/** The script ran longer than `timeoutMs`. */
export class ScriptTimeoutError extends Error {
  override name = 'ScriptTimeoutError';
}

/** The script could not be started (not found, not executable, bad interpreter). */
export class ScriptStartError extends Error {
  override name = 'ScriptStartError';
}

/** How many local redirects in a row a request may take (Apache's LimitInternalRecursion). */
export const MAX_LOCAL_REDIRECTS = 10;

/** Whether the script is a non-parsed-header script (RFC 3875 section 5: name starts `nph-`). */
export function isNphScript(script: string): boolean {
  return basename(script).startsWith('nph-');
}

/**
 * Runs the script for `request` and parses its output into a `Response` whose body streams
 * from the running process. A local redirect (RFC 3875 section 6.2.2) is served by running the
 * script again as a GET for the new path, with REDIRECT_STATUS and REDIRECT_URL set as Apache
 * does, at most `MAX_LOCAL_REDIRECTS` times; a path outside the mount answers 404.
 *
 * @throws {CgiResponseError} for malformed output or too many local redirects.
 * @throws {ScriptTimeoutError} when the timeout ran out before the header block was complete.
 * @throws {ScriptStartError} when the script could not be started.
 */
export async function runCgi(request: Request, options: RunScriptOptions): Promise<Response> {
  let current = request;
  let extra: Record<string, string> = {};
  for (let redirects = 0; ; redirects++) {
    const response = await parseCgiResponse(startScript(current, extra, options).stdout, { nph: false }).catch(
      (error: unknown) => {
        // A timeout or a failed start is not the script's malformed output: report it as such.
        const cause = (error as Error).cause;
        throw cause instanceof ScriptTimeoutError || cause instanceof ScriptStartError ? cause : error;
      },
    );
    if (!isLocalRedirect(response)) return response;
    if (redirects === MAX_LOCAL_REDIRECTS) {
      throw new CgiResponseError(`more than ${MAX_LOCAL_REDIRECTS} local redirects in a row`);
    }
    const from = new URL(current.url);
    const target = new URL(response.headers.get('location') ?? '/', from);
    if (target.pathname !== options.mount && !target.pathname.startsWith(`${options.mount}/`)) {
      return new Response(`Not found: local redirect to ${target.pathname}, outside ${options.mount || '/'}\n`, {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    }
    const headers = new Headers(current.headers);
    headers.delete('content-length');
    headers.delete('content-type');
    current = new Request(target, { method: 'GET', headers });
    extra = { REDIRECT_STATUS: '200', REDIRECT_URL: from.pathname, REDIRECT_QUERY_STRING: from.search.slice(1) };
  }
}

/**
 * Spawns the script with the environment for `request` and the request body on stdin, and
 * returns its stdout as a stream that fails with `ScriptTimeoutError` or `ScriptStartError`
 * when the script timed out or never started. The script runs in its own process group, so a
 * kill reaches whatever it started too.
 */
export function startScript(
  request: Request,
  extra: Record<string, string>,
  options: RunScriptOptions,
): { stdout: AsyncIterable<Uint8Array>; child: ChildProcess } {
  const env: CgiEnv = requestToEnv(request, {
    scriptName: options.mount,
    scriptFilename: options.script,
    remoteAddr: options.remoteAddr,
    ...(options.remotePort !== undefined ? { remotePort: options.remotePort } : {}),
    serverSoftware: options.serverSoftware,
    extra,
  });
  const child = spawn(options.script, [], {
    cwd: dirname(options.script),
    env: { ...options.baseEnv, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let failure: Error | undefined;
  const kill = () => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const timer =
    options.timeoutMs > 0
      ? setTimeout(() => {
          failure = new ScriptTimeoutError(`script timed out after ${options.timeoutMs / 1000} s`);
          kill();
        }, options.timeoutMs)
      : undefined;
  const onAbort = () => kill();
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) kill();
  child.on('error', (error) => {
    failure = new ScriptStartError(`cannot run ${options.script}: ${error.message}`, { cause: error });
  });
  child.on('close', () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  });
  child.stderr.on('data', options.onStderr);
  child.stderr.on('end', () => options.onStderr(Buffer.alloc(0)));

  // A script need not read its input: when it ends first (EPIPE), the body stream is cancelled;
  // when the body fails (the client went away), the script's stdin is closed.
  child.stdin.on('error', () => {});
  if (request.body) {
    pipeline(Readable.fromWeb(request.body as import('node:stream/web').ReadableStream), child.stdin, () => {});
  } else {
    child.stdin.end();
  }

  const stdout = child.stdout;
  async function* output(): AsyncGenerator<Uint8Array> {
    let produced = false;
    try {
      for await (const chunk of stdout) {
        if (failure) break;
        produced = true;
        yield chunk as Buffer;
      }
    } finally {
      // Stopped early (a local redirect, a cancelled body): the script has nothing left to say.
      if (!stdout.readableEnded) kill();
    }
    // When spawn fails, stdout may end before 'error' fires: without output, wait for the exit.
    if (!produced && !failure && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => {
        child.once('close', resolve);
        child.once('error', resolve);
      });
    }
    if (failure) throw failure;
  }
  return { stdout: output(), child };
}
