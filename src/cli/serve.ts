import { HOP_BY_HOP } from '../http/syntax.js';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgiResponseError } from '../errors.js';
import { parseCommandArgs, parseEnvPairs, parseInteger, parseMount, parseSeconds } from './args.js';
import { serveHelp } from './help.js';
import { CliError, type CliIo, colors, EXIT, UsageError } from './io.js';
import {
  isNphScript,
  runCgi,
  type RunScriptOptions,
  ScriptStartError,
  ScriptTimeoutError,
  startScript,
} from './run-script.js';
import { openScriptSource, type ScriptSource } from './script-source.js';
import { VERSION } from './version.js';

/** `fetch-cgi serve <script|entry> [--port N] [--host ADDR] [--mount PATH] [--timeout S]` */
export async function serveCommand(io: CliIo, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('serve', args, {
    help: { type: 'boolean', short: 'h' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    mount: { type: 'string' },
    timeout: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    'no-build': { type: 'boolean' },
  });
  if (values.help) {
    io.stdout.write(serveHelp);
    return EXIT.ok;
  }
  if (positionals.length !== 1)
    throw new UsageError('serve needs exactly one script or entry file (see fetch-cgi serve --help)');
  const port = parseInteger('--port', values.port ?? '8080', 0, 65535);
  const host = values.host ?? '127.0.0.1';
  const mount = parseMount(values.mount);
  const timeoutMs = parseSeconds('--timeout', values.timeout ?? '30');
  const extraEnv = parseEnvPairs(values.env);
  const file = resolve(io.cwd ?? process.cwd(), positionals[0] ?? '');
  const { dim, green, red, yellow } = colors(io.stderr, io.env);
  const log = (message: string) => io.stderr.write(`${dim('fetch-cgi:')} ${message}\n`);

  const source = await openScriptSource(file, { noBuild: values['no-build'] === true, watch: true, log });
  const baseEnv = { PATH: io.env?.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...extraEnv };
  const server = createServer((req, res) => {
    const started = performance.now();
    const line = `${req.method} ${req.url}`;
    handle(req, res, { source, mount, timeoutMs, baseEnv, line, io, log }).then(
      (status) => {
        const paint = status >= 500 ? red : status >= 400 ? yellow : green;
        log(`${line} ${paint(String(status))} ${Math.round(performance.now() - started)} ms`);
      },
      (error: unknown) => {
        log(`${line} ${red('failed')}: ${(error as Error).message}`);
        res.destroy();
      },
    );
  });

  try {
    server.listen(port, host);
    await once(server, 'listening');
  } catch (error) {
    await source.close();
    throw new CliError(`cannot listen on ${host}:${port}: ${(error as Error).message}`);
  }
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  io.stderr.write(`fetch-cgi serving ${positionals[0]} at http://${shown}:${actualPort}${mount}/\n`);

  // Run until aborted (SIGINT/SIGTERM in the real CLI).
  if (io.signal && !io.signal.aborted) await once(io.signal, 'abort');
  log('stopping');
  server.close();
  server.closeAllConnections();
  await source.close();
  return EXIT.ok;
}

/** How long a response waits for the rest of a request body the script did not read. */
const BODY_GRACE_MS = 5000;

interface Context {
  source: ScriptSource;
  mount: string;
  timeoutMs: number;
  baseEnv: Record<string, string>;
  line: string;
  io: CliIo;
  log(message: string): void;
}

/** Serves one request; resolves with the status sent (0 when the connection was dropped). */
async function handle(req: IncomingMessage, res: ServerResponse, context: Context): Promise<number> {
  const { mount, log } = context;
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  if (url.pathname !== mount && !url.pathname.startsWith(`${mount}/`)) {
    return sendText(res, 404, `Not found: ${url.pathname} is outside ${mount}\n`);
  }
  let script: string;
  try {
    script = await context.source.current();
  } catch (error) {
    return sendText(res, 500, `${(error as Error).message}\n`);
  }

  // A client that goes away takes its script with it.
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const options: RunScriptOptions = {
    script,
    mount,
    remoteAddr: req.socket.remoteAddress ?? '127.0.0.1',
    ...(req.socket.remotePort !== undefined ? { remotePort: req.socket.remotePort } : {}),
    serverSoftware: `fetch-cgi/${VERSION}`,
    baseEnv: context.baseEnv,
    timeoutMs: context.timeoutMs,
    signal: gone.signal,
    onStderr: lineWriter(context.io, `[${context.line}] `),
  };
  const request = await toRequest(req, url);

  if (isNphScript(script)) return passThrough(request, res, options);

  let response: Response;
  try {
    response = await runCgi(request, options);
  } catch (error) {
    if (error instanceof ScriptTimeoutError) return sendText(res, 504, `Gateway timeout: ${error.message}\n`);
    if (error instanceof CgiResponseError || error instanceof ScriptStartError) {
      log(error.message);
      return sendText(res, 502, `Bad gateway: ${error.message}\n`);
    }
    throw error;
  }

  for (const name of new Set(response.headers.keys())) {
    if (HOP_BY_HOP.has(name)) continue;
    res.setHeader(name, name === 'set-cookie' ? response.headers.getSetCookie() : (response.headers.get(name) ?? ''));
  }
  res.writeHead(response.status, response.statusText || undefined);
  res.flushHeaders();
  if (!response.body) {
    await requestReceived(req, BODY_GRACE_MS);
    res.end();
    return response.status;
  }
  try {
    for await (const chunk of response.body) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } catch (error) {
    // Headers are out: all that is left is to cut the connection.
    log(`${context.line}: ${(error as Error).message}`);
    res.destroy();
    return response.status;
  }
  await requestReceived(req, BODY_GRACE_MS);
  res.end();
  return response.status;
}

/** The incoming request as a `Request`; a body without Content-Length is read whole first. */
async function toRequest(req: IncomingMessage, url: URL): Promise<Request> {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '');
  }
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers });
  let body: ReadableStream | Buffer | undefined;
  if (headers.has('content-length')) {
    body = bodyStream(req);
  } else if (headers.has('transfer-encoding')) {
    // CGI needs CONTENT_LENGTH: buffer a chunked body, as lighttpd and nginx do.
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
    headers.delete('transfer-encoding');
    headers.set('content-length', String(body.length));
  }
  return new Request(url, { method, headers, ...(body ? { body, duplex: 'half' } : {}) } as RequestInit);
}

