/**
 * fast-check generators for what an attacker (or a broken server) controls: CGI environments
 * with any mix of meta-variables, header names and values (bytes above 0x7F, control
 * characters, empty and huge values), methods, protocols, CONTENT_LENGTH values and bodies of
 * any length; and the responses an app might return, valid or not.
 */
import * as fc from 'fast-check';
import type { CgiEnv } from '../../src/types.js';

/** Any text: printable, control characters, Latin-1, any code point, empty; now and then huge. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  // oxlint-disable-next-line no-control-regex -- control characters are the point
  { weight: 2, arbitrary: fc.stringMatching(/^[\x00-\x1f\x7f\x80-\xff a-z]{0,20}$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\r\n',
      '\n',
      '\0',
      'a\r\nInjected: 1',
      '\u00ff\u00fe',
      '\ud800',
      '\u2028',
      'a\u202eb',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', '\u00e9', '%', '\r'), fc.integer({ min: 1000, max: 200_000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);

const methods = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'get',
  'post',
  'PROPFIND',
  'TRACE',
  'CONNECT',
  'TRACK',
  'M-SEARCH',
  '',
];
const protocols = [
  'HTTP/1.0',
  'HTTP/1.1',
  'HTTP/2',
  'HTTP/2.0',
  'HTTP/3',
  'HTTP/0.9',
  'INCLUDED',
  'http/1.1',
  'HTTP/1.1\r\n',
  '',
];

/** A CONTENT_LENGTH-like value: the body's length, near it, malformed or absurd. */
function lengthValue(bodyLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(String(bodyLength)) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: bodyLength + 100 }).map(String) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        '0',
        '-1',
        '+5',
        ' 5',
        '5 ',
        '1e3',
        '0x10',
        '5,5',
        '99999999999999999999',
        '2000000000',
        'abc',
        '١٢',
      ),
    },
    { weight: 1, arbitrary: anyText },
  );
}

/** A path, often with what traversal and smuggling attempts use: `..`, `//`, `%`, `?`, `#`. */
export const anyPath: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(
      fc.constantFrom(
        'a',
        'users',
        '42',
        '..',
        '.',
        '',
        '%2F',
        '%2e%2e',
        '%',
        '%zz',
        'é',
        ' ',
        '?',
        '#',
        ';',
        'app.cgi',
        '\u0000',
      ),
      {
        maxLength: 6,
      },
    )
    .map((segments) => `/${segments.join('/')}`),
  anyText,
);

/** An HTTP_* variable name: common headers, the dangerous ones, or anything. */
const headerVariable: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'HTTP_HOST',
    'HTTP_PROXY',
    'HTTP_COOKIE',
    'HTTP_AUTHORIZATION',
    'HTTP_CONTENT_LENGTH',
    'HTTP_CONTENT_TYPE',
    'HTTP_TRANSFER_ENCODING',
    'HTTP_CONNECTION',
    'HTTP_X_FORWARDED_FOR',
    'HTTP_ACCEPT',
    'HTTP_',
    'HTTP_X__Y',
  ),
  fc.stringMatching(/^HTTP_[A-Z0-9_]{1,12}$/),
  fc.string({ maxLength: 12 }).map((name) => `HTTP_${name}`),
);

/** The parts of one generated request: its environment, its stdin, and how stdin behaves. */
export interface FuzzInput {
  env: CgiEnv;
  body: Uint8Array;
  /** Sizes stdin is cut into (the rest in one piece). */
  cuts: number[];
  /** stdin throws after delivering the body instead of ending. */
  stdinFails: boolean;
}

