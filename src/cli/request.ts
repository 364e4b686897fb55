import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CgiResponseError } from '../errors.js';
import { parseCommandArgs, parseEnvPairs, parseMount, parseSeconds } from './args.js';
import { requestHelp } from './help.js';
import { CliError, type CliIo, EXIT, UsageError } from './io.js';
import { runCgi, ScriptStartError, ScriptTimeoutError } from './run-script.js';
import { openScriptSource } from './script-source.js';
import { VERSION } from './version.js';

/**
 * `fetch-cgi request <script|entry> [-X M] [-H 'N: v']... [-d data] <path>`: runs the script
 * once for a request to `http://localhost<path>` and prints the response like `curl -i`.
 */
export async function requestCommand(io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('request', args, {
    help: { type: 'boolean', short: 'h' },
    request: { type: 'string', short: 'X' },
    header: { type: 'string', short: 'H', multiple: true },
    data: { type: 'string', short: 'd' },
    'data-binary': { type: 'string' },
    include: { type: 'boolean', short: 'i' },
    'no-include': { type: 'boolean' },
    mount: { type: 'string' },
    timeout: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    'no-build': { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(requestHelp);
    return EXIT.ok;
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      'request needs a script or entry file and a path such as /users/42?x=1 (see fetch-cgi request --help)',
    );
  }
  const [file = '', path = ''] = positionals;
  if (!path.startsWith('/')) throw new UsageError(`the request path must start with /, got ${JSON.stringify(path)}`);
  const cwd = io.cwd ?? process.cwd();
  const mount = parseMount(values.mount);
  const timeoutMs = parseSeconds('--timeout', values.timeout ?? '30');
  const extraEnv = parseEnvPairs(values.env);

  const headers = new Headers();
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon < 1) throw new UsageError(`-H needs 'Name: value', got ${JSON.stringify(header)}`);
    try {
      headers.append(header.slice(0, colon).trim(), header.slice(colon + 1).trim());
    } catch {
      throw new UsageError(`bad header ${JSON.stringify(header)}`);
    }
  }
  if (!headers.has('host')) headers.set('host', 'localhost');
  const data = values['data-binary'] ?? values.data;
  const body = data === undefined ? undefined : await readData(data, cwd, io.stdin);
  const method = (values.request ?? (body ? 'POST' : 'GET')).toUpperCase();
  if (body) {
    headers.set('content-length', String(body.length));
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  let request: Request;
  try {
    request = new Request(`http://localhost${path}`, {
      method,
      headers,
      ...(body ? { body: new Uint8Array(body) } : {}),
    });
  } catch (error) {
    throw new UsageError(`bad request: ${(error as Error).message}`);
  }

  const source = await openScriptSource(resolve(cwd, file), {
    noBuild: values['no-build'] === true,
    watch: false,
    log: () => {},
  });
  try {
    const response = await runCgi(request, {
      script: await source.current(),
      mount,
      remoteAddr: '127.0.0.1',
      serverSoftware: `fetch-cgi/${VERSION}`,
      baseEnv: { PATH: io.env?.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...extraEnv },
      timeoutMs,
      ...(io.signal ? { signal: io.signal } : {}),
      onStderr: (chunk) => io.stderr.write(chunk),
    });
    if (values['no-include'] !== true) io.stdout.write(formatHead(response));
    if (response.body && method !== 'HEAD') await copy(response.body, io.stdout);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CgiResponseError) throw new CliError(error.message, EXIT.malformed);
    if (error instanceof ScriptTimeoutError || error instanceof ScriptStartError) throw new CliError(error.message);
    throw error;
  } finally {
    await source.close();
  }
}

/** The status line and header fields as `curl -i` prints them, CRLF line ends. */
export function formatHead(response: Response): string {
  let head = `HTTP/1.1 ${response.status}${response.statusText ? ` ${response.statusText}` : ''}\r\n`;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    head += `${name}: ${value}\r\n`;
  }
  for (const cookie of response.headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
  return `${head}\r\n`;
}

/** `-d` data: literal text, `@file`, or `@-` for stdin. */
async function readData(data: string, cwd: string, stdin: Readable): Promise<Buffer> {
  if (!data.startsWith('@')) return Buffer.from(data);
  if (data === '@-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(resolve(cwd, data.slice(1)));
  } catch (error) {
    throw new CliError(`cannot read ${data.slice(1)}: ${(error as Error).message}`);
  }
}

/** Copies a web stream to a Node writable, waiting for 'drain' when it is full. */
async function copy(body: ReadableStream<Uint8Array>, out: Writable): Promise<void> {
  for await (const chunk of body) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
}
