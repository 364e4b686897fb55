/**
 * The FastCGI responder through its own socket, in-process, with the test client of
 * src/host/fastcgi-client.ts: what every web server sends, and what none does (interleaved
 * requests, aborts, GET_VALUES, malformed records).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FastCgiClient } from '../../../src/host/fastcgi-client.js';
import { parseCgiResponse } from '../../../src/host/parse-cgi-response.js';
import { encodeRecord, endOfStream, FCGI } from '../../../src/protocols/fastcgi/records.js';
import { type SocketServer, serveSocket } from '../../../src/transports/socket/serve-socket.js';
import type { CgiApp, CgiEnv } from '../../../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-fastcgi-'));
const socketPath = join(dir, 'app.sock');
let server: SocketServer;
let logs: string[] = [];
const aborted = new Set<string>();

/** The params nginx sends for a request of `method` to `path`. */
function params(path: string, extra: CgiEnv = {}): Record<string, string> {
  const [pathInfo = '/', query = ''] = path.split('?');
  const all: CgiEnv = {
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'nginx/1.22.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_NAME: 'example.test',
    SERVER_PORT: '80',
    REMOTE_ADDR: '192.0.2.7',
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    REQUEST_URI: path,
    HTTP_HOST: 'example.test',
    ...extra,
  };
  return Object.fromEntries(Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

const app: CgiApp = async (request, env) => {
  const url = new URL(request.url);
  switch (url.pathname) {
    case '/hello':
      return new Response(`hello ${env.REMOTE_ADDR}`);
    case '/env':
      return Response.json({
        who: env.X_WHO ?? null,
        role: env.FCGI_ROLE ?? null,
        long: env.X_LONG?.length ?? null,
        method: request.method,
      });
    case '/hash': {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of request.body ?? []) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
      return Response.json({ bytes, sha256: hash.digest('hex') });
    }
    case '/big':
      return new Response(Buffer.alloc(Number(url.searchParams.get('bytes')), 'x'));
    case '/wait': {
      const name = url.searchParams.get('name') ?? '';
      return new Promise<Response>((resolve) => {
        request.signal.addEventListener('abort', () => aborted.add(name));
        setTimeout(() => resolve(new Response(`waited ${name}`)), Number(url.searchParams.get('ms') ?? '0'));
      });
    }
    case '/authorize':
      return request.headers.get('authorization') === 'Bearer ok'
        ? new Response(null, { headers: { 'variable-user': 'ada' } })
        : new Response('denied', { status: 403 });
    case '/throw':
      throw new Error('secret failure');
    default:
      return new Response('not found', { status: 404 });
  }
};

async function answer(request: { output(): Promise<Buffer> }): Promise<{ response: Response; text: string }> {
  const output = await request.output();
  const response = await parseCgiResponse(
    (async function* () {
      yield output;
    })(),
  );
  return { response, text: await response.text() };
}

before(async () => {
  server = await serveSocket(
    app,
    { kind: 'unix', path: socketPath },
    {
      stderr: { write: (text: string) => logs.push(text) },
      limits: { stallTimeout: 300, maxParamsBytes: 64 * 1024 },
    },
  );
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a FastCGI responder', () => {
  test('answers a request with STDOUT records, then exactly one END_REQUEST, and closes without KEEP_CONN', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const request = client.request(params('/hello'));
    const { response, text } = await answer(request);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain;charset=UTF-8');
    assert.equal(text, 'hello 192.0.2.7');
    assert.deepEqual(await request.ended, { appStatus: 0, protocolStatus: FCGI.REQUEST_COMPLETE });
    await client.closed;
    assert.equal(request.endRequests(), 1);
  });

  test('keeps the connection with KEEP_CONN and serves the next request on it', async () => {
    const client = await FastCgiClient.connect(socketPath);
    for (const who of ['first', 'second', 'third']) {
      const request = client.request(params('/env', { X_WHO: who }), { keepConn: true, id: 1 });
      assert.equal(JSON.parse((await answer(request)).text).who, who);
    }
    client.close();
    await client.closed;
  });

  test('reads params split anywhere across records, with 4-byte lengths', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const long = 'v'.repeat(300);
    const request = client.request(params('/env', { X_LONG: long, X_WHO: 'split' }), { paramsSplit: 3 });
    const body = JSON.parse((await answer(request)).text);
    assert.deepEqual([body.who, body.long], ['split', 300]);
  });

  test('streams a body in many STDIN records to the app, and a large response in records of at most 65535 bytes', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const chunks = Array.from({ length: 20 }, (_, index) => Buffer.alloc(50_000, index));
    const whole = Buffer.concat(chunks);
    const upload = client.request(
      params('/hash', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(whole.byteLength) }),
      {
        body: chunks,
        keepConn: true,
      },
    );
    assert.deepEqual(JSON.parse((await answer(upload)).text), {
      bytes: whole.byteLength,
      sha256: createHash('sha256').update(whole).digest('hex'),
    });
    const download = client.request(params('/big?bytes=300000'));
    let largest = 0;
    for await (const chunk of download.stdout) largest = Math.max(largest, chunk.byteLength);
    assert.ok(largest <= 65535, `a STDOUT record of ${largest} bytes`);
    assert.equal((await answer(download)).text.length, 300_000);
  });

  test('serves requests interleaved on one connection, each with its own response and END_REQUEST', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const slow = client.request(params('/wait?name=slow&ms=200'), { keepConn: true });
    const fast = client.request(params('/env', { X_WHO: 'fast' }), { keepConn: true });
    const upload = client.request(params('/hash', { REQUEST_METHOD: 'POST', CONTENT_LENGTH: '6' }), {
      keepConn: true,
      hold: true,
    });
    upload.finish(Buffer.from('abcdef'));
    assert.equal(JSON.parse((await answer(fast)).text).who, 'fast');
    assert.equal(JSON.parse((await answer(upload)).text).bytes, 6);
    assert.equal((await answer(slow)).text, 'waited slow');
    assert.deepEqual(
      [slow, fast, upload].map((request) => request.endRequests()),
      [1, 1, 1],
    );
    client.close();
  });

  test('keeps requests apart whatever ids the web server picks, small or up to 65535', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const ids = [65_535, 1, 256, 255, 300];
    // The first waits, so that all are open at once.
    const requests = ids.map((id, index) =>
      client.request(params(index === 0 ? '/wait?name=high&ms=100' : '/env', { X_WHO: String(id) }), {
        keepConn: true,
        id,
      }),
    );
    const texts = await Promise.all(requests.map(async (request) => (await answer(request)).text));
    assert.equal(texts[0], 'waited high');
    assert.deepEqual(
      texts.slice(1).map((text) => JSON.parse(text).who),
      ids.slice(1).map(String),
    );
    assert.deepEqual(
      requests.map((request) => request.endRequests()),
      ids.map(() => 1),
    );
    // The ids are free again: the same ones serve a second round.
    const again = ids.map((id) => client.request(params('/env', { X_WHO: `again ${id}` }), { keepConn: true, id }));
    for (const [index, request] of again.entries()) {
      assert.equal(JSON.parse((await answer(request)).text).who, `again ${ids[index]}`);
    }
    client.close();
  });

  test('ABORT_REQUEST aborts request.signal and ends the request with one END_REQUEST', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const request = client.request(params('/wait?name=aborted-one&ms=5000'), { keepConn: true });
    await sleep(50);
    request.abort();
    assert.deepEqual(await request.ended, { appStatus: 0, protocolStatus: FCGI.REQUEST_COMPLETE });
    assert.ok(aborted.has('aborted-one'));
    await sleep(50);
    assert.equal(request.endRequests(), 1);
    client.close();
  });

  test('a web server that closes the connection instead of aborting still aborts the request', async () => {
    const client = await FastCgiClient.connect(socketPath);
    client.request(params('/wait?name=closed-one&ms=5000'));
    await sleep(50);
    client.destroy();
    for (let waited = 0; !aborted.has('closed-one') && waited < 2000; waited += 20) await sleep(20);
    assert.ok(aborted.has('closed-one'));
  });

  test('answers GET_VALUES truthfully and UNKNOWN_TYPE for other management records', async () => {
    const client = await FastCgiClient.connect(socketPath);
    assert.deepEqual(await client.getValues(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS', 'FCGI_OTHER']), {
      FCGI_MAX_CONNS: '1024',
      FCGI_MAX_REQS: '64',
      FCGI_MPXS_CONNS: '1',
    });
    const unknown = client.nextUnknownType();
    client.send(encodeRecord(42, 0));
    assert.equal(await unknown, 42);
    client.close();
  });

  test('refuses the Filter role with FCGI_UNKNOWN_ROLE', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const request = client.request(params('/hello'), { role: FCGI.FILTER });
    assert.deepEqual(await request.ended, { appStatus: 0, protocolStatus: FCGI.UNKNOWN_ROLE });
  });

  test('serves the Authorizer role: no body, FCGI_ROLE set, Variable-* headers passed back', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const allowed = client.request(params('/authorize', { HTTP_AUTHORIZATION: 'Bearer ok' }), {
      role: FCGI.AUTHORIZER,
      keepConn: true,
    });
    const { response } = await answer(allowed);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('variable-user'), 'ada');
    const denied = client.request(params('/authorize'), { role: FCGI.AUTHORIZER, keepConn: true });
    assert.equal((await answer(denied)).response.status, 403);
    const role = client.request(params('/env'), { role: FCGI.AUTHORIZER });
    assert.equal(JSON.parse((await answer(role)).text).role, 'AUTHORIZER');
  });

  test('an app that throws gives a generic 500 and app status 1; the connection serves on', async () => {
    const client = await FastCgiClient.connect(socketPath);
    const failing = client.request(params('/throw'), { keepConn: true });
    const { response, text } = await answer(failing);
    assert.equal(response.status, 500);
    assert.doesNotMatch(text, /secret/);
    assert.equal((await failing.ended).appStatus, 1);
    assert.equal((await answer(client.request(params('/hello')))).text, 'hello 192.0.2.7');
  });
});