/** Any environment a server (or an attacker through it) could hand the script, with a body. */
export const fuzzInput: fc.Arbitrary<FuzzInput> = fc
  .record({
    body: fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 256 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 70_000 }) },
    ),
    cuts: fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 }),
    stdinFails: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  })
  .chain(({ body, cuts, stdinFails }) =>
    fc
      .record(
        {
          GATEWAY_INTERFACE: fc.constantFrom('CGI/1.1', 'CGI/1.0', ''),
          REQUEST_METHOD: fc.oneof(
            { weight: 5, arbitrary: fc.constantFrom(...methods) },
            { weight: 1, arbitrary: anyText },
          ),
          SERVER_PROTOCOL: fc.oneof(
            { weight: 5, arbitrary: fc.constantFrom(...protocols) },
            { weight: 1, arbitrary: anyText },
          ),
          CONTENT_LENGTH: lengthValue(body.length),
          HTTP_CONTENT_LENGTH: lengthValue(body.length),
          HTTP_TRANSFER_ENCODING: fc.constantFrom(
            'chunked',
            'gzip, chunked',
            'identity',
            'chunked, gzip',
            ' chunked',
            '',
          ),
          CONTENT_TYPE: fc.oneof(
            fc.constantFrom('text/plain', 'application/json', 'multipart/form-data; boundary=x'),
            anyText,
          ),
          SCRIPT_NAME: fc.oneof(
            fc.constantFrom('/cgi-bin/app.cgi', '', '/', '/cgi-bin/nph-app.cgi', '/app.cgi/'),
            anyText,
          ),
          PATH_INFO: anyPath,
          QUERY_STRING: fc.oneof(fc.constantFrom('', 'a=1&b=2', 'q=%zz', 'x=#y', 'a=%00'), anyText),
          REQUEST_URI: fc.oneof(anyPath, fc.constantFrom('/cgi-bin/app.cgi/a?b', 'http://evil.example/x', '*')),
          HTTP_HOST: fc.oneof(
            fc.constantFrom('example.com', 'example.com:8080', '[::1]:80', '127.0.0.1', 'a/b', 'evil.com@x', ''),
            anyText,
          ),
          SERVER_NAME: fc.oneof(fc.constantFrom('example.com', '::1', 'localhost:8080'), anyText),
          SERVER_PORT: fc.oneof(fc.constantFrom('80', '443', '8080', '0', '65536', '-1', 'x'), anyText),
          HTTPS: fc.constantFrom('on', 'off', '1', 'yes', 'ON', ''),
          REQUEST_SCHEME: fc.constantFrom('http', 'https', 'HTTPS', 'ftp', ''),
          REMOTE_ADDR: fc.constantFrom('127.0.0.1', '::1', ''),
          HTTP_PROXY: fc.constantFrom('http://evil.example:8080', ''),
          DB_PASSWORD: fc.constant('fuzz-secret-b9e1'),
        },
        { requiredKeys: [] },
      )
      .chain((base) =>
        fc.dictionary(headerVariable, anyText, { maxKeys: 6 }).map((headers) => {
          const env: CgiEnv = {};
          for (const [name, value] of Object.entries({ ...headers, ...base }))
            if (value !== undefined) env[name] = value;
          return { env, body, cuts, stdinFails };
        }),
      ),
  );

/** What a generated app does with the request it gets. */
export interface AppPlan {
  readBody: boolean;
  outcome:
    | {
        type: 'response';
        status: number;
        statusText: string;
        headers: [string, string][];
        cookies: string[];
        body: Uint8Array | string | null;
        stream: boolean;
      }
    | { type: 'shaped'; status: number; statusText: string; headers: [string, string][]; body: Uint8Array | null }
    | { type: 'throw' }
    | { type: 'value'; value: unknown };
}

const headerName = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
  fc.constantFrom(
    'location',
    'content-type',
    'content-length',
    'transfer-encoding',
    'connection',
    'status',
    'date',
    'cache-control',
  ),
);
const headerValue = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e\x80-\xff][\x20-\x7e\x80-\xff]{0,40}$/),
  fc.constantFrom('/login', '//evil.example/', 'https://x.example/', '0', '5'),
);

/** A response an app might give: a valid `Response`, a response-shaped object with anything in it, a throw, or junk. */
export const appPlan: fc.Arbitrary<AppPlan> = fc.record({
  readBody: fc.boolean(),
  outcome: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        type: fc.constant('response' as const),
        status: fc.oneof(
          fc.constantFrom(200, 201, 204, 205, 302, 304, 400, 404, 500, 503, 599),
          fc.integer({ min: 200, max: 599 }),
        ),
        statusText: fc.oneof(fc.constant(''), fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,30}$/)),
        headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
        cookies: fc.array(fc.stringMatching(/^[a-z]{1,8}=[\x21-\x2b\x2d-\x3a\x3c-\x7e]{0,20}(; Path=\/)?$/), {
          maxLength: 4,
        }),
        body: fc.oneof(fc.constant(null), fc.string({ maxLength: 100 }), fc.uint8Array({ maxLength: 20_000 })),
        stream: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('shaped' as const),
        status: fc.oneof(fc.integer({ min: -1, max: 1200 }), fc.constantFrom(Number.NaN, 200.5)),
        statusText: anyText,
        headers: fc.array(fc.tuple(anyText, anyText), { maxLength: 4 }),
        body: fc.option(fc.uint8Array({ maxLength: 100 }), { nil: null }),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ type: 'throw' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('value' as const),
        value: fc.constantFrom(undefined, null, 'text', 42, { status: 200 }),
      }),
    },
  ),
});

/**
 * fast-check parameters that replay a failure it reported: `FUZZ_SEED=<seed> FUZZ_PATH=<path>
 * npx tsx --test tests/fuzz/...`.
 */
export const replayFailure: fc.Parameters<unknown> = process.env.FUZZ_SEED
  ? {
      seed: Number(process.env.FUZZ_SEED),
      endOnFailure: true,
      ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    }
  : {};
