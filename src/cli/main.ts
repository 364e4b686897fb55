import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { buildCommand } from './build.js';
import { mainHelp } from './help.js';
import { CliError, type CliIo, EXIT, printError, UsageError } from './io.js';
import { listenCommand } from './listen.js';
import { requestCommand } from './request.js';
import { serveCommand } from './serve.js';
import { VERSION } from './version.js';

export type { CliIo } from './io.js';
export { EXIT } from './io.js';

const commands: Record<string, (io: CliIo, args: string[]) => Promise<number>> = {
  build: buildCommand,
  serve: serveCommand,
  request: requestCommand,
  listen: listenCommand,
};

/**
 * Runs the `fetch-cgi` command line with the given streams and returns its exit code: 0 ok,
 * 1 failure, 2 usage error, 3 malformed CGI response (`request`). Errors are one line on
 * stderr. Never calls `process.exit`.
 *
 * @example
 * process.exitCode = await main({ args: ['build', 'app.ts'], stdin: process.stdin,
 *   stdout: process.stdout, stderr: process.stderr, env: process.env });
 */
export async function main(io: CliIo): Promise<number> {
  const [command, ...rest] = io.args;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      io.stdout.write(mainHelp);
      return EXIT.ok;
    }
    if (command === '-v' || command === '--version') {
      io.stdout.write(`${VERSION}\n`);
      return EXIT.ok;
    }
    const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (!run) {
      throw new UsageError(
        command.startsWith('-')
          ? `unknown option ${command} (see fetch-cgi --help)`
          : `unknown command ${JSON.stringify(command)} (see fetch-cgi --help)`,
      );
    }
    return await run(io, rest);
  } catch (error) {
    if (error instanceof UsageError) {
      printError(io, error.message);
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      printError(io, error.message);
      return error.exitCode;
    }
    printError(io, `internal error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.failure;
  }
}

/** Runs `main` on this process: its arguments, streams and environment; SIGINT/SIGTERM stop. */
export async function runFromProcess(): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.exitCode = await main({
    args: process.argv.slice(2),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: stop.signal,
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

// `node --import tsx src/cli/main.ts ...` (the tests) runs the CLI directly.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await runFromProcess();
}
