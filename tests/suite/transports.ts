/**
 * The ways the suite reaches the app, each behind one {@link Transport} interface: in-process
 * (`serveCgi` with injected streams), the built script spawned directly (`runCgi`), the six real
 * servers in both URL styles, and `fetch-cgi serve`. What a transport genuinely cannot do is
 * listed in `lacks`, with the reason the matrix shows.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { request as undiciRequest } from 'undici';
import { parseCgiResponse, requestToEnv, serveCgi } from '../../src/index.js';
import { runCgi, startScript, type RunScriptOptions } from '../../src/cli/run-script.js';
import { type Served, startServe } from '../cli/helpers.js';
import type { BackendKind, RunningServer, ServerKind } from '../servers/index.js';
import { isAlive } from '../servers/processes.js';
import app from './app.js';
import { rawRequest } from './raw-http.js';

/** Features a case may need that some transport lacks. */
export type Feature =
  | 'rewrite'
  | 'customHeaders'
  | 'authorization'
  | 'put'
  | 'chunkedUpload'
  | 'stream'
  | 'smallWrites'
  | 'processStdout'
  | 'privateStderr'
  | 'earlyEnd'
  | 'streamedBody'
  | 'processPerRequest';

/** A request as the cases describe it; the transport frames it. */
export interface SuiteRequest {
  method?: string;
  headers?: Record<string, string>;
  /** Bytes, text, or a stream; a stream without `length` is sent chunked (no Content-Length). */
  body?: string | Uint8Array | { chunks: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>; length?: number };
}

/** A response with its body still streaming. */
export interface SuiteResponse {
  status: number;
  headers: Headers;
  body: AsyncIterable<Uint8Array>;
  /** Stops reading and drops the connection (or the script's output). */
  abort(): void;
}

export interface Transport {
  /** Column name in the matrix, e.g. `nginx (pretty)`. */
  name: string;
  style: 'direct' | 'pretty';
  /** The public prefix the app is mounted at: `/cgi-bin/app.cgi`, `/app`, or `''`. */
  base: string;
  /** Features this transport cannot offer, with the reason. */
  lacks: Partial<Record<Feature, string>>;
  /** What the app sees for `.../a%20b/c%2Fd`: the raw path, `/` decoded, or a 404 from the server. */
  encodedSlash: 'raw' | 'decoded' | 'refused';
  /** Sends `path` (relative to `base`, with its query). */
  request(path: string, init?: SuiteRequest): Promise<SuiteResponse>;
  /** A HEAD request's status, headers and the number of body bytes that really came after them. */
  head(path: string): Promise<{ status: number; headers: Headers; bodyBytes: number }>;
  /** Follows a `Location` the app sent, as a client would. */
  follow(location: string): Promise<SuiteResponse>;
  /**
   * Whether the script that wrote `pid` to `marker` while serving `path` has finished; for a
   * long-lived process, whether that request ended (the app appends ` cancelled` to the marker
   * when its response stream is cancelled).
   */
  scriptGone(pid: number, path: string, marker: string): boolean;
}

const SCRIPT_NAME = '/cgi-bin/app.cgi';
const NO_STDOUT = 'in-process, console.log is the test process stdout, not the CGI channel';

/** Body bytes and their length, or a stream (`length` undefined: send chunked). */
function frame(init: SuiteRequest): {
  chunks?: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  length?: number;
} {
  const { body } = init;
  if (body === undefined) return {};
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    return { chunks: () => [bytes], length: bytes.byteLength };
  }
  return body.length === undefined ? { chunks: body.chunks } : { chunks: body.chunks, length: body.length };
}

function webStream(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from(chunks, { objectMode: false })) as ReadableStream<Uint8Array>;
}

/** A `Request` for `url` with the body framed as a server would hand it to a script. */
function toRequest(url: string, init: SuiteRequest): Request {
  const { chunks, length } = frame(init);
  const headers = new Headers(init.headers);
  if (chunks && length !== undefined) headers.set('content-length', String(length));
  // No length: Apache's way, HTTP_TRANSFER_ENCODING=chunked and the body to EOF.
  if (chunks && length === undefined) headers.set('transfer-encoding', 'chunked');
  return new Request(url, {
    method: init.method ?? 'GET',
    headers,
    ...(chunks ? { body: webStream(chunks()), duplex: 'half' } : {}),
  } as RequestInit);
}

/** From a public path (`/app/x?y`) to the script URL a rewrite makes of it, and REQUEST_URI. */
function rewrite(base: string, path: string): { url: string; extra: Record<string, string> } {
  const url = `http://127.0.0.1:8080${SCRIPT_NAME}${path}`;
  return base === SCRIPT_NAME ? { url, extra: {} } : { url, extra: { REQUEST_URI: `${base}${path}` } };
}

