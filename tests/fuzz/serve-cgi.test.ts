import { HOP_BY_HOP, TOKEN } from '../../src/http/syntax.js';
/**
 * Property: for ANY environment, stdin and app behaviour, `serveCgi` in-process either writes a
 * well-formed CGI response that our own parser reads back and that matches, field by field,
 * what the app returned (or the request implied), or answers a short error status with a
 * clean message on stderr. Never a rejection, an exception text or a secret on stdout, a hang,
 * or a header line holding CR or LF. 20,000 cases by default (a few seconds), 200,000 with `FETCH_CGI_LONG=1`.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import * as fc from 'fast-check';
import { parseCgiResponse, serveCgi } from '../../src/index.js';
import { reasonPhrase } from '../../src/response/status-text.js';
import type { CgiEnv } from '../../src/types.js';
import { type AppPlan, type FuzzInput, appPlan, fuzzInput, replayFailure } from './arbitraries.js';

const RUNS = process.env.FETCH_CGI_LONG === '1' ? 200_000 : 20_000;
const SECRET = 'fuzz-secret-b9e1';
const MAX_BODY = 64 * 1024;
/** Longest one case may take before it counts as a hang. */
const CASE_LIMIT_MS = 10_000;

/** What the app saw and did during one case. */
interface Seen {
  called: boolean;
  method?: string;
  url?: string;
  headers?: [string, string][];
  env?: CgiEnv;
  /** The body bytes it read, or the error reading them. */
  body?: Uint8Array | null | Error;
  /** The response it returned, when it was a real `Response` built without error. */
  response?: Response;
  /** Its response is invalid (a bad shaped object), or it threw: a 500 is due. */
  fails: boolean;
}

function stdinFor(input: FuzzInput, touched: { value: boolean }): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      touched.value = true;
      let offset = 0;
      for (const cut of input.cuts) {
        yield input.body.subarray(offset, offset + cut);
        offset += cut;
        if (offset >= input.body.length) break;
      }
      if (offset < input.body.length) yield input.body.subarray(offset);
      if (input.stdinFails) throw new Error('stdin broke');
    },
  };
}

function shapedHeaders(fields: [string, string][]) {
  const lower = fields.map(([name, value]): [string, string] => [name.toLowerCase(), value]);
  return {
    get: (name: string) => lower.find(([n]) => n === name.toLowerCase())?.[1] ?? null,
    getSetCookie: () => lower.filter(([n]) => n === 'set-cookie').map(([, v]) => v),
    [Symbol.iterator]: () => lower[Symbol.iterator](),
  };
}

const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A generated app: records what it saw into `seen` and does what `plan` says. */
function appFor(plan: AppPlan, seen: Seen) {
  return async (request: Request, env: CgiEnv): Promise<unknown> => {
    seen.called = true;
    seen.method = request.method;
    seen.url = request.url;
    seen.headers = [...request.headers];
    seen.env = env;
    if (plan.readBody) {
      try {
        seen.body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
      } catch (error) {
        seen.body = error as Error;
        throw error;
      }
    }
    const { outcome } = plan;
    switch (outcome.type) {
      case 'throw':
        seen.fails = true;
        throw new Error(`boom with ${env.DB_PASSWORD}`);
      case 'value':
        seen.fails = true;
        return outcome.value;
      case 'shaped': {
        const invalid =
          !Number.isInteger(outcome.status) ||
          outcome.status < 200 ||
          outcome.status > 599 ||
          outcome.headers.some(
            ([name, value]) => !HOP_BY_HOP.has(name.toLowerCase()) && (!TOKEN.test(name) || !FIELD_VALUE.test(value)),
          );
        seen.fails = invalid;
        const headers = shapedHeaders(outcome.headers);
        return { status: outcome.status, statusText: outcome.statusText, headers, body: outcome.body };
      }
      case 'response': {
        const headers = new Headers();
        let response: Response;
        try {
          for (const [name, value] of outcome.headers) headers.append(name, value);
          for (const cookie of outcome.cookies) headers.append('set-cookie', cookie);
          let body = outcome.body as BodyInit | null;
          if (outcome.stream && outcome.body !== null) {
            const bytes = typeof outcome.body === 'string' ? new TextEncoder().encode(outcome.body) : outcome.body;
            body = new ReadableStream({
              start(controller) {
                controller.enqueue(bytes.subarray(0, bytes.length >> 1));
                controller.enqueue(bytes.subarray(bytes.length >> 1));
                controller.close();
              },
            });
          }
          response = new Response(body, { status: outcome.status, statusText: outcome.statusText, headers });
        } catch (error) {
          seen.fails = true;
          throw error;
        }
        seen.response = response;
        return response;
      }
    }
  };
}

