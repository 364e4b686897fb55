import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { formatResponseHead, writeResponse } from '../../src/index.js';
import { localRedirect } from '../../src/response/local-redirect.js';
import { formatHead } from '../../src/response/response-head.js';
import { writeHeadAndBody } from '../../src/response/write-response.js';
import type { ResponseParts } from '../../src/response/response-parts.js';

/** A Writable that keeps everything written; `delay` ms per write makes it a slow reader. */
function sink(options: { delay?: number; highWaterMark?: number } = {}) {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      if (options.delay) setTimeout(callback, options.delay);
      else callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString('latin1') };
}

async function cgiBytes(response: Response, options: Parameters<typeof writeResponse>[2] = {}): Promise<string> {
  const out = sink();
  await writeResponse(response, out.stream, options);
  return out.text();
}

describe('writeResponse: CGI bytes (RFC 3875 section 6)', () => {
  test('writes the Status line first, CRLF fields, a blank line and the body', async () => {
    const response = new Response('hello', { status: 201, headers: { 'content-type': 'text/plain', 'x-id': '7' } });
    assert.equal(await cgiBytes(response), 'Status: 201 Created\r\nContent-Type: text/plain\r\nX-Id: 7\r\n\r\nhello');
  });

  test('always sends Status, also for a plain 200', async () => {
    assert.equal(await cgiBytes(new Response(null)), 'Status: 200 OK\r\nContent-Length: 0\r\n\r\n');
  });

  test('keeps the app status text when it is valid', async () => {
    assert.equal(
      await cgiBytes(new Response(null, { status: 299, statusText: 'Fine Indeed' })),
      'Status: 299 Fine Indeed\r\nContent-Length: 0\r\n\r\n',
    );
  });

  test('sends every Set-Cookie as a field of its own', async () => {
    const headers = new Headers();
    headers.append('set-cookie', 'a=1; Path=/');
    headers.append('set-cookie', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
    headers.append('set-cookie', 'c=3');
    assert.equal(
      await cgiBytes(new Response(null, { headers })),
      'Status: 200 OK\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT\r\nSet-Cookie: c=3\r\nContent-Length: 0\r\n\r\n',
    );
  });

  test('drops hop-by-hop fields such as the Transfer-Encoding Hono streaming helpers set', async () => {
    const response = new Response(new Blob(['x']).stream(), {
      headers: { 'transfer-encoding': 'chunked', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-ok': '1' },
    });
    assert.equal(await cgiBytes(response), 'Status: 200 OK\r\nX-Ok: 1\r\n\r\nx');
  });

  test('passes Content-Length on when the response knows it', async () => {
    const response = new Response('abc', { headers: { 'content-length': '3' } });
    assert.equal(
      await cgiBytes(response),
      'Status: 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nabc',
    );
  });

  test('truncates the body when the request method is HEAD, keeping its headers', async () => {
    const response = new Response('abc', { headers: { 'content-length': '3', 'content-type': 'text/plain' } });
    assert.equal(
      await cgiBytes(response, { method: 'HEAD' }),
      'Status: 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\n',
    );
  });

  test('sends no body and no Content-Length with 204', async () => {
    const response = new Response(null, { status: 204, headers: { 'content-length': '0' } });
    assert.equal(await cgiBytes(response), 'Status: 204 No Content\r\n\r\n');
  });

  test('sends no body with 304 even when the app gave one', async () => {
    let cancelled = false;
    const body = new ReadableStream({
      pull: (c) => c.enqueue(new TextEncoder().encode('never')),
      cancel: () => void (cancelled = true),
    });
    // undici refuses a body with 304; a Response-like object from elsewhere need not.
    const response = {
      status: 304,
      statusText: '',
      headers: new Headers({ etag: '"x"' }),
      body,
    } as unknown as Response;
    assert.equal(await cgiBytes(response), 'Status: 304 Not Modified\r\nEtag: "x"\r\n\r\n');
    assert.ok(cancelled, 'the unsent body is cancelled');
  });

  test('a status text with CR or LF cannot reach the output', async () => {
    // undici refuses such a statusText; a Response-like object from elsewhere need not.
    const forged = {
      status: 200,
      statusText: 'OK\r\nX-Injected: yes',
      headers: new Headers(),
      body: null,
    } as unknown as Response;
    assert.equal(await cgiBytes(forged), 'Status: 200 OKX-Injected: yes\r\nContent-Length: 0\r\n\r\n');
  });

  test('a header value with CR or LF is refused, never written', () => {
    const forged = {
      status: 200,
      statusText: '',
      headers: new Map([['x-evil', 'a\r\nSet-Cookie: pwned=1']]),
      body: null,
    } as unknown as Response;
    assert.throws(() => formatResponseHead(forged), /invalid "x-evil" header/);
  });

  test('writes binary bodies byte for byte', async () => {
    const data = randomBytes(300_000);
    const out = sink();
    await writeResponse(new Response(data), out.stream);
    const bytes = out.bytes();
    const head = Buffer.from('Status: 200 OK\r\n\r\n');
    assert.deepEqual(bytes.subarray(0, head.length), head);
    assert.ok(bytes.subarray(head.length).equals(data));
  });

  test('accepts string chunks from an app stream', async () => {
    const body = new ReadableStream({
      start(c) {
        c.enqueue('héllo ' as unknown as Uint8Array);
        c.enqueue(new TextEncoder().encode('world'));
        c.close();
      },
    });
    const out = sink();
    await writeResponse(new Response(body), out.stream);
    assert.equal(out.bytes().toString('utf8'), 'Status: 200 OK\r\n\r\nhéllo world');
  });

  test('never reads the body faster than a slow reader drains it', async () => {
    let pulled = 0;
    let written = 0;
    let maxAhead = 0;
    const chunk = new Uint8Array(16 * 1024);
    const body = new ReadableStream(
      {
        pull(c) {
          pulled += 1;
          maxAhead = Math.max(maxAhead, pulled - written);
          if (pulled > 40) c.close();
          else c.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(_chunk, _encoding, callback) {
        written += 1;
        setTimeout(callback, 2);
      },
    });
    await writeResponse(new Response(body), slow);
    assert.equal(written, 41); // head + 40 chunks
    assert.ok(maxAhead <= 3, `read ${maxAhead} chunks ahead of the reader`);
  });

  test('prefixes a root-relative Location with the public base', () => {
    const response = new Response(null, { status: 302, headers: { location: '/login?next=%2F' } });
    assert.equal(
      formatResponseHead(response, { locationBase: '/cgi-bin/app.cgi' }),
      'Status: 302 Found\r\nLocation: /cgi-bin/app.cgi/login?next=%2F\r\nContent-Length: 0\r\n\r\n',
    );
    const absolute = new Response(null, { status: 302, headers: { location: 'https://example.com/' } });
    assert.match(formatResponseHead(absolute, { locationBase: '/app' }), /Location: https:\/\/example.com\/\r\n/);
    const networkPath = new Response(null, { status: 302, headers: { location: '//evil.example/' } });
    assert.match(formatResponseHead(networkPath, { locationBase: '/app' }), /Location: \/\/evil.example\/\r\n/);
  });

  test('writes a local redirect as the Location field alone (RFC 3875 section 6.2.2)', () => {
    assert.equal(formatResponseHead(localRedirect('/cgi-bin/app.cgi/new')), 'Location: /cgi-bin/app.cgi/new\r\n\r\n');
    assert.throws(() => localRedirect('https://example.com/'), /absolute path/);
    assert.throws(() => localRedirect('/a\r\nX: 1'), /absolute path/);
  });
});

describe('writeResponse: NPH scripts (RFC 3875 section 5)', () => {
  test('writes an HTTP/1.1 status line, Date and Connection: close instead of Status', async () => {
    const text = await cgiBytes(new Response('hi', { headers: { 'content-type': 'text/plain' } }), {
      nph: true,
      protocol: 'HTTP/1.1',
    });
    assert.match(
      text,
      /^HTTP\/1\.1 200 OK\r\nContent-Type: text\/plain\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\nConnection: close\r\n\r\nhi$/,
    );
    assert.doesNotMatch(text, /Status:/);
  });

  test('follows SERVER_PROTOCOL HTTP/1.0', async () => {
    assert.match(
      await cgiBytes(new Response(null, { status: 404 }), { nph: true, protocol: 'HTTP/1.0' }),
      /^HTTP\/1\.0 404 Not Found\r\n/,
    );
  });

  test('falls back to HTTP/1.1 for a protocol that has no status line', async () => {
    assert.match(await cgiBytes(new Response(null), { nph: true, protocol: 'INCLUDED' }), /^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe('formatHead: behind nginx, a streamed body is not buffered', () => {
  const stream = () => new ReadableStream<Uint8Array>();
  const parts = (body: ResponseParts['body'], fields: [string, string][] = []): ResponseParts => ({
    status: body === null ? 204 : 200,
    statusText: '',
    fields,
    cookies: [],
    body,
  });
  const cases: { name: string; parts: () => ResponseParts; behindNginx: boolean; header: string | null }[] = [
    { name: 'a ReadableStream body behind nginx', parts: () => parts(stream()), behindNginx: true, header: 'no' },
    { name: 'a string body behind nginx', parts: () => parts('whole'), behindNginx: true, header: null },
    { name: 'a byte body behind nginx', parts: () => parts(new Uint8Array(3)), behindNginx: true, header: null },
    { name: 'no body behind nginx', parts: () => parts(null), behindNginx: true, header: null },
    { name: 'a stream behind another server', parts: () => parts(stream()), behindNginx: false, header: null },
    {
      name: "the app's own value behind nginx",
      parts: () => parts(stream(), [['x-accel-buffering', 'yes']]),
      behindNginx: true,
      header: 'yes',
    },
  ];
  for (const { name, parts: make, behindNginx, header } of cases) {
    test(name, () => {
      const head = formatHead(make(), { behindNginx });
      const values = [...head.matchAll(/^X-Accel-Buffering: (.*)\r$/gim)].map((match) => match[1]);
      assert.deepEqual(values, header === null ? [] : [header]);
    });
  }
});

describe('formatHead: a body held whole gets its Content-Length', () => {
  const parts = (status: number, body: ResponseParts['body'], fields: [string, string][] = []): ResponseParts => ({
    status,
    statusText: '',
    fields,
    cookies: [],
    body,
  });
  const cases: { name: string; parts: () => ResponseParts; method?: string; lengths: string[] }[] = [
    { name: 'an ASCII string', parts: () => parts(200, 'hello'), lengths: ['5'] },
    { name: 'a string in UTF-8 bytes, not characters', parts: () => parts(200, 'grüß 🙂'), lengths: ['11'] },
    { name: 'bytes', parts: () => parts(201, new Uint8Array(1000)), lengths: ['1000'] },
    { name: 'no body at all', parts: () => parts(302, null, [['location', '/next']]), lengths: ['0'] },
    { name: "the app's own length, kept", parts: () => parts(200, 'hello', [['content-length', '5']]), lengths: ['5'] },
    { name: 'a stream, whose length is unknown', parts: () => parts(200, new ReadableStream()), lengths: [] },
    { name: 'HEAD, whose body is not sent', parts: () => parts(200, 'hello'), method: 'HEAD', lengths: [] },
    {
      name: "HEAD with the app's length for GET",
      parts: () => parts(200, null, [['content-length', '42']]),
      method: 'HEAD',
      lengths: ['42'],
    },
    { name: '204', parts: () => parts(204, null), lengths: [] },
    { name: '304', parts: () => parts(304, null, [['etag', '"a"']]), lengths: [] },
  ];
  for (const { name, parts: make, method, lengths } of cases) {
    test(name, () => {
      const head = formatHead(make(), method === undefined ? {} : { method });
      assert.deepEqual(
        [...head.matchAll(/^Content-Length: (.*)\r$/gim)].map((match) => match[1]),
        lengths,
      );
    });
  }

  test('the length is the number of body bytes written after the head', async () => {
    const body = 'naïve café ✓'.repeat(100);
    const out = sink();
    const whole = parts(200, body, [['content-type', 'text/plain']]);
    await writeHeadAndBody(formatHead(whole), whole, out.stream);
    const bytes = out.bytes();
    const split = bytes.indexOf('\r\n\r\n') + 4;
    const length = /Content-Length: (\d+)/.exec(bytes.subarray(0, split).toString('latin1'))?.[1];
    assert.equal(Number(length), bytes.length - split);
  });
});
