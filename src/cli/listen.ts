import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ListenTarget, parseListenAddress } from '../transports/socket/listen-address.js';
import { parseCommandArgs, parseEnvPairs, parseInteger, parseSeconds } from './args.js';
import { listenHelp } from './help.js';
import { type CliIo, colors, EXIT, UsageError } from './io.js';
import { openScriptSource } from './script-source.js';
import { bindSharedSocket, isListening } from './shared-socket.js';
import { WorkerPool } from './worker-pool.js';

/**
 * `fetch-cgi listen <script|entry> <address>`: binds `address` and runs `--workers` copies of
 * the built script on it (default: one per core) as long-lived FastCGI and SCGI processes, the
 * way a process manager would (the socket as descriptor 0, the other FETCH_CGI_* settings in
 * their environment). A worker that dies is replaced; SIGHUP replaces them all gracefully;
 * SIGTERM or SIGINT is passed on, and the command settles once every worker has finished.
 */
export async function listenCommand(io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('listen', args, {
    help: { type: 'boolean', short: 'h' },
    concurrency: { type: 'string' },
    'max-requests': { type: 'string' },
    'idle-timeout': { type: 'string' },
    grace: { type: 'string' },
    'socket-mode': { type: 'string' },
    workers: { type: 'string', short: 'w' },
    env: { type: 'string', short: 'e', multiple: true },
    'no-build': { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(listenHelp);
    return EXIT.ok;
  }
  if (positionals.length !== 2) {
    throw new UsageError('listen needs a script or entry file and an address (see fetch-cgi listen --help)');
  }
  const [file = '', address = ''] = positionals;
  let target: ListenTarget;
  try {
    target = parseListenAddress(address);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^fetch-cgi: /, ''));
  }
  const workers =
    values.workers === undefined ? availableParallelism() : parseInteger('--workers', values.workers, 1, 1024);
  if (values['idle-timeout'] !== undefined && values['max-requests'] !== undefined) {
    throw new UsageError(
      '--idle-timeout and --max-requests do not go together: a worker that ends after its requests would not be replaced',
    );
  }
  const settings: Record<string, string> = {};
  if (values.concurrency !== undefined) {
    settings.FETCH_CGI_CONCURRENCY = String(parseInteger('--concurrency', values.concurrency, 1, 1_000_000));
  }
  if (values['max-requests'] !== undefined) {
    settings.FETCH_CGI_MAX_REQUESTS = String(
      parseInteger('--max-requests', values['max-requests'], 1, Number.MAX_SAFE_INTEGER),
    );
  }
  if (values['idle-timeout'] !== undefined) {
    settings.FETCH_CGI_IDLE_TIMEOUT = String(parseSeconds('--idle-timeout', values['idle-timeout']) / 1000);
  }
  if (values.grace !== undefined)
    settings.FETCH_CGI_GRACE_PERIOD = String(parseSeconds('--grace', values.grace) / 1000);
  let socketMode = 0o660;
  if (values['socket-mode'] !== undefined) {
    if (!/^0?[0-7]{3}$/.test(values['socket-mode'])) {
      throw new UsageError(
        `--socket-mode needs an octal mode such as 660, got ${JSON.stringify(values['socket-mode'])}`,
      );
    }
    socketMode = Number.parseInt(values['socket-mode'], 8);
  }
  const { dim } = colors(io.stderr, io.env);
  const log = (message: string) => io.stderr.write(`${dim('fetch-cgi:')} ${message}\n`);
  const source = await openScriptSource(resolve(io.cwd ?? process.cwd(), file), {
    noBuild: values['no-build'] === true,
    watch: false,
    log,
  });
  let socket: Awaited<ReturnType<typeof bindSharedSocket>> | undefined;
  try {
    const script = await source.current();
    socket = await bindSharedSocket(target, socketMode);
    const fd = socket.fd;
    // What a process manager passes: PATH and the settings, nothing else of this shell's.
    const env = { PATH: io.env?.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...parseEnvPairs(values.env), ...settings };
    const pool = new WorkerPool({
      count: workers,
      replaceFinished: values['idle-timeout'] === undefined,
      log,
      start: () => {
        // The socket as descriptor 3, not 0: the workers share one open socket, and a spawn
        // makes descriptors 0-2 blocking for every process holding them (libuv does, for the
        // child's stdio), which would leave a worker stuck in accept() when another took the
        // connection it woke up for.
        const child = spawn(script, [], {
          env: { ...env, FETCH_CGI_LISTEN: 'fd:3', FETCH_CGI_SUPERVISOR_PID: String(process.pid) },
          stdio: ['ignore', 'inherit', 'pipe', fd],
        });
        child.stderr?.on('data', (chunk: Buffer) => io.stderr.write(chunk));
        return child;
      },
    });
    // The socket refuses clients until a worker listens: say it serves only once it does.
    const poolState = { ended: false };
    void pool.done.then(() => (poolState.ended = true));
    for (let waited = 0; !poolState.ended && !isListening(fd) && waited < 10_000; waited += 20) await sleep(20);
    if (!poolState.ended)
      log(
        `serving ${file} over FastCGI and SCGI on ${address} with ${workers} worker${workers === 1 ? '' : 's'} (${pool.pids.join(' ')})`,
      );
    const stop = () => void pool.stop();
    const reload = () => {
      log('SIGHUP: starting fresh workers, stopping the old ones gracefully');
      pool.reload();
    };
    io.signal?.addEventListener('abort', stop);
    process.on('SIGHUP', reload);
    const code = await pool.done;
    io.signal?.removeEventListener('abort', stop);
    process.off('SIGHUP', reload);
    return code;
  } finally {
    socket?.close();
    await source.close();
  }
}
