/**
 * The listening side of a long-lived process, in-process: where a TCP listener binds, who may
 * connect, how many requests run at once, and that no input, however malformed, harms the
 * process or another connection (fuzzed with fast-check), and that reads cut anywhere lose
 * nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as fc from 'fast-check';
import { FastCgiClient, paramsRecords } from '../../../src/host/fastcgi-client.js';
import { encodePairs } from '../../../src/protocols/fastcgi/name-value.js';
import { encodeHeaderBlock } from '../../../src/protocols/scgi/header-block.js';
import {
  beginRequestBody,
  encodeRecord,
  endOfStream,
  FCGI,
  RecordReader,
} from '../../../src/protocols/fastcgi/records.js';
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

describe('the first byte of a connection', () => {
  // One socket speaks both protocols: the first read picks one and is then handed to it, so a
  // first read of a single byte must lose nothing. Anything else is HTTP sent here by mistake.
  const fastcgi = Buffer.concat([
    encodeRecord(FCGI.BEGIN_REQUEST, 1, beginRequestBody(FCGI.RESPONDER, false)),
    ...paramsRecords(1, get),
    endOfStream(FCGI.STDIN, 1),
  ]);
  const scgi = encodeHeaderBlock(get, 0);
  const table: [string, Buffer, RegExp][] = [
    ['FastCGI', fastcgi, /\r\n\r\nhello/],
    ['SCGI', scgi, /\r\n\r\nhello$/],
    [
      'HTTP',
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      /^HTTP\/1\.1 400 Bad Request\r\n[^]*not HTTP: point a web server at it/,
    ],
  ];
  for (const [protocol, bytes, expected] of table) {
    for (const split of [bytes.length, 1]) {
      test(`${protocol}, first read of ${split === 1 ? 'one byte' : 'the whole request'}`, async () => {
        const server = await serveSocket(hello, { kind: 'unix', path: socketPath() }, { stderr: quiet });
        try {
          const socket = connect(server.address.slice('unix:'.length));
          const received: Buffer[] = [];
          socket.on('data', (chunk: Buffer) => received.push(chunk));
          const closed = new Promise((resolve) => socket.on('close', resolve));
          await new Promise((resolve) => socket.once('connect', resolve));
          socket.write(bytes.subarray(0, split));
          await sleep(20);
          socket.end(bytes.subarray(split));
          await closed;
          assert.match(Buffer.concat(received).toString('latin1'), expected);
        } finally {
          await server.stop();
        }
      });
    }
  }
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

describe('reading a connection', () => {
  // The listener reads a FastCGI connection into one buffer the process reuses for every read:
  // what a request keeps across reads (params before their empty record, queued body chunks)
  // must be its own copy, or the next read overwrites it. Reads that cut records make copies
  // of their own (a record put together); reads that end where records end do not.
  const cuts: [string, (records: Buffer[]) => Buffer[]][] = [
    ['reads cut anywhere', (records) => cutEvery(Buffer.concat(records), [1, 5, 333, 4_096, 65_537])],
    ['one record a read', (records) => records],
  ];
  for (const [name, cut] of cuts) {
    // Garbled params can leave a request waiting for a body that never comes: a timeout, not a hang.
    test(`keeps params and bodies intact, two requests interleaved: ${name}`, { timeout: 20_000 }, async () => {
      let allSent!: () => void;
      const sent = new Promise<void>((resolve) => (allSent = resolve));
      const app: CgiApp = async (request, env) => {
        // Reads the body only once all of it was sent, so its chunks wait in the queue meanwhile.
        await sent;
        const body = Buffer.from(await request.arrayBuffer());
        return new Response(`${env?.X_LONG}:${body.byteLength}:${sha256(body)}`);
      };
      const path = socketPath();
      const server = await serveSocket(app, { kind: 'unix', path }, { stderr: quiet });
      const bodies = [randomBytes(300_000), randomBytes(123_457)];
      const longValue = (id: number) => `${id}-${randomBytes(2_500).toString('hex')}-${id}`;
      const values = [longValue(1), longValue(2)];
      const records = (id: number) => {
        const body = bodies[id - 1] as Buffer;
        const params = {
          ...get,
          REQUEST_METHOD: 'POST',
          CONTENT_LENGTH: String(body.length),
          X_LONG: values[id - 1] as string,
        };
        return [
          encodeRecord(FCGI.BEGIN_REQUEST, id, beginRequestBody(FCGI.RESPONDER, true)),
          // Records of 333 bytes: a pair split across records.
          ...paramsRecords(id, params, 333),
          ...chunksOf(body, 7_919).map((chunk) => encodeRecord(FCGI.STDIN, id, chunk)),
          endOfStream(FCGI.STDIN, id),
        ];
      };
      const [one, two] = [records(1), records(2)];
      const interleaved: Buffer[] = [];
      for (let index = 0; index < Math.max(one.length, two.length); index++) {
        if (one[index]) interleaved.push(one[index] as Buffer);
        if (two[index]) interleaved.push(two[index] as Buffer);
      }
      const socket = connect(path);
      try {
        await new Promise((resolve) => socket.once('connect', resolve));
        const outputs = new Map<number, Buffer[]>([
          [1, []],
          [2, []],
        ]);
        let ended = 0;
        const done = new Promise<void>((resolve) => {
          const reader = new RecordReader((type, id, content) => {
            if (type === FCGI.STDOUT) outputs.get(id)?.push(Buffer.from(content));
            if (type === FCGI.END_REQUEST && ++ended === 2) resolve();
          });
          socket.on('data', (chunk: Buffer) => reader.push(chunk));
        });
        // A pause after each write, so that each is a read of its own.
        for (const bytes of cut(interleaved)) {
          socket.write(bytes);
          await sleep(1);
        }
        await sleep(50);
        allSent();
        await done;
        for (const id of [1, 2]) {
          const body = bodies[id - 1] as Buffer;
          const text = Buffer.concat(outputs.get(id) ?? []).toString();
          assert.ok(
            text.endsWith(`\r\n\r\n${values[id - 1]}:${body.byteLength}:${sha256(body)}`),
            `request ${id}: ${text.slice(-120)}`,
          );
        }
      } finally {
        socket.destroy();
        await server.stop();
      }
    });
  }
});

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `bytes` in pieces of the given sizes, over and over. */
function cutEvery(bytes: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0, index = 0; offset < bytes.length; index++) {
    const size = sizes[index % sizes.length] as number;
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.subarray(start, start + size));
  return chunks;
}