function fromResponse(response: Response, abort: () => void = () => {}): SuiteResponse {
  const body = response.body;
  return {
    status: response.status,
    headers: response.headers,
    body: (body as AsyncIterable<Uint8Array> | null) ?? (async function* () {})(),
    abort() {
      void body?.cancel().catch(() => {});
      abort();
    },
  };
}

async function countBytes(body: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of body) bytes += chunk.byteLength;
  return bytes;
}

/** `serveCgi` in this process, stdout a PassThrough read back with `parseCgiResponse`. */
export function inProcess(style: 'direct' | 'pretty'): Transport & { stderr(): string } {
  const base = style === 'direct' ? SCRIPT_NAME : '/app';
  const running = new Map<Promise<number>, string>();
  let stderr = '';
  const send = async (path: string, init: SuiteRequest = {}): Promise<SuiteResponse> => {
    const { url, extra } = rewrite(base, path);
    const request = toRequest(url, init);
    const env = requestToEnv(request, {
      scriptName: SCRIPT_NAME,
      remoteAddr: '127.0.0.1',
      serverSoftware: 'suite-in-process',
      extra,
    });
    const stdout = new PassThrough();
    const done = serveCgi(app, {
      env,
      stdin: request.body ? (request.body as unknown as AsyncIterable<Uint8Array>) : [],
      stdout,
      stderr: { write: (text: string) => (stderr += text) },
      exit: false,
    });
    running.set(done, path);
    void done.finally(() => running.delete(done));
    return fromResponse(await parseCgiResponse(readAsClient(stdout)));
  };
  return {
    name: `in-process${style === 'pretty' ? ' (pretty)' : ''}`,
    style,
    base,
    lacks: { processStdout: NO_STDOUT },
    encodedSlash: 'raw',
    request: send,
    head: (path) => headThrough(send, path),
    follow: (location) => send(location.slice(base.length)),
    scriptGone: (_pid, path) => ![...running.values()].some((running) => running === path),
    stderr: () => stderr,
  };
}

/**
 * Reads `stdout` like a connection to a client: a reader that stops early (a client going away)
 * leaves the writer an EPIPE, as a real script gets from its server.
 */
async function* readAsClient(stdout: PassThrough): AsyncGenerator<Uint8Array> {
  let ended = false;
  // Not for-await: its early return would destroy the stream without an error.
  const chunks = stdout.iterator({ destroyOnReturn: false });
  try {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer;
    ended = true;
  } finally {
    if (!ended) stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  }
}

/** A HEAD through a transport that parses CGI output: the body bytes the script still sent. */
async function headThrough(send: (path: string, init?: SuiteRequest) => Promise<SuiteResponse>, path: string) {
  const response = await send(path, { method: 'HEAD' });
  return { status: response.status, headers: response.headers, bodyBytes: await countBytes(response.body) };
}

/** A clean environment for scripts: PATH only (no NODE_OPTIONS, no NODE_EXTRA_CA_CERTS). */
const scriptEnv = { PATH: '/usr/local/bin:/usr/bin:/bin' };

/**
 * The built script spawned for each request, as `fetch-cgi request` and `serve` do (`runCgi`);
 * `runtime` names the runtime it was built for, when not the Node running the tests.
 */
export function direct(script: string, style: 'direct' | 'pretty', runtime?: string): Transport & { stderr(): string } {
  const base = style === 'direct' ? SCRIPT_NAME : '/app';
  let stderr = '';
  const options: RunScriptOptions = {
    script,
    mount: SCRIPT_NAME,
    remoteAddr: '127.0.0.1',
    serverSoftware: 'suite-direct',
    baseEnv: scriptEnv,
    timeoutMs: 120_000,
    onStderr: (chunk) => (stderr += chunk.toString()),
  };
  const send = async (path: string, init: SuiteRequest = {}): Promise<SuiteResponse> => {
    const { url, extra } = rewrite(base, path);
    const request = toRequest(url, init);
    if (style === 'direct') return fromResponse(await runCgi(request, options));
    // runCgi sets REQUEST_URI from the URL; a rewrite needs the public one.
    return fromResponse(await parseCgiResponse(startScript(request, extra, options).stdout, { nph: false }));
  };
  return {
    name: `direct${runtime ? ` (${runtime})` : ''}${style === 'pretty' ? ' (pretty)' : ''}`,
    style,
    base,
    lacks:
      runtime === 'deno'
        ? { earlyEnd: 'Deno keeps its own copy of stdout open until the process exits, so the response ends with it' }
        : {},
    encodedSlash: 'raw',
    request: send,
    head: (path) => headThrough(send, path),
    follow: (location) => send(location.slice(base.length)),
    scriptGone: (pid) => !isAlive(pid),
    stderr: () => stderr,
  };
}

