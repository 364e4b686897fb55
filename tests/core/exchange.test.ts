/**
 * The transport-neutral core, in-process: an exchange fed a plain map of meta-variables, a body
 * source and a sink, as every front door (CGI, FastCGI, SCGI) feeds it. No child process.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { before, describe, test } from 'node:test';
import { Exchange, type ExchangeInit } from '../../src/core/exchange.js';
import type { CgiApp, CgiEnv } from '../../src/types.js';

/** A request's meta-variables, as a server (or FastCGI params) would give them. */
function params(extra: CgiEnv = {}): CgiEnv {
  return {
    GATEWAY_INTERFACE: 'CGI/1.1',
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '/app',
    PATH_INFO: '/',
    QUERY_STRING: '',
    SERVER_NAME: 'example.test',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REMOTE_ADDR: '192.0.2.1',
    ...extra,
  };
}

interface Started {
  exchange: Exchange;
  /** What the sink has received so far. */
  written: () => string;
  /** What the sink received, once it has been ended. */
  output: Promise<string>;
  sink: PassThrough;
  logs: string[];
  /** How many body chunks the exchange took from the source. */
  pulled: () => number;
}

let lazyRequest = false;

function start(app: CgiApp, extra: CgiEnv = {}, init: Partial<ExchangeInit> & { body?: Uint8Array[] } = {}): Started {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  const written = () => Buffer.concat(chunks).toString();
  const output = new Promise<string>((resolve) => sink.on('end', () => resolve(written())));
  const logs: string[] = [];
  let pulled = 0;
  const { body = [], ...rest } = init;
  const exchange = new Exchange({
    app,
    params: params(extra),
    openBody: function* () {
      for (const chunk of body) {
        pulled += 1;
        yield chunk;
      }
    },
    sink,
    log: (text) => logs.push(text),
    ...rest,
    options: { lazyRequest, ...rest.options },
  });
  return { exchange, written, output, sink, logs, pulled: () => pulled };
}

const post = (body: string): CgiEnv => ({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: String(Buffer.byteLength(body)) });

for (const lazy of [false, true]) {
  describe(`an exchange on its own, ${lazy ? 'with the lazy request' : "with the runtime's Request"}`, () => {
    before(() => (lazyRequest = lazy));

    test('builds the request from the map, calls the app and writes its response to the sink', async () => {
      const { exchange, output } = start(
        (request, env) => new Response(`${request.method} ${new URL(request.url).pathname} ${env.FETCH_CGI_BASE}`),
        { PATH_INFO: '/users/42' },
      );
      assert.deepEqual(await exchange.run(), { kind: 'sent', status: 200 });
      assert.equal(await output, 'Status: 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nGET /users/42 /app');
    });

    test('takes nothing from the body source until the app reads, then CONTENT_LENGTH bytes', async () => {
      const ignoring = start(() => new Response('no look'), post('hello'), { body: [Buffer.from('hello')] });
      await ignoring.exchange.run();
      assert.equal(ignoring.pulled(), 0);
      assert.equal(ignoring.exchange.bodyLength, 5);
      const reading = start(async (request) => new Response(await request.text()), post('hello'), {
        body: [Buffer.from('hel'), Buffer.from('loEXTRA'), Buffer.from('never taken')],
      });
      await reading.exchange.run();
      assert.equal(reading.pulled(), 2);
      assert.match(await reading.output, /\r\n\r\nhello$/);
    });

    test('refuses a malformed map with a 400 and one log line naming the variable', async () => {
      const { exchange, output, logs } = start(() => new Response('never'), {
        CONTENT_LENGTH: 'abc',
        REQUEST_METHOD: 'POST',
      });
      assert.deepEqual(await exchange.run(), { kind: 'refused', status: 400 });
      assert.match(await output, /^Status: 400 Bad Request\r\n/);
      assert.deepEqual(logs, ['fetch-cgi: malformed CONTENT_LENGTH in environment: "abc"']);
    });

    test('refuses a body that ends before CONTENT_LENGTH with a 400', async () => {
      const { exchange, output } = start(async (request) => new Response(await request.text()), post('hello'), {
        body: [Buffer.from('he')],
      });
      assert.deepEqual(await exchange.run(), { kind: 'refused', status: 400 });
      assert.match(await output, /^Status: 400 Bad Request\r\n/);
    });

    test('answers a generic 500 when the app throws, the stack only in the log', async () => {
      const { exchange, output, logs } = start(() => {
        throw new Error('secret detail');
      });
      assert.deepEqual(await exchange.run(), { kind: 'failed', headSent: false });
      const text = await output;
      assert.match(text, /^Status: 500 Internal Server Error\r\n/);
      assert.doesNotMatch(text, /secret/);
      assert.match(logs.join('\n'), /secret detail/);
    });

    test('ends as failed with the head sent when the body stream breaks mid-response', async () => {
      const body = new ReadableStream({
        pull(controller) {
          controller.enqueue(new TextEncoder().encode('partial'));
          controller.error(new Error('stream broke'));
        },
      });
      const { exchange, written, logs } = start(() => new Response(body));
      assert.deepEqual(await exchange.run(), { kind: 'failed', headSent: true });
      assert.match(written(), /^Status: 200 OK\r\n/);
      assert.match(logs.join('\n'), /failed after its headers were sent[^]*stream broke/);
    });

    test('a client that goes away aborts request.signal and ends the exchange as gone', async () => {
      let signal: AbortSignal | undefined;
      const { exchange, sink } = start((request) => {
        signal = request.signal;
        return new Promise<Response>(() => {});
      });
      const running = exchange.run();
      await new Promise((resolve) => setImmediate(resolve));
      sink.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      assert.deepEqual(await running, { kind: 'gone', reason: 'client' });
      assert.equal(signal?.aborted, true);
    });

    test('a client gone before the exchange runs (it waited for a turn) never reaches the app', async () => {
      let called = false;
      const { exchange, sink } = start(() => {
        called = true;
        return new Response('late');
      });
      sink.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(await exchange.run(), { kind: 'gone', reason: 'client' });
      assert.equal(called, false);
    });

    test('the timeout answers 504 and ends the exchange as timed out', async () => {
      const { exchange, output, logs } = start(() => new Promise<Response>(() => {}), {}, { options: { timeout: 50 } });
      assert.deepEqual(await exchange.run(), { kind: 'timed-out', headSent: false });
      assert.match(await output, /^Status: 504 Gateway Timeout\r\n/);
      assert.match(logs.join('\n'), /no complete response after 50 ms/);
    });
  });
}

