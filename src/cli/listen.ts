import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { parseListenAddress } from '../transports/socket/listen-address.js';
import { parseCommandArgs, parseEnvPairs, parseInteger, parseSeconds } from './args.js';
import { listenHelp } from './help.js';
import { type CliIo, colors, EXIT, UsageError } from './io.js';
import { openScriptSource } from './script-source.js';

/**
 * `fetch-cgi listen <script|entry> <address>`: runs the built script as a long-lived FastCGI
 * and SCGI process on `address`, the way a process manager would (FETCH_CGI_LISTEN and the
 * other FETCH_CGI_* settings in its environment), until SIGTERM or SIGINT, which it passes on.
 * Settles with the script's exit code.
 */
export async function listenCommand(io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('listen', args, {
    help: { type: 'boolean', short: 'h' },
    concurrency: { type: 'string' },
    'max-requests': { type: 'string' },
    'idle-timeout': { type: 'string' },
    grace: { type: 'string' },
    'socket-mode': { type: 'string' },
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
  try {
    parseListenAddress(address);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^fetch-cgi: /, ''));
  }
  const settings: Record<string, string> = { FETCH_CGI_LISTEN: address };
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
  if (values['socket-mode'] !== undefined) {
    if (!/^0?[0-7]{3}$/.test(values['socket-mode'])) {
      throw new UsageError(
        `--socket-mode needs an octal mode such as 660, got ${JSON.stringify(values['socket-mode'])}`,
      );
    }
    settings.FETCH_CGI_SOCKET_MODE = values['socket-mode'];
  }
  const { dim } = colors(io.stderr, io.env);
  const log = (message: string) => io.stderr.write(`${dim('fetch-cgi:')} ${message}\n`);
  const source = await openScriptSource(resolve(io.cwd ?? process.cwd(), file), {
    noBuild: values['no-build'] === true,
    watch: false,
    log,
  });
  try {
    const script = await source.current();
    // What a process manager passes: PATH and the settings, nothing else of this shell's.
    const env = { PATH: io.env?.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...parseEnvPairs(values.env), ...settings };
    const child = spawn(script, [], { env, stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => io.stderr.write(chunk));
    log(`serving ${file} over FastCGI and SCGI on ${address}`);
    const stop = () => child.kill('SIGTERM');
    io.signal?.addEventListener('abort', stop);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    io.signal?.removeEventListener('abort', stop);
    if (signal) log(`the script was killed by ${signal}`);
    return code ?? EXIT.failure;
  } finally {
    await source.close();
  }
}