/** Sends a request over HTTP with undici, or over a bare socket when Expect is needed. */
async function httpRequest(origin: string, target: string, init: SuiteRequest, expectContinue: boolean) {
  const { chunks, length } = frame(init);
  const method = init.method ?? 'GET';
  if (expectContinue && chunks) {
    if (length === undefined) throw new Error('suite: a chunked body cannot be sent with Expect: 100-continue');
    const response = await rawRequest(origin, {
      method,
      target,
      headers: init.headers ?? {},
      body: chunks(),
      contentLength: length,
      expectContinue: true,
    });
    return { status: response.status, headers: response.headers, body: response.body, abort: response.abort };
  }
  const controller = new AbortController();
  const headers: Record<string, string> = { ...init.headers };
  if (chunks && length !== undefined) headers['content-length'] = String(length);
  const response = await undiciRequest(`${origin}${target}`, {
    method: method as 'GET',
    headers,
    ...(chunks ? { body: Readable.from(chunks(), { objectMode: false }) } : {}),
    signal: controller.signal,
    reset: true,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value])
      responseHeaders.append(name, one);
  }
  const body = response.body;
  // Consume errors from an abort; the reader sees the stream end.
  body.on('error', () => {});
  return {
    status: response.statusCode,
    headers: responseHeaders,
    body: body as AsyncIterable<Uint8Array>,
    abort: () => controller.abort(),
  } satisfies SuiteResponse;
}

/** What each server cannot do, from docs/deploy and the hosts notes, checked by this suite. */
const serverLimits: Record<ServerKind, Pick<Transport, 'lacks' | 'encodedSlash'> & { expectContinue?: true }> = {
  'apache-event': { lacks: {}, encodedSlash: 'raw' },
  'apache-prefork': { lacks: {}, encodedSlash: 'raw' },
  lighttpd: {
    lacks: { streamedBody: 'lighttpd reads the whole request body before it starts the script' },
    encodedSlash: 'raw',
  },
  nginx: {
    lacks: { smallWrites: 'fcgiwrap holds writes smaller than its 32 KiB buffer until the script ends' },
    encodedSlash: 'raw',
  },
  busybox: {
    lacks: {
      rewrite: 'busybox httpd cannot rewrite URLs',
      chunkedUpload: 'busybox httpd loses chunked request bodies (the script reads 0 B)',
      put: 'busybox httpd passes only the part of a PUT body that came in the header packet (~900 B)',
    },
    encodedSlash: 'refused',
  },
  mini_httpd: {
    lacks: {
      rewrite: 'mini_httpd cannot rewrite URLs',
      customHeaders: 'mini_httpd passes only a fixed set of request headers',
      authorization: 'mini_httpd never passes Authorization (it sets AUTH_TYPE=Basic instead)',
      put: 'mini_httpd sets CONTENT_LENGTH for a PUT but never delivers the body',
      chunkedUpload: 'mini_httpd hands the script the raw chunk framing on a socket that never reaches EOF',
    },
    encodedSlash: 'decoded',
    expectContinue: true,
  },
};

/** A real server through `startServer`, reached at `/cgi-bin/app.cgi` or through its `/app` rewrite. */
export function server(kind: ServerKind, style: 'direct' | 'pretty', started: Promise<RunningServer>): Transport {
  const limits = serverLimits[kind];
  const base = style === 'direct' ? SCRIPT_NAME : '/app';
  const ready = async () => {
    const running = await started;
    if (style === 'pretty' && running.prettyPath !== base) {
      throw new Error(`${kind}: expected the pretty prefix ${base}, the harness says ${running.prettyPath}`);
    }
    return running.origin;
  };
  const send = async (path: string, init: SuiteRequest = {}) =>
    httpRequest(await ready(), `${base}${path}`, init, limits.expectContinue === true);
  return {
    name: `${kind}${style === 'pretty' ? ' (pretty)' : ''}`,
    style,
    base,
    lacks: style === 'pretty' ? limits.lacks : withoutRewrite(limits.lacks),
    encodedSlash: limits.encodedSlash,
    request: send,
    head: async (path) => rawHead(await ready(), `${base}${path}`),
    follow: async (location) => httpRequest(await ready(), location, {}, false),
    scriptGone: (pid) => !isAlive(pid),
  };
}

/**
 * Apache's second site, the shared-hosting one: `app.cgi` and the `.htaccess` of
 * docs/deploy/shared-hosting.md in its document root, every URL rewritten onto the script.
 */