describe('a FastCGI responder given bad input', () => {
  /** Sends `bytes` on a connection of its own; resolves when the responder has closed it. */
  async function sendBad(bytes: Buffer): Promise<string[]> {
    logs = [];
    const client = await FastCgiClient.connect(socketPath);
    client.send(bytes);
    await client.closed;
    return logs;
  }

  test('closes a connection whose record has another version, with one line, and serves the others', async () => {
    const healthy = await FastCgiClient.connect(socketPath);
    // A good record first: a connection whose very first byte is not 1 is not taken for FastCGI.
    const record = encodeRecord(FCGI.BEGIN_REQUEST, 1, Buffer.alloc(8));
    record[0] = 2;
    const bad = Buffer.concat([encodeRecord(FCGI.GET_VALUES, 0), record]);
    assert.deepEqual(await sendBad(bad), [
      'fetch-cgi: fastcgi: a record of version 2, not 1; closing the connection\n',
    ]);
    assert.equal((await answer(healthy.request(params('/hello')))).text, 'hello 192.0.2.7');
  });

  test('closes a connection whose params pass the limit', async () => {
    const big = Buffer.concat([
      encodeRecord(FCGI.BEGIN_REQUEST, 1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])),
      ...Array.from({ length: 2 }, () => encodeRecord(FCGI.PARAMS, 1, Buffer.alloc(40_000))),
    ]);
    assert.match((await sendBad(big)).join(''), /params of request 1 pass the 65536-byte limit/);
  });

  test('closes a connection whose name-value pair is cut short', async () => {
    const cut = Buffer.concat([
      encodeRecord(FCGI.BEGIN_REQUEST, 1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])),
      encodeRecord(FCGI.PARAMS, 1, Buffer.from([5, 5, 0x41])),
      endOfStream(FCGI.PARAMS, 1),
    ]);
    assert.match((await sendBad(cut)).join(''), /name-value pair is cut short/);
  });

  test('closes a connection that stalls in the middle of a record', async () => {
    const half = encodeRecord(FCGI.BEGIN_REQUEST, 1, Buffer.alloc(8)).subarray(0, 5);
    assert.match((await sendBad(half)).join(''), /no complete record for 300 ms/);
  });

  test('answers a connection that speaks neither FastCGI nor SCGI with a plain-text HTTP 400', async () => {
    const socket = connect(socketPath);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    let reply = '';
    for await (const chunk of socket) reply += chunk;
    assert.match(reply, /^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\nThis socket speaks FastCGI and SCGI/);
  });
});
