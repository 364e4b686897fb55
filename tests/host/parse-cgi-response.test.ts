import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { CgiResponseError } from '../../src/errors.js';
import { isLocalRedirect, parseCgiResponse } from '../../src/host/parse-cgi-response.js';

const encoder = new TextEncoder();

/** An async iterable yielding each string as one chunk. */
async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? encoder.encode(part) : part;
}

/** Output that fails inside the header block. */
async function* broken(): AsyncGenerator<Uint8Array> {
  yield encoder.encode('Content-Type: a/b\r\n');
  throw new Error('pipe broke');
}

describe('parseCgiResponse', () => {
  const rows: [
    string,
    string[],
    { status: number; statusText?: string; headers?: [string, string][]; body: string; local?: boolean },
  ][] = [
    [
      'a document response without Status is a 200 (6.2.1)',
      ['Content-Type: text/plain\r\n\r\nhello'],
      { status: 200, headers: [['content-type', 'text/plain']], body: 'hello' },
    ],
    [
      'Status sets the status code and reason phrase (6.3.3)',
      ['Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nmade'],
      { status: 201, statusText: 'Created', headers: [['content-type', 'text/plain']], body: 'made' },
    ],
    [
      'a Status without a reason phrase is accepted',
      ['Status: 404\nContent-Type: text/plain\n\n'],
      { status: 404, statusText: '', body: '' },
    ],
    [
      'bare LF header lines are accepted, as every server does',
      ['Status: 202 Accepted\nX-Ending: ok\n\nbody\r\nwith CRLF'],
      { status: 202, headers: [['x-ending', 'ok']], body: 'body\r\nwith CRLF' },
    ],
    [
      'a header block split across many chunks is reassembled',
      ['Content-', 'Type: text/pl', 'ain\r', '\n\r', '\nab', 'c'],
      { status: 200, headers: [['content-type', 'text/plain']], body: 'abc' },
    ],
    [
      'a client redirect without Status is a 302 (6.2.3)',
      ['Location: http://example.com/\r\n\r\n'],
      { status: 302, headers: [['location', 'http://example.com/']], body: '', local: false },
    ],
    [
      'a client redirect with a document keeps its Status and body (6.2.4)',
      ['Status: 301 Moved\r\nLocation: https://example.com/x\r\nContent-Type: text/html\r\n\r\n<a>moved</a>'],
      { status: 301, headers: [['location', 'https://example.com/x']], body: '<a>moved</a>', local: false },
    ],
    [
      'a Location path with no other field is a local redirect (6.2.2)',
      ['Location: /cgi-bin/app.cgi/redirected?via=local\n\n'],
      { status: 302, headers: [['location', '/cgi-bin/app.cgi/redirected?via=local']], body: '', local: true },
    ],
    [
      'a Location path with other fields is a client redirect, not a local one',
      ['Location: /login\r\nSet-Cookie: a=1\r\n\r\n'],
      { status: 302, headers: [['location', '/login']], body: '', local: false },
    ],
    [
      'a Location path with an explicit Status is not a local redirect',
      ['Status: 303 See Other\r\nLocation: /done\r\n\r\n'],
      { status: 303, body: '', local: false },
    ],
    [
      'a network-path Location (//host/path) is not a local redirect',
      ['Location: //evil.example/\r\n\r\n'],
      { status: 302, body: '', local: false },
    ],
    [
      'a body after 304 is discarded',
      ['Status: 304 Not Modified\r\nETag: "x"\r\n\r\nignored body'],
      { status: 304, headers: [['etag', '"x"']], body: '' },
    ],
    [
      'an NPH status line is detected from the output (section 5)',
      ['HTTP/1.1 203 Non-Authoritative\r\nContent-Type: text/plain\r\n\r\nnph'],
      { status: 203, statusText: 'Non-Authoritative', headers: [['content-type', 'text/plain']], body: 'nph' },
    ],
    [
      'NPH Location does not imply a redirect',
      ['HTTP/1.0 200 OK\r\nLocation: /x\r\n\r\n'],
      { status: 200, body: '', local: false },
    ],
    [
      'header values are trimmed and may contain colons',
      ['X-Time:   12:30:00  \r\n\r\n'],
      { status: 200, headers: [['x-time', '12:30:00']], body: '' },
    ],
  ];
  for (const [title, parts, expected] of rows) {
    test(title, async () => {
      const response = await parseCgiResponse(chunks(...parts));
      assert.equal(response.status, expected.status);
      if (expected.statusText !== undefined) assert.equal(response.statusText, expected.statusText);
      for (const [name, value] of expected.headers ?? []) assert.equal(response.headers.get(name), value);
      assert.equal(response.headers.get('status'), null);
      assert.equal(await response.text(), expected.body);
      if (expected.local !== undefined) assert.equal(isLocalRedirect(response), expected.local);
    });
  }

  test('every Set-Cookie is kept separately', async () => {
    const response = await parseCgiResponse(chunks('Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2, c\r\n\r\n'));
    assert.deepEqual(response.headers.getSetCookie(), ['a=1; Path=/', 'b=2, c']);
  });

  test('the body is binary-safe and header bytes above 0x7f survive as latin-1', async () => {
    const body = new Uint8Array([0, 0xff, 0x0a, 0x0d, 0x80]);
    const response = await parseCgiResponse(
      chunks(new Uint8Array([...encoder.encode('X-Name: caf'), 0xe9, 0x0a, 0x0a]), body),
    );
    assert.equal(response.headers.get('x-name'), 'caf\u00e9');
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), body);
  });

  test('reads from a web ReadableStream and a node Readable', async () => {
    const web = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('Content-Type: a/b\n\nweb'));
        controller.close();
      },
    });
    assert.equal(await (await parseCgiResponse(web)).text(), 'web');
    const node = Readable.from([Buffer.from('Content-Type: a/b\n\nnode')]);
    assert.equal(await (await parseCgiResponse(node)).text(), 'node');
  });

  test('streams the body: the response is ready before the output ends', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield encoder.encode('Content-Type: text/plain\r\n\r\nfirst ');
      await gate;
      yield encoder.encode('second');
    }
    const response = await parseCgiResponse(slow());
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'first ');
    release();
    const second = await reader.read();
    assert.equal(new TextDecoder().decode(second.value), 'second');
    assert.equal((await reader.read()).done, true);
  });

  test('the nph option forces a status line; false rejects one', async () => {
    const response = await parseCgiResponse(chunks('HTTP/1.1 200 OK\r\n\r\n'), { nph: true });
    assert.equal(response.status, 200);
    await assert.rejects(
      parseCgiResponse(chunks('Content-Type: a/b\r\n\r\n'), { nph: true }),
      /bad NPH status line: "Content-Type: a\/b"/,
    );
    await assert.rejects(
      parseCgiResponse(chunks('HTTP/1.1 200 OK\r\n\r\n'), { nph: false }),
      /status line outside NPH mode: "HTTP\/1.1 200 OK"/,
    );
  });

  const errors: [string, (string | Uint8Array)[], RegExp, { maxHeaderBytes?: number }?][] = [
    ['empty output is an error', [], /script produced no output/],
    [
      'output ending before the blank line is an error',
      ['Content-Type: text/plain\r\n'],
      /end of output before headers complete/,
    ],
    [
      'output ending in the middle of a line is an error',
      ['Content-Type: te'],
      /end of output before headers complete/,
    ],
    [
      'a line without a colon is quoted in the error',
      ['hello world\n\n'],
      /header line without a colon: "hello world"/,
    ],
    [
      'a long bad line is quoted up to 80 characters',
      [`${'x'.repeat(200)}\n\n`],
      new RegExp(`without a colon: "${'x'.repeat(80)}\\.\\.\\."$`),
    ],
    ['a non-numeric Status is an error (6.3.3)', ['Status: OK\r\n\r\n'], /bad status "OK" in "Status: OK"/],
    ['a 1xx Status is an error', ['Status: 100 Continue\r\n\r\n'], /bad status "100"/],
    ['a Status above 599 is an error', ['Status: 600 Nope\r\n\r\n'], /bad status "600"/],
    ['two Status headers are an error', ['Status: 200 OK\r\nStatus: 404 No\r\n\r\n'], /more than one Status header/],
    ['a bad NPH status line is an error', ['HTTP/1.1 2000 OK\r\n\r\n'], /bad NPH status line/],
    ['a header name with a space is an error', ['Content Type: x\r\n\r\n'], /bad header name: "Content Type: x"/],
    ['a folded header line is an error', ['X-A: 1\r\n  continued\r\n\r\n'], /header line starts with white space/],
    [
      'a header block over the limit is an error',
      [`X-Big: ${'a'.repeat(200)}\r\n\r\n`],
      /header block larger than 100 bytes/,
      { maxHeaderBytes: 100 },
    ],
    [
      'a header block over the limit without any newline is an error',
      ['a'.repeat(70_000)],
      /header block larger than 65536 bytes/,
    ],
  ];
  for (const [title, parts, message, options] of errors) {
    test(title, async () => {
      await assert.rejects(parseCgiResponse(chunks(...parts), options), (error: unknown) => {
        assert.ok(error instanceof CgiResponseError);
        assert.match(error.message, /^fetch-cgi: malformed CGI response: /);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test('a failing source surfaces as a CgiResponseError before the headers', async () => {
    await assert.rejects(parseCgiResponse(broken()), /error reading output: Error: pipe broke/);
  });

  test('a local redirect stops reading the body', async () => {
    let finished = false;
    async function* output(): AsyncGenerator<Uint8Array> {
      yield encoder.encode('Location: /next\n\nbody that must be ignored');
      yield encoder.encode('more');
      finished = true;
    }
    const response = await parseCgiResponse(output());
    assert.equal(isLocalRedirect(response), true);
    assert.equal(response.body, null);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(finished, true);
  });
});