/**
 * The request body as a web stream, read as the script reads it. When it is cancelled (the
 * script ended without reading all of it), the rest is read into the void: a connection closed
 * with request bytes unread is reset, and the client would lose the response.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on('data', (chunk: Buffer) => {
          if (cancelled) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once('end', () => cancelled || controller.close());
        req.once('error', (error) => cancelled || controller.error(error));
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        cancelled = true;
        req.resume();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/**
 * Waits (at most `ms`) until the request body has arrived whole: ending the response first would
 * close the connection with request bytes unread, and the kernel would reset it.
 */
async function requestReceived(req: IncomingMessage, ms: number): Promise<void> {
  if (req.complete || req.destroyed) return;
  req.resume();
  await Promise.race([once(req, 'end').catch(() => {}), once(req, 'close'), sleep(ms)]);
}

/** Non-parsed-header script: its output goes to the client verbatim (RFC 3875 section 5). */
async function passThrough(request: Request, res: ServerResponse, options: RunScriptOptions): Promise<number> {
  const iterator = startScript(request, {}, options).stdout[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    first = await iterator.next();
  } catch (error) {
    if (error instanceof ScriptTimeoutError) return sendText(res, 504, `Gateway timeout: ${error.message}\n`);
    return sendText(res, 502, `Bad gateway: ${(error as Error).message}\n`);
  }
  if (first.done) return sendText(res, 502, 'Bad gateway: script produced no output\n');
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(Buffer.from(first.value).toString('latin1'))?.[1] ?? 0);
  const socket = res.socket;
  if (!socket) return 0;
  res.shouldKeepAlive = false;
  socket.write(first.value);
  try {
    for (let chunk = await iterator.next(); !chunk.done; chunk = await iterator.next()) {
      if (!socket.write(chunk.value)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
    }
    socket.end();
  } catch {
    socket.destroy();
  }
  return status;
}

/** A small plain-text answer from the host itself. */
function sendText(res: ServerResponse, status: number, text: string): number {
  if (res.headersSent) {
    res.destroy();
    return status;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

/** Writes the script's stderr line by line, each line prefixed; an empty chunk flushes. */
function lineWriter(io: CliIo, prefix: string): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    if (chunk.length === 0) {
      if (partial !== '') io.stderr.write(`${prefix}${partial}\n`);
      partial = '';
      return;
    }
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const text of lines) io.stderr.write(`${prefix}${text}\n`);
  };
}
