import { TOKEN, trimOws } from '../http/syntax.js';
import { CgiResponseError } from '../errors.js';
import { quote } from '../http/quote.js';

/** Options for `parseCgiResponse`. */
export interface ParseCgiResponseOptions {
  /**
   * `true`: the output is a non-parsed-header response that starts with an HTTP status line
   * (RFC 3875 section 5). `false`: it is a parsed CGI response, and a status line is an error.
   * Unset (the default): NPH when the output starts with `HTTP/`.
   */
  nph?: boolean;
  /** Largest header block accepted, in bytes. Default 64 KiB. */
  maxHeaderBytes?: number;
}

const localRedirects = new WeakSet<Response>();

/**
 * Whether `response` came from `parseCgiResponse` reading a local redirect (RFC 3875 section
 * 6.2.2): a `Location` header holding a path (`/new/path?q`) and no other header field. Such a
 * response reaches the caller as a 302 with that `Location`; a server should instead answer
 * with what a request for that path would produce.
 */
export function isLocalRedirect(response: Response): boolean {
  return localRedirects.has(response);
}

/**
 * Reads a CGI script's output (RFC 3875 section 6) into a `Response`: the inverse of the CGI
 * response writer. The header block may use CRLF or bare LF line ends; the body is the rest of
 * the output, streamed as it arrives, never buffered.
 *
 * - `Status: NNN reason` sets the status (section 6.3.3); without it the status is 200, or
 *   302 when there is a `Location` (sections 6.2.3, 6.2.4).
 * - A `Location` path with no other field is a local redirect (section 6.2.2): a 302 for which
 *   `isLocalRedirect` answers true, and whose body, if any, is discarded.
 * - Every other field is kept, each `Set-Cookie` separately. A body after a status that
 *   forbids one (204, 205, 304) is discarded.
 * - NPH output (`options.nph`, or output starting with `HTTP/`) starts with a status line
 *   such as `HTTP/1.1 200 OK`; its body is passed on as it is (no de-chunking).
 *
 * @throws {CgiResponseError} for empty output, output ending inside the header block, a line
 *   without a colon, a folded (obsolete) header line, a bad header name or value, a bad or
 *   repeated Status, a bad NPH status line, a status outside 200-599, or a header block larger
 *   than `options.maxHeaderBytes`.
 * @example
 * const child = spawn('./app.cgi', { env });
 * const response = await parseCgiResponse(child.stdout);
 */
export async function parseCgiResponse(
  output: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  options: ParseCgiResponseOptions = {},
): Promise<Response> {
  const maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
  const source = toIterator(output);
  let buffer: Uint8Array = new Uint8Array(0);
  let scanned = 0; // bytes of `buffer` already split into lines
  const head: Head = { nph: options.nph, lines: 0, headers: new Headers(), names: 0, statusText: '' };

  try {
    for (;;) {
      const newline = buffer.indexOf(0x0a, scanned);
      if (newline === -1) {
        if (buffer.length > maxHeaderBytes) break;
        const chunk = await source.next().catch((error: unknown) => {
          throw new CgiResponseError(`error reading output: ${String(error)}`, { cause: error });
        });
        if (chunk.done) {
          throw new CgiResponseError(
            buffer.length === 0 ? 'script produced no output' : 'end of output before headers complete',
          );
        }
        buffer = concat(buffer, chunk.value);
        continue;
      }
      const end = newline > scanned && buffer[newline - 1] === 0x0d ? newline - 1 : newline;
      const line = latin1(buffer.subarray(scanned, end));
      scanned = newline + 1;
      if (scanned > maxHeaderBytes) break;
      if (line === '') return toResponse(head, buffer.subarray(scanned), source);
      addLine(head, line);
    }
    throw new CgiResponseError(`header block larger than ${maxHeaderBytes} bytes`);
  } catch (error) {
    await source.return();
    throw error;
  }
}

/** The header block read so far. */
interface Head {
  /** Decided by the first line when the option left it open. */
  nph: boolean | undefined;
  lines: number;
  headers: Headers;
  /** Header fields kept, Status excepted. */
  names: number;
  status?: number;
  statusText: string;
}