export function htaccessSite(kind: ServerKind, started: Promise<RunningServer>): Transport {
  const origin = async () => {
    const running = await started;
    if (!running.htaccessOrigin) throw new Error(`${kind}: no .htaccess site`);
    return running.htaccessOrigin;
  };
  const send = async (path: string, init: SuiteRequest = {}) => httpRequest(await origin(), path, init, false);
  return {
    name: `${kind} (.htaccess)`,
    style: 'pretty',
    base: '',
    lacks: {},
    // AllowEncodedSlashes cannot be set in a .htaccess.
    encodedSlash: 'refused',
    request: send,
    head: async (path) => rawHead(await origin(), path),
    follow: async (location) => httpRequest(await origin(), location, {}, false),
    scriptGone: (pid) => !isAlive(pid),
  };
}

function withoutRewrite(lacks: Transport['lacks']): Transport['lacks'] {
  const { rewrite: _, ...rest } = lacks;
  return rest;
}

async function rawHead(origin: string, target: string) {
  const response = await rawRequest(origin, { method: 'HEAD', target, timeoutMs: 10_000 });
  return { status: response.status, headers: response.headers, bodyBytes: await countBytes(response.body) };
}

/** What a web server in front of a long-lived process cannot do, with the reason. */
const backendLimits: Record<BackendKind, Partial<Record<Feature, string>>> = {
  'nginx-fastcgi': {},
  'nginx-fastcgi-keepconn': {},
  'nginx-scgi': {},
  'spawn-fcgi': {},
  'lighttpd-fastcgi': {},
  'lighttpd-fastcgi-spawn': {},
  'lighttpd-scgi': {},
  'apache-proxy-fcgi': {},
  'apache-proxy-fcgi-tcp': {},
  'apache-proxy-scgi': {
    chunkedUpload: 'mod_proxy_scgi answers a chunked upload with 411 Length Required (SCGI needs CONTENT_LENGTH)',
  },
  'apache-fcgid': {},
  'apache-fcgid-htaccess': {},
};

const ONE_PROCESS = 'one long-lived process serves every request: there is no script process to end';

/**
 * A web server in front of a long-lived process (FastCGI or SCGI), the app mounted at `/app`,
 * or at the site root by a shared host's `.htaccess` (where %2F in a path is Apache's 404:
 * AllowEncodedSlashes cannot be set there).
 */
export function backendServer(kind: BackendKind, started: Promise<RunningServer>): Transport {
  const htaccess = kind === 'apache-fcgid-htaccess';
  const base = htaccess ? '' : '/app';
  const origin = async () => (await started).origin;
  const send = async (path: string, init: SuiteRequest = {}) =>
    httpRequest(await origin(), `${base}${path}`, init, false);
  return {
    name: kind,
    style: 'direct',
    base,
    lacks: { processPerRequest: ONE_PROCESS, ...backendLimits[kind] },
    encodedSlash: htaccess ? 'refused' : 'raw',
    request: send,
    head: async (path) => rawHead(await origin(), `${base}${path}`),
    follow: async (location) => httpRequest(await origin(), location, {}, false),
    scriptGone: (_pid, _path, marker) => existsSync(marker) && readFileSync(marker, 'utf8').endsWith(' cancelled'),
  };
}

/** `fetch-cgi serve <script>` (spawned through the CLI's own entry), mounted at `mount`. */
export function cliServe(served: Promise<Served>, mount: string): Transport {
  const send = async (path: string, init: SuiteRequest = {}) =>
    httpRequest((await served).url, `${mount}${path}`, init, false);
  return {
    name: mount === '' ? 'fetch-cgi serve (root)' : 'fetch-cgi serve',
    style: mount === '' ? 'pretty' : 'direct',
    base: mount,
    lacks: {},
    encodedSlash: 'raw',
    request: send,
    head: async (path) => rawHead((await served).url, `${mount}${path}`),
    follow: async (location) => httpRequest((await served).url, location, {}, false),
    scriptGone: (pid) => !isAlive(pid),
  };
}

/** Starts `fetch-cgi serve` on `script` at `mount` (`''`: the site root). */
export function startCliServe(script: string, mount: string): Promise<Served> {
  return startServe(mount === '' ? [script] : [script, '--mount', mount]);
}

/** Live processes whose command line mentions any of `paths` (a script that outlived its request). */
export function processesMentioning(paths: readonly string[]): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const pid = Number(entry);
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (paths.some((path) => cmdline.includes(path)) && isAlive(pid) && existsSync(`/proc/${entry}`)) {
        found.push({ pid, cmdline });
      }
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}