/** The body the bridge should deliver for `env` (RFC 3875 section 4.2, docs/api.md). */
function expectedBody(env: CgiEnv, method: string, input: FuzzInput): Uint8Array | null | 'error' {
  if (method === 'GET' || method === 'HEAD') return null;
  const variable = env.CONTENT_LENGTH ? 'CONTENT_LENGTH' : env.HTTP_CONTENT_LENGTH ? 'HTTP_CONTENT_LENGTH' : undefined;
  if (variable === undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(env.HTTP_TRANSFER_ENCODING ?? '')) return null;
    return input.stdinFails || input.body.length > MAX_BODY ? 'error' : input.body;
  }
  const length = Number(env[variable]);
  if (length === 0) return null;
  // stdin fails, if at all, only after the whole body: never before `length` bytes if it holds them.
  if (input.body.length < length) return 'error';
  return input.body.subarray(0, length);
}

function withBase(location: string, base: string): string {
  if (!base || !location.startsWith('/') || location.startsWith('//')) return location;
  return base + location;
}

async function runCase(input: FuzzInput, plan: AppPlan): Promise<void> {
  const seen: Seen = { called: false, fails: false };
  const touched = { value: false };
  const chunks: Buffer[] = [];
  let stderr = '';
  const stdout = new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) });
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    serveCgi(
      { fetch: appFor(plan, seen) },
      {
        env: input.env,
        stdin: stdinFor(input, touched),
        stdout,
        stderr: { write: (text: string) => (stderr += text) },
        maxBodySize: MAX_BODY,
      },
    ),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`hang: no answer after ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  const output = Buffer.concat(chunks);
  const stderrLines = stderr.split('\n').filter(Boolean);

  if (code === 2) {
    assert.equal(output.length, 0, 'not CGI: nothing on stdout');
    assert.ok(!input.env.REQUEST_METHOD && !input.env.GATEWAY_INTERFACE, 'exit code 2 only when not under CGI');
    assert.equal(stderrLines.length, 1);
    return;
  }
  assert.ok(code === 0 || code === 1, `exit code ${code}`);
  assert.ok(!output.includes(SECRET), 'a secret from the environment reached stdout');
  const end = output.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'a header block ending in a blank line');
  for (const line of output.subarray(0, end).toString('latin1').split('\r\n')) {
    assert.match(
      line,
      /^[\t\x20-\x7e\x80-\xff]+$/,
      `header line with CR, LF or a control character: ${JSON.stringify(line)}`,
    );
  }
  const parsed = await parseCgiResponse(
    (async function* () {
      yield output;
    })(),
    { maxHeaderBytes: 16 * 1024 * 1024 },
  ); // huge SCRIPT_NAMEs make huge Locations
  const body = new Uint8Array(await parsed.arrayBuffer());
  const method = seen.method ?? '';
  const noBody = method === 'HEAD' || parsed.status === 204 || parsed.status === 304;
  assert.doesNotMatch(output.toString('latin1'), /\n\s+at .+:\d+:\d+/, 'a stack trace on stdout');

  if (!seen.called) {
    // A malformed environment, a body over the limit or a method fetch cannot carry.
    assert.ok([400, 413, 501].includes(parsed.status), `status ${parsed.status} without calling the app`);
    assert.equal(touched.value, false, 'stdin read although the request was refused');
    assert.equal(stderrLines.length, 1, `one line on stderr: ${stderr}`);
    assert.match(stderrLines[0] ?? '', /^fetch-cgi: .*[A-Z_]+ in environment: ".*"$/);
    assert.doesNotMatch(
      stderrLines[0] ?? '',
      /(?! )[\p{C}\p{Z}]/u,
      'an invisible or line-breaking character on stderr',
    );
    return;
  }
  assert.equal(seen.env?.HTTP_PROXY, undefined, 'httpoxy: HTTP_PROXY reached the app');
  assert.ok(
    !seen.headers?.some(([name]) => name === 'proxy' || name === 'transfer-encoding'),
    'a proxy or transfer-encoding header reached the app',
  );
  assert.ok(!['TRACE', 'CONNECT', 'TRACK'].includes(method.toUpperCase()));
  const url = new URL(seen.url ?? '');
  assert.ok(url.protocol === 'http:' || url.protocol === 'https:');

  const expected = expectedBody(input.env, method, input);
  if (plan.readBody && seen.body !== undefined) {
    if (expected === 'error') {
      assert.ok(seen.body instanceof Error, 'a short, failing or oversized body must error the stream');
      assert.ok([400, 413].includes(parsed.status), `status ${parsed.status} for a bad body`);
      assert.equal(stderrLines.length, 1, `one line on stderr: ${stderr}`);
      return;
    }
    assert.ok(
      !(seen.body instanceof Error),
      `body read failed: ${seen.body instanceof Error ? seen.body.message : ''}`,
    );
    if (expected === null) assert.ok(seen.body === null || seen.body.length === 0, 'no body expected');
    else assert.deepEqual(Buffer.from(seen.body ?? []), Buffer.from(expected), 'request body bytes');
    const length = seen.headers?.find(([name]) => name === 'content-length')?.[1];
    const declared = Boolean(input.env.CONTENT_LENGTH || input.env.HTTP_CONTENT_LENGTH);
    if (expected !== null && declared) assert.equal(length, String(expected.length), 'content-length the app sees');
  }

  if (seen.fails) {
    assert.equal(parsed.status, 500);
    assert.equal(code, 1);
    if (!noBody) assert.equal(new TextDecoder().decode(body), 'Internal Server Error');
    assert.match(stderrLines[0] ?? '', /^fetch-cgi: /);
    return;
  }
  assert.equal(stderr, '', 'nothing on stderr for a good response');
  assert.equal(code, 0);
  const { outcome } = plan;
  if (outcome.type === 'shaped') {
    assert.equal(parsed.status, outcome.status);
    assert.equal(parsed.statusText, reasonPhrase(outcome.status, outcome.statusText));
    if (!noBody && parsed.status !== 205) assert.deepEqual(Buffer.from(body), Buffer.from(outcome.body ?? []));
    return;
  }
  const response = seen.response;
  assert.ok(response, 'the app returned a Response');
  assert.equal(parsed.status, response.status);
  assert.equal(parsed.statusText, reasonPhrase(response.status, response.statusText));
  const base = seen.env?.FETCH_CGI_BASE ?? '';
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || HOP_BY_HOP.has(name) || name === 'status') continue;
    if (name === 'content-length' && (response.status === 204 || response.status === 304)) continue;
    // Leading and trailing white space is not part of a field value (RFC 9110 section 5.5).
    const sent = (name === 'location' ? withBase(value, base) : value).replace(/^[\t ]+|[\t ]+$/g, '');
    assert.equal(parsed.headers.get(name), sent, `header ${name}`);
  }
  assert.deepEqual(parsed.headers.getSetCookie(), response.headers.getSetCookie(), 'every Set-Cookie, in order');
  if (!noBody && response.status !== 205) {
    const sent = outcome.type === 'response' ? outcome.body : null;
    const bytes = typeof sent === 'string' ? new TextEncoder().encode(sent) : (sent ?? new Uint8Array());
    assert.deepEqual(Buffer.from(body), Buffer.from(bytes), 'response body bytes');
  } else {
    assert.equal(body.length, 0, 'no body for HEAD, 204, 304');
  }
}

test(`serveCgi answers any environment, stdin and app with a well-formed response or a clean error (${RUNS} cases)`, async (t) => {
  let cases = 0;
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(fuzzInput, appPlan, async (input, plan) => {
      cases += 1;
      await runCase(input, plan);
    }),
    { numRuns: RUNS, ...replayFailure },
  );
  t.diagnostic(`fuzz cases run: ${cases} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
