/**
 * The SCGI side of the socket, in-process: the header block as a table, then whole requests
 * over a real unix socket as nginx's scgi_pass and Apache's mod_proxy_scgi send them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCgiResponse } from '../../../src/host/parse-cgi-response.js';
import { encodeHeaderBlock, parseHeaderBlock } from '../../../src/protocols/scgi/header-block.js';
import { type SocketServer, serveSocket } from '../../../src/transports/socket/serve-socket.js';

describe('the SCGI header block', () => {
  const block = (text: string) => Buffer.from(`${Buffer.byteLength(text)}:${text},`);
  test('reads a netstring of pairs, CONTENT_LENGTH first, and where the body starts', () => {
    const data = Buffer.concat([
      block('CONTENT_LENGTH\x003\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00'),
      Buffer.from('abc'),
    ]);
    const parsed = parseHeaderBlock(data, 1024);
    assert.deepEqual(parsed?.params, { CONTENT_LENGTH: '3', SCGI: '1', REQUEST_METHOD: 'POST' });
    assert.equal(data.subarray(parsed?.end).toString(), 'abc');
  });

  test('takes a block without SCGI=1, as nginx sends unless told, and the first of a repeated name', () => {
    const parsed = parseHeaderBlock(block('CONTENT_LENGTH\x002\x00CONTENT_LENGTH\x00\x00X\x00y\x00'), 1024);
    assert.deepEqual(parsed?.params, { CONTENT_LENGTH: '2', X: 'y' });
  });

  test('waits for more bytes while the block is incomplete', () => {
    const whole = block('CONTENT_LENGTH\x000\x00SCGI\x001\x00');
    for (let cut = 0; cut < whole.byteLength; cut += 1)
      assert.equal(parseHeaderBlock(whole.subarray(0, cut), 1024), undefined);
  });

  const bad: [string, Buffer, RegExp][] = [
    ['no netstring length', Buffer.from('GET / HTTP/1.1'), /not a netstring/],
    ['no comma after the block', Buffer.from('24:CONTENT_LENGTH\x000\x00SCGI\x001\x00X'), /not a netstring/],
    ['CONTENT_LENGTH not first', block('SCGI\x001\x00CONTENT_LENGTH\x000\x00'), /must start with CONTENT_LENGTH/],
    ['CONTENT_LENGTH not a number', block('CONTENT_LENGTH\x00x\x00SCGI\x001\x00'), /must start with CONTENT_LENGTH/],
    ['another SCGI version', block('CONTENT_LENGTH\x000\x00SCGI\x002\x00'), /says SCGI="2", not 1/],
    ['a name without a value', block('CONTENT_LENGTH\x000\x00SCGI\x001\x00NAME\x00'), /not name-value pairs/],
    [
      'a block over the limit',
      block(`CONTENT_LENGTH\x000\x00SCGI\x001\x00X\x00${'y'.repeat(2000)}\x00`),
      /passes the 1024-byte limit/,
    ],
  ];
  for (const [name, data, message] of bad) {
    test(`refuses ${name}`, () => assert.throws(() => parseHeaderBlock(data, 1024), message));
  }
});

const dir = mkdtempSync(join(tmpdir(), 'fetch-cgi-scgi-'));
const socketPath = join(dir, 'app.sock');
let server: SocketServer;
const logs: string[] = [];
const aborted = new Set<string>();

before(async () => {
  server = await serveSocket(
    async (request, env) => {
      const url = new URL(request.url);
      if (url.pathname === '/echo')
        return new Response(`${request.method} ${env.SERVER_SOFTWARE} ${await request.text()}`);
      if (url.pathname === '/unread') return new Response('not read', { status: 202 });
      if (url.pathname === '/wait') {
        return new Promise<Response>((resolve) => {
          request.signal.addEventListener('abort', () => aborted.add(url.searchParams.get('name') ?? ''));
          setTimeout(() => resolve(new Response('late')), 5000);
        });
      }
      return new Response('not found', { status: 404 });
    },
    { kind: 'unix', path: socketPath },
    { stderr: { write: (text: string) => logs.push(text) } },
  );
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends one SCGI request, with the body in `pieces` after the header block, and reads the reply. */
async function scgi(path: string, method: string, body = '', pieces = 1) {
  const socket = connect(socketPath);
  socket.write(
    encodeHeaderBlock(
      {
        REQUEST_METHOD: method,
        SERVER_SOFTWARE: 'nginx/1.22.1',
        PATH_INFO: path,
        SCRIPT_NAME: '',
        SERVER_NAME: 'x',
        SERVER_PORT: '80',
        SERVER_PROTOCOL: 'HTTP/1.1',
      },
      Buffer.byteLength(body),
    ),
  );
  const bytes = Buffer.from(body);
  const size = Math.ceil(bytes.byteLength / pieces);
  for (let start = 0; start < bytes.byteLength; start += size) {
    await sleep(10);
    socket.write(bytes.subarray(start, start + size));
  }
  const response = await parseCgiResponse(socket);
  return { status: response.status, text: await response.text() };
}

describe('an SCGI connection', () => {
  test('answers one request with CGI output and closes', async () => {
    assert.deepEqual(await scgi('/echo', 'POST', 'ping', 3), { status: 200, text: 'POST nginx/1.22.1 ping' });
  });

  test('answers a request whose body the app never reads, and reads the body off the socket', async () => {
    const body = 'x'.repeat(300_000);
    assert.deepEqual(await scgi('/unread', 'POST', body, 10), { status: 202, text: 'not read' });
  });

  test('a web server that closes the connection aborts request.signal', async () => {
    const socket = connect(socketPath);
    socket.write(
      encodeHeaderBlock(
        { REQUEST_METHOD: 'GET', PATH_INFO: '/wait', QUERY_STRING: 'name=scgi-closed', SERVER_NAME: 'x' },
        0,
      ),
    );
    await sleep(100);
    socket.destroy();
    for (let waited = 0; !aborted.has('scgi-closed') && waited < 2000; waited += 20) await sleep(20);
    assert.ok(aborted.has('scgi-closed'));
  });

  test('closes a connection with a malformed header block, with one line', async () => {
    logs.length = 0;
    const socket = connect(socketPath);
    socket.write('5:abcde,');
    for await (const _ of socket);
    assert.deepEqual(logs, ['fetch-cgi: scgi: a header block that is not name-value pairs; closing the connection\n']);
  });
});
