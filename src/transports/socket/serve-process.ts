import { nodeFs } from '../../runtime/node-fs.js';
import type { CgiApp, CgiEnv } from '../../types.js';
import { describeTarget, type ListenTarget, parseListenAddress } from './listen-address.js';
import { type SocketServeOptions, serveSocket } from './serve-socket.js';

/** The systemd socket-activation descriptor: the first one passed (sd_listen_fds). */
const SD_LISTEN_FDS_START = 3;

/**
 * The socket a process started without a CGI request is meant to serve on, from its
 * environment: `FETCH_CGI_LISTEN` (an address), systemd socket activation (`LISTEN_FDS` for
 * this process: fd 3), or file descriptor 0 when it is a socket, as Apache mod_fcgid,
 * lighttpd's `bin-path`, spawn-fcgi and supervisord hand a FastCGI process its listening
 * socket (FCGI_LISTENSOCK_FILENO). Undefined when there is none.
 */
export function listenTargetFromEnvironment(env: CgiEnv): ListenTarget | undefined {
  if (env.FETCH_CGI_LISTEN) {
    try {
      return parseListenAddress(env.FETCH_CGI_LISTEN);
    } catch (error) {
      throw new TypeError(`fetch-cgi: FETCH_CGI_LISTEN: ${(error as Error).message.replace(/^fetch-cgi: /, '')}`, {
        cause: error,
      });
    }
  }
  if (env.LISTEN_FDS && env.LISTEN_PID === String(process.pid) && Number(env.LISTEN_FDS) >= 1) {
    return { kind: 'fd', fd: SD_LISTEN_FDS_START };
  }
  try {
    if (nodeFs().fstatSync(0).isSocket()) return { kind: 'fd', fd: 0 };
  } catch {
    // No fd 0 at all.
  }
  return undefined;
}

/** Settings a process reads from its environment, where a built script has no other way in. */
const ENV_OPTIONS = {
  FETCH_CGI_CONCURRENCY: ['concurrency', 1],
  FETCH_CGI_MAX_REQUESTS: ['maxRequests', 1],
  FETCH_CGI_IDLE_TIMEOUT: ['idleTimeout', 1000],
  FETCH_CGI_GRACE_PERIOD: ['gracePeriod', 1000],
} as const;

/**
 * `options` with what the environment sets and the code left open: the numbers of
 * {@link ENV_OPTIONS} (seconds for the times) and `FETCH_CGI_SOCKET_MODE` (octal). Throws a
 * TypeError naming the variable and its value for one that is not a number.
 */
export function optionsFromEnvironment(env: CgiEnv, options: SocketServeOptions): SocketServeOptions {
  const merged: SocketServeOptions = { ...options };
  for (const [variable, [option, scale]] of Object.entries(ENV_OPTIONS)) {
    const value = env[variable];
    if (value === undefined || value === '' || merged[option] !== undefined) continue;
    if (!/^\d+(\.\d+)?$/.test(value))
      throw new TypeError(`fetch-cgi: ${variable} must be a number, got ${JSON.stringify(value)}`);
    merged[option] = Math.round(Number(value) * scale);
  }
  const mode = env.FETCH_CGI_SOCKET_MODE;
  if (mode && merged.socketMode === undefined) {
    if (!/^0?[0-7]{3}$/.test(mode))
      throw new TypeError(
        `fetch-cgi: FETCH_CGI_SOCKET_MODE must be an octal mode such as 660, got ${JSON.stringify(mode)}`,
      );
    merged.socketMode = Number.parseInt(mode, 8);
  }
  return merged;
}

/** What {@link serveProcess} needs besides the serving options. */
export interface ServeProcessOptions extends SocketServeOptions {
  /** End the process when the server stops (default true). */
  exit?: boolean;
}

/**
 * Serves `app` on `target` for the life of the process: SIGTERM and SIGINT stop it gracefully
 * (nothing new is taken, what runs finishes within the grace period) and it exits 0; an
 * exception or rejection that escapes the app is logged and the process serves on, since it
 * cannot be tied to one request. Settles with the exit code.
 */
export async function serveProcess(
  app: CgiApp,
  target: ListenTarget,
  options: ServeProcessOptions = {},
): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  const log = (text: string) => void stderr.write(`${text}\n`);
  // A log whose reader went away (a supervisor killed, a closed pipe) must not stop or spin the
  // process: EPIPE on stderr would come back as an uncaught exception, which is logged to
  // stderr, which fails again, for ever at full CPU. With a listener, the stream just ends and
  // what is written to it later (ours, the app's console.error) is dropped.
  if (!options.stderr) process.stderr.on('error', ignore);
  let server;
  try {
    server = await serveSocket(app, target, optionsFromEnvironment(process.env, options));
  } catch (error) {
    log(
      `fetch-cgi: cannot serve on ${describeTarget(target)}: ${(error as Error).message.replace(/^fetch-cgi: /, '')}`,
    );
    return finish(2, options);
  }
  const stop = () => void server.stop();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const orphaned = watchSupervisor(process.env.FETCH_CGI_SUPERVISOR_PID, (supervisor) => {
    log(`fetch-cgi: the fetch-cgi listen that started this worker (pid ${supervisor}) is gone: stopping`);
    stop();
  });
  const escaped = (kind: string) => (error: unknown) =>
    log(
      `fetch-cgi: ${kind} in the app, outside any response; serving on\n${error instanceof Error ? error.stack : String(error)}`,
    );
  const onException = escaped('uncaught exception');
  const onRejection = escaped('unhandled rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  const code = await server.closed;
  clearInterval(orphaned);
  process.stderr.off('error', ignore);
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  process.off('uncaughtException', onException);
  process.off('unhandledRejection', onRejection);
  return finish(code, options);
}

/**
 * For a worker of `fetch-cgi listen` (which names itself in FETCH_CGI_SUPERVISOR_PID): calls
 * `gone` once the process that started it has ended, so that a supervisor killed with SIGKILL
 * leaves no worker serving on. Its end shows as a new parent (the worker is adopted), checked
 * once a second; no signal reaches the worker otherwise. The parent at the start is the one
 * watched: a wrapper that runs the worker as its child keeps its own parent, never a false end.
 */
function watchSupervisor(supervisor: string | undefined, gone: (supervisor: string) => void) {
  if (!supervisor) return undefined;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone(supervisor);
  }, 1000);
  timer.unref?.();
  return timer;
}

function ignore(): void {}

function finish(code: number, options: ServeProcessOptions): number {
  if (options.exit ?? true) process.exit(code);
  return code;
}