/** Checks one header line (RFC 3875 section 6.3) and records it in `head`. */
function addLine(head: Head, line: string): void {
  const first = head.lines++ === 0;
  head.nph ??= line.startsWith('HTTP/');
  if (first && head.nph) {
    const match = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(line);
    if (!match) throw new CgiResponseError(`bad NPH status line: ${quoteStart(line)}`);
    [head.status, head.statusText] = checkStatus(match[1] ?? '', match[2] ?? '', line);
    return;
  }
  if (line.startsWith(' ') || line.startsWith('\t')) {
    throw new CgiResponseError(`header line starts with white space: ${quoteStart(line)}`);
  }
  const colon = line.indexOf(':');
  if (colon === -1) {
    const what = first && line.startsWith('HTTP/') ? 'status line outside NPH mode' : 'header line without a colon';
    throw new CgiResponseError(`${what}: ${quoteStart(line)}`);
  }
  const name = line.slice(0, colon);
  const value = trimOws(line.slice(colon + 1));
  if (!TOKEN.test(name)) {
    throw new CgiResponseError(`bad header name: ${quoteStart(line)}`);
  }
  if (name.toLowerCase() === 'status' && !head.nph) {
    if (head.status !== undefined) throw new CgiResponseError(`more than one Status header: ${quoteStart(line)}`);
    // Split on spaces and tabs only: \s would also take 0xA0, a byte of UTF-8 text.
    const match = /^([^\t ]*)(?:[\t ]+(.*))?$/.exec(value);
    [head.status, head.statusText] = checkStatus(match?.[1] ?? '', match?.[2] ?? '', line);
    return;
  }
  try {
    head.headers.append(name, value);
  } catch (error) {
    throw new CgiResponseError(`bad header value: ${quoteStart(line)}`, { cause: error });
  }
  head.names++;
}

/** The response for a complete header block; `rest` is what was read past the blank line. */
function toResponse(head: Head, rest: Uint8Array, source: ByteIterator): Response {
  const { headers, statusText } = head;
  const location = headers.get('location');
  const local =
    !head.nph && head.status === undefined && head.names === 1 && location !== null && /^\/(?!\/)/.test(location);
  const status = head.status ?? (location === null ? 200 : 302);
  const nullBody = local || status === 204 || status === 205 || status === 304;
  if (nullBody) void drain(source);

  let response: Response;
  try {
    response = new Response(nullBody ? null : bodyStream(rest, source), { status, statusText, headers });
  } catch {
    // A reason phrase the Fetch API refuses (control characters, say) is dropped.
    response = new Response(nullBody ? null : bodyStream(rest, source), { status, headers });
  }
  if (local) localRedirects.add(response);
  return response;
}

/** Validates a status code and reason phrase; `line` is quoted in the error. */
function checkStatus(code: string, reason: string, line: string): [number, string] {
  const status = Number(code);
  if (!/^\d{3}$/.test(code) || status < 200 || status > 599) {
    throw new CgiResponseError(`bad status ${quoteStart(code)} in ${quoteStart(line)}`);
  }
  return [status, trimOws(reason)];
}

type ByteIterator = {
  next(): Promise<IteratorResult<Uint8Array>>;
  return(): Promise<unknown>;
};

/** One pull interface over both stream kinds; `return` stops the source early. */
function toIterator(output: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): ByteIterator {
  if ('getReader' in output) {
    const reader = output.getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
      return: () => reader.cancel().catch(() => {}),
    };
  }
  const iterator = output[Symbol.asyncIterator]();
  return {
    next: () => iterator.next(),
    return: async () => {
      await iterator.return?.().catch(() => {});
    },
  };
}

/** The body: bytes already read past the header block, then the rest of the source. */
function bodyStream(rest: Uint8Array, source: ByteIterator): ReadableStream<Uint8Array> {
  let pending: Uint8Array | undefined = rest.length > 0 ? rest.slice() : undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = undefined;
          return;
        }
        const chunk = await source.next();
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      async cancel() {
        await source.return();
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads and discards the rest of the output, so the script can finish writing it. */
async function drain(source: ByteIterator): Promise<void> {
  try {
    while (!(await source.next()).done);
  } catch {
    // The body was going to be discarded anyway.
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** Bytes to a string of the same char codes (ISO-8859-1, not TextDecoder's windows-1252). */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** Quotes at most the first 80 characters of `text`. */
function quoteStart(text: string): string {
  return quote(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}
