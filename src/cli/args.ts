import { parseArgs } from 'node:util';
import { UsageError } from './io.js';

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

/** The parsed value of each option: a string, a boolean, or a list when `multiple`. */
export type OptionValues<T extends Record<string, OptionSpec>> = {
  [K in keyof T]?: T[K] extends { type: 'string' }
    ? T[K] extends { multiple: true }
      ? string[]
      : string
    : T[K] extends { multiple: true }
      ? boolean[]
      : boolean;
};

/**
 * Parses `args` strictly with `node:util` `parseArgs`, turning its errors into one-line
 * `UsageError`s (`unknown option --foo`).
 */
export function parseCommandArgs<const T extends Record<string, OptionSpec>>(
  command: string,
  args: string[],
  options: T,
): { values: OptionValues<T>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: values as OptionValues<T>, positionals };
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const option = /'([^']+)'/.exec(message)?.[1] ?? message;
      throw new UsageError(`unknown option ${option} for ${command} (see fetch-cgi ${command} --help)`);
    }
    if (code?.startsWith('ERR_PARSE_ARGS')) {
      const first = (message.split('\n')[0] ?? '').split('. ')[0] ?? '';
      throw new UsageError(`${command}: ${first.replace(/\.$/, '')} (see fetch-cgi ${command} --help)`);
    }
    throw error;
  }
}

/** A whole number in `[min, max]` from option `name`, or a `UsageError`. */
export function parseInteger(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Seconds (decimals allowed, 0 = none) from option `name` as milliseconds. */
export function parseSeconds(name: string, value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`${name} must be a number of seconds, got ${JSON.stringify(value)}`);
  }
  return Math.round(seconds * 1000);
}

/** `NAME=VALUE` pairs from repeated `--env` options. */
export function parseEnvPairs(values: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of values ?? []) {
    const equals = pair.indexOf('=');
    if (equals < 1) throw new UsageError(`--env needs NAME=VALUE, got ${JSON.stringify(pair)}`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return env;
}

/** `--mount PATH` normalised to `''` or `/path` without a trailing slash. */
export function parseMount(value: string | undefined): string {
  if (value === undefined || value === '' || value === '/') return '';
  if (!value.startsWith('/')) throw new UsageError(`--mount must start with /, got ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
}
