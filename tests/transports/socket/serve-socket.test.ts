/**
 * The listening side of a long-lived process, in-process: where a TCP listener binds, who may
 * connect, how many requests run at once, and that no input, however malformed, harms the
 * process or another connection (fuzzed with fast-check).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as fc from 'fast-check';
import { FastCgiClient } from '../../../src/host/fastcgi-client.js';
import { encodePairs } from '../../../src/protocols/fastcgi/name-value.js';
import { beginRequestBody, encodeRecord, endOfStream, FCGI } from '../../../src/protocols/fastcgi/records.js';
import { parseListenAddress } from '../../../src/transports/socket/listen-address.js';
import { serveSocket } from '../../../src/transports/socket/serve-socket.js';
import type { CgiApp } from '../../../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-listener-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;
const socketPath = () => join(dir, `l${sockets++}.sock`);
const hello: CgiApp = () => new Response('hello');
const quiet = { write: () => true };
const get = { REQUEST_METHOD: 'GET', PATH_INFO: '/', SCRIPT_NAME: '', SERVER_NAME: 'x' };

/** A free TCP port on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  const probe = await serveSocket(hello, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { stderr: quiet });
  const port = Number(probe.address.split(':').pop());
  await probe.stop();
  return port;
}

describe('listen addresses', () => {
  const table: [string, ReturnType<typeof parseListenAddress> | RegExp][] = [
    ['unix:/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['/run/app.sock', { kind: 'unix', path: '/run/app.sock' }],
    ['9000', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    [':9000', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    ['0.0.0.0:9000', { kind: 'tcp', host: '0.0.0.0', port: 9000 }],
    ['[::1]:9000', { kind: 'tcp', host: '::1', port: 9000 }],
    ['fd:3', { kind: 'fd', fd: 3 }],
    ['unix:relative.sock', /cannot listen on "unix:relative.sock"/],
    ['127.0.0.1:99999', /cannot listen/],
    ['http://example.com', /cannot listen/],
  ];
  for (const [address, expected] of table) {
    test(`reads ${address}`, () => {
      if (expected instanceof RegExp) assert.throws(() => parseListenAddress(address), expected);
      else assert.deepEqual(parseListenAddress(address), expected);
    });
  }
});

describe('a TCP listener', () => {
  test('given a bare port, binds loopback only', async () => {
    const port = await freePort();
    const server = await serveSocket(hello, parseListenAddress(String(port)), { stderr: quiet });
    try {
      assert.equal(server.address, `127.0.0.1:${port}`);
      const client = await FastCgiClient.connect({ host: '127.0.0.1', port });
      assert.match((await client.request(get).output()).toString(), /hello$/);
    } finally {
      await server.stop();
    }
  });

  test('closes connections from addresses FCGI_WEB_SERVER_ADDRS does not list, with one line', async () => {
    const port = await freePort();
    const logs: string[] = [];
    const server = await serveSocket(
      hello,
      { kind: 'tcp', host: '127.0.0.1', port },
      {
        webServerAddrs: ['127.0.0.2'],
        stderr: { write: (text: string) => logs.push(text) },
      },
    );
    try {
      // 127.0.0.1 is not listed: closed before a byte is read.
      const refused = connect({ host: '127.0.0.1', port });
      refused.write(encodeRecord(FCGI.GET_VALUES, 0));
      refused.on('error', () => {});
      await new Promise((resolve) => refused.on('close', resolve));
      assert.match(logs.join(''), /a connection from 127\.0\.0\.1, which FCGI_WEB_SERVER_ADDRS does not list; closed/);
      // 127.0.0.2, a loopback address too, is listed.
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
      await new Promise((resolve) => socket.once('connect', resolve));
      const client = new FastCgiClient(socket);
      assert.match((await client.request(get).output()).toString(), /hello$/);
    } finally {
      await server.stop();
    }
  });
});

describe('the concurrency limit', () => {
  test('runs at most `concurrency` requests at once; the others wait, none is lost', async () => {
    let running = 0;
    let most = 0;
    const app: CgiApp = async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(50);
      running -= 1;
      return new Response('done');
    };
    const path = socketPath();
    const server = await serveSocket(app, { kind: 'unix', path }, { concurrency: 2, stderr: quiet });
    try {
      const client = await FastCgiClient.connect(path);
      const requests = Array.from({ length: 7 }, () => client.request(get, { keepConn: true }));
      const outputs = await Promise.all(requests.map((request) => request.output()));
      assert.ok(outputs.every((output) => output.toString().endsWith('done')));
      assert.equal(most, 2);
      assert.deepEqual(await client.getValues(['FCGI_MAX_REQS']), { FCGI_MAX_REQS: '2' });
    } finally {
      await server.stop();
    }
  });
});

describe('malformed input', () => {
  test('never harms the process or another connection (fuzzed records and bytes)', async () => {
    const path = socketPath();
    const server = await serveSocket(hello, { kind: 'unix', path }, { stderr: quiet, limits: { stallTimeout: 50 } });
    const healthy = await FastCgiClient.connect(path);
    const record = fc
      .record({
        type: fc.integer({ min: 0, max: 12 }),
        id: fc.integer({ min: 0, max: 3 }),
        content: fc.uint8Array({ maxLength: 300 }),
      })
      .map(({ type, id, content }) =>
        type === FCGI.BEGIN_REQUEST
          ? encodeRecord(type, id, beginRequestBody((content[0] ?? 1) % 4, true))
          : encodeRecord(type, id, content),
      );
    const params = fc
      .dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 200 }))
      .map((pairs) => [
        encodeRecord(FCGI.BEGIN_REQUEST, 1, beginRequestBody(FCGI.RESPONDER, false)),
        encodeRecord(FCGI.PARAMS, 1, encodePairs(Object.entries(pairs)).subarray(0, 65535)),
        endOfStream(FCGI.PARAMS, 1),
        endOfStream(FCGI.STDIN, 1),
      ]);
    const input = fc.oneof(
      fc.array(record, { maxLength: 8 }),
      params,
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 4 }),
    );
    try {
      await fc.assert(
        fc.asyncProperty(input, fc.boolean(), async (chunks, firstByteIsFastCgi) => {
          const socket = connect(path);
          socket.on('error', () => {});
          await new Promise((resolve) => socket.once('connect', resolve));
          if (firstByteIsFastCgi) socket.write(encodeRecord(FCGI.GET_VALUES, 0));
          for (const chunk of chunks) socket.write(chunk);
          await sleep(5);
          socket.destroy();
          // The process still answers on a connection of its own.
          const answer = await healthy.request(get, { keepConn: true }).output();
          assert.match(answer.toString(), /hello$/);
        }),
        { numRuns: 150, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    } finally {
      healthy.close();
      await server.stop();
    }
  });
});
