/**
 * Starts every real CGI server set-up of tests/servers/ with an environment-echoing
 * script and checks the URL variables each one hands it, directly and through the pretty
 * URL rewrites, and that stop() leaves no process behind. The servers start concurrently.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { serverKinds, startServer, type RunningServer, type ServerKind } from './servers/index.js';
import { isAlive } from './servers/processes.js';

const envEcho = fileURLToPath(new URL('./fixtures/env-echo.cgi', import.meta.url));

/** What differs between servers, as observed on Debian 12 (see docs/deploy/). */
interface Expected {
  /** REQUEST_URI for the raw request target `target`. */
  requestUri(target: string): string | undefined;
  /** Status and PATH_INFO for `/cgi-bin/app.cgi/a%2Fb/c`. */
  encodedSlash: { status: number; pathInfo?: string };
  passesAuthorization: boolean;
}

const raw = (target: string) => target;
const expectations: Record<ServerKind, Expected> = {
  // AllowEncodedSlashes NoDecode: %2F stays encoded in PATH_INFO while %20 is decoded.
  'apache-event': { requestUri: raw, encodedSlash: { status: 200, pathInfo: '/a%2Fb/c' }, passesAuthorization: true },
  'apache-prefork': { requestUri: raw, encodedSlash: { status: 200, pathInfo: '/a%2Fb/c' }, passesAuthorization: true },
  lighttpd: { requestUri: raw, encodedSlash: { status: 200, pathInfo: '/a/b/c' }, passesAuthorization: true },
  nginx: { requestUri: raw, encodedSlash: { status: 200, pathInfo: '/a/b/c' }, passesAuthorization: true },
  // busybox decodes the path part of REQUEST_URI and answers 404 to %2F in a path.
  busybox: {
    requestUri: (target) => decodeURIComponent(target.split('?')[0] ?? '') + target.slice(target.indexOf('?')),
    encodedSlash: { status: 404 },
    passesAuthorization: true,
  },
  // mini_httpd sets no REQUEST_URI and passes only a fixed set of headers.
  mini_httpd: {
    requestUri: () => undefined,
    encodedSlash: { status: 200, pathInfo: '/a/b/c' },
    passesAuthorization: false,
  },
};

/** GETs `url` and parses the fixture's `NAME=value` lines. */
async function fetchEnv(url: string): Promise<{ status: number; env: Record<string, string> }> {
  const response = await request(url, { headers: { authorization: 'Bearer secret' }, reset: true });
  const text = await response.body.text();
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const equals = line.indexOf('=');
    if (equals > 0) env[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return { status: response.statusCode, env };
}

const servers = new Map<ServerKind, Promise<RunningServer>>();

before(() => {
  for (const kind of serverKinds) {
    const started = startServer(kind, { scripts: { 'app.cgi': envEcho } });
    started.catch(() => {}); // reported by each test that awaits it
    servers.set(kind, started);
  }
});

after(async () => {
  await Promise.allSettled([...servers.values()].map(async (started) => (await started).stop()));
});

/** The started server of `kind`; rejects (failing the test) when it could not start. */
function server(kind: ServerKind): Promise<RunningServer> {
  const started = servers.get(kind);
  assert.ok(started, `${kind} was not started`);
  return started;
}

const target = '/cgi-bin/app.cgi/a%20b/c?q=1&r=%2F';
const prettyTarget = '/app/a%20b/c?q=1&r=%2F';

for (const kind of serverKinds) {
  const expected = expectations[kind];

  describe(kind, () => {
    it('runs the script as www-data with the decoded path after it as PATH_INFO', async () => {
      const { origin, scriptPath } = await server(kind);
      assert.equal(scriptPath, '/cgi-bin/app.cgi');
      const { status, env } = await fetchEnv(origin + target);
      assert.equal(status, 200);
      assert.equal(env.FIXTURE_USER, 'www-data');
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/app.cgi');
      assert.equal(env.PATH_INFO, '/a b/c');
      assert.equal(env.QUERY_STRING, 'q=1&r=%2F');
      assert.equal(env.REQUEST_URI, expected.requestUri(target));
    });

    it('passes the host header with its port', async () => {
      const { origin } = await server(kind);
      const { env } = await fetchEnv(origin + target);
      assert.equal(env.HTTP_HOST, new URL(origin).host);
    });

    it(`${expected.passesAuthorization ? 'passes' : 'withholds'} the authorization header`, async () => {
      const { origin } = await server(kind);
      const { env } = await fetchEnv(origin + target);
      assert.equal(env.HTTP_AUTHORIZATION, expected.passesAuthorization ? 'Bearer secret' : undefined);
    });

    it(`answers ${expected.encodedSlash.status} to an encoded slash in the path`, async () => {
      const { origin } = await server(kind);
      const { status, env } = await fetchEnv(`${origin}/cgi-bin/app.cgi/a%2Fb/c`);
      assert.equal(status, expected.encodedSlash.status);
      if (expected.encodedSlash.pathInfo !== undefined) assert.equal(env.PATH_INFO, expected.encodedSlash.pathInfo);
    });

    it('rewrites the pretty prefix onto the script with the rest as PATH_INFO, or has none', async () => {
      const { origin, prettyPath } = await server(kind);
      if (kind === 'busybox' || kind === 'mini_httpd') {
        assert.equal(prettyPath, null);
        assert.equal((await fetchEnv(origin + prettyTarget)).status, 404);
        return;
      }
      assert.equal(prettyPath, '/app');
      const { status, env } = await fetchEnv(origin + prettyTarget);
      assert.equal(status, 200);
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/app.cgi');
      assert.equal(env.PATH_INFO, '/a b/c');
      assert.equal(env.QUERY_STRING, 'q=1&r=%2F');
      assert.equal(env.REQUEST_URI, prettyTarget);
    });

    it('rewrites other paths onto the script with the whole path as PATH_INFO when rootPretty', async () => {
      const { origin, rootPretty } = await server(kind);
      assert.equal(rootPretty, kind !== 'busybox' && kind !== 'mini_httpd');
      if (!rootPretty) return;
      const { status, env } = await fetchEnv(`${origin}/x%20y/z?k=v`);
      assert.equal(status, 200);
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/app.cgi');
      assert.equal(env.PATH_INFO, '/x y/z');
      assert.equal(env.QUERY_STRING, 'k=v');
      assert.equal(env.REQUEST_URI, '/x%20y/z?k=v');
    });

    it('serves the shared-hosting .htaccess site on apache only', async () => {
      const { htaccessOrigin } = await server(kind);
      if (!kind.startsWith('apache')) {
        assert.equal(htaccessOrigin, null);
        return;
      }
      assert.ok(htaccessOrigin);
      const { status, env } = await fetchEnv(`${htaccessOrigin}/a%20b/c?q=1&r=%2F`);
      assert.equal(status, 200);
      assert.equal(env.SCRIPT_NAME, '/app.cgi');
      assert.equal(env.PATH_INFO, undefined);
      assert.equal(env.QUERY_STRING, 'q=1&r=%2F');
      assert.equal(env.REQUEST_URI, '/a%20b/c?q=1&r=%2F');
      assert.equal(env.HTTP_AUTHORIZATION, 'Bearer secret');
    });

    it('leaves no process behind and removes its run directory when stopped', async () => {
      const running = await server(kind);
      const pids = running.processIds();
      assert.ok(pids.length > 0);
      await running.stop();
      assert.deepEqual(pids.filter(isAlive), []);
      assert.deepEqual(running.processIds(), []);
      assert.equal(existsSync(running.runDir), false);
    });
  });
}