describe('two exchanges at once in one process', () => {
  test('share no env, signal, waitUntil work or error', async () => {
    let releaseFirst!: () => void;
    const firstMayAnswer = new Promise<void>((resolve) => (releaseFirst = resolve));
    const seen: Record<string, { env: string | undefined; signal: AbortSignal }> = {};
    const app: CgiApp = async (request, env, ctx) => {
      const name = new URL(request.url).pathname.slice(1);
      seen[name] = { env: env.X_WHO, signal: request.signal };
      if (name === 'first') {
        ctx.waitUntil(Promise.resolve('first work'));
        await firstMayAnswer;
        return new Response(`first saw ${env.X_WHO}`);
      }
      if (name === 'second') throw new Error('only the second fails');
      return new Promise<Response>(() => {});
    };
    const first = start(app, { PATH_INFO: '/first', X_WHO: 'one' });
    const second = start(app, { PATH_INFO: '/second', X_WHO: 'two' });
    const third = start(app, { PATH_INFO: '/third', X_WHO: 'three' });
    const runs = [first.exchange.run(), second.exchange.run(), third.exchange.run()];

    // The second fails while the first still waits: the first is untouched.
    assert.deepEqual(await runs[1], { kind: 'failed', headSent: false });
    assert.match(await second.output, /^Status: 500 /);
    // The third is aborted (a SIGTERM or an ABORT_REQUEST for it): only its signal fires.
    third.exchange.abort('stopped by the test');
    assert.deepEqual(await runs[2], { kind: 'gone', reason: 'aborted' });
    assert.equal(seen.third?.signal.aborted, true);
    assert.equal(seen.first?.signal.aborted, false);

    releaseFirst();
    assert.deepEqual(await runs[0], { kind: 'sent', status: 200 });
    assert.match(await first.output, /\r\n\r\nfirst saw one$/);
    assert.deepEqual(Object.fromEntries(Object.entries(seen).map(([name, value]) => [name, value.env])), {
      first: 'one',
      second: 'two',
      third: 'three',
    });
    assert.equal(first.exchange.hasBackgroundWork, true);
    assert.equal(second.exchange.hasBackgroundWork, false);
    assert.deepEqual(first.logs, []);
    assert.match(second.logs.join('\n'), /only the second fails/);
    assert.deepEqual(third.logs, ['fetch-cgi: stopped by the test; stopping']);
  });
});
