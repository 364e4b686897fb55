import type { Readable, Writable } from 'node:stream';

/** Everything a command may touch of the outside world, so tests can run it in-process. */
export interface CliIo {
  /** Arguments after the program name: `['serve', 'app.ts', '--port', '0']`. */
  args: string[];
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Environment for PATH, NO_COLOR; defaults to none. */
  env?: Record<string, string | undefined>;
  /** Folder relative paths are resolved against; defaults to `process.cwd()`. */
  cwd?: string;
  /** Aborting stops a running command (`serve` closes, a running script is killed). */
  signal?: AbortSignal;
}

/** Exit codes of the `fetch-cgi` command (documented in docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** Build error, missing file, script that cannot run or timed out, port in use. */
  failure: 1,
  /** Unknown command or option, missing or bad argument. */
  usage: 2,
  /** `request`: the script's output is not a valid CGI response. */
  malformed: 3,
} as const;

/** Bad command line: reported as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure to report as one line on stderr, exit code 1 (or `exitCode`). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** ANSI styling, applied only when `stream` is a TTY and NO_COLOR is unset. */
export function colors(stream: Writable, env: CliIo['env'] = {}) {
  const on = (stream as { isTTY?: boolean }).isTTY === true && !env.NO_COLOR;
  const wrap = (code: number) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { red: wrap(31), green: wrap(32), yellow: wrap(33), dim: wrap(2), bold: wrap(1) };
}

/** Writes `fetch-cgi: message` as one line on stderr, the prefix in red on a terminal. */
export function printError(io: CliIo, message: string): void {
  const { red } = colors(io.stderr, io.env);
  io.stderr.write(`${red('fetch-cgi:')} ${message.replace(/^fetch-cgi: /, '')}\n`);
}
