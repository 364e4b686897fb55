import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestToEnv, type RequestToEnvOptions } from '../../src/host/request-to-env.js';
import type { CgiEnv } from '../../src/types.js';

/** The environment for `url` with valid defaults for every option not given. */
function envFor(url: string, init: RequestInit = {}, options: Partial<RequestToEnvOptions> = {}): CgiEnv {
  return requestToEnv(new Request(url, init), {
    scriptName: '/cgi-bin/app.cgi',
    remoteAddr: '127.0.0.1',
    ...options,
  });
}

describe('requestToEnv', () => {
  test('produces the full RFC 3875 section 4.1 environment for a GET', () => {
    const env = envFor(
      'http://127.0.0.1:8080/cgi-bin/app.cgi/a%20b/c?q=1&r=%2F',
      { headers: { 'X-Foo': 'bar', Host: '127.0.0.1:8080' } },
      { remotePort: 51000, scriptFilename: '/srv/cgi-bin/app.cgi', documentRoot: '/srv/www/' },
    );
    assert.deepEqual(env, {
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_SOFTWARE: 'fetch-cgi',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: '8080',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: 'GET',
      REQUEST_SCHEME: 'http',
      REQUEST_URI: '/cgi-bin/app.cgi/a%20b/c?q=1&r=%2F',
      SCRIPT_NAME: '/cgi-bin/app.cgi',
      PATH_INFO: '/a b/c',
      PATH_TRANSLATED: '/srv/www/a b/c',
      QUERY_STRING: 'q=1&r=%2F',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: '51000',
      DOCUMENT_ROOT: '/srv/www/',
      SCRIPT_FILENAME: '/srv/cgi-bin/app.cgi',
      HTTP_HOST: '127.0.0.1:8080',
      HTTP_X_FOO: 'bar',
    });
  });

  const urlRows: [string, string, Partial<RequestToEnvOptions>, CgiEnv][] = [
    [
      'apache, lighttpd: bare script path leaves PATH_INFO unset and QUERY_STRING empty (4.1.5, 4.1.7)',
      'http://h/cgi-bin/app.cgi',
      {},
      { PATH_INFO: undefined, QUERY_STRING: '', REQUEST_URI: '/cgi-bin/app.cgi' },
    ],
    [
      'lighttpd, nginx: %2F in the path is decoded into PATH_INFO (4.1.5)',
      'http://h/cgi-bin/app.cgi/a%2Fb/c',
      {},
      { PATH_INFO: '/a/b/c', REQUEST_URI: '/cgi-bin/app.cgi/a%2Fb/c' },
    ],
    [
      'invalid UTF-8 and stray percent signs in the path decode without throwing',
      'http://h/cgi-bin/app.cgi/%FF%zz%41',
      {},
      { PATH_INFO: '/\uFFFD%zzA' },
    ],
    [
      'a root mount puts the whole path in PATH_INFO (4.1.13)',
      'http://h/users/42?x=1',
      { scriptName: '' },
      { SCRIPT_NAME: '', PATH_INFO: '/users/42', QUERY_STRING: 'x=1' },
    ],
    [
      'a root mount sends the root path as PATH_INFO /',
      'http://h/',
      { scriptName: '' },
      { SCRIPT_NAME: '', PATH_INFO: '/', REQUEST_URI: '/' },
    ],
    [
      'https URL sets HTTPS=on, REQUEST_SCHEME and port 443',
      'https://example.com/cgi-bin/app.cgi',
      {},
      { HTTPS: 'on', REQUEST_SCHEME: 'https', SERVER_PORT: '443', SERVER_NAME: 'example.com' },
    ],
    [
      'the https option overrides the URL scheme',
      'http://example.com/cgi-bin/app.cgi',
      { https: true },
      { HTTPS: 'on', REQUEST_SCHEME: 'https', SERVER_PORT: '80' },
    ],
    [
      'an IPv6 host gives SERVER_NAME without brackets (4.1.14)',
      'http://[::1]:9000/cgi-bin/app.cgi',
      {},
      { SERVER_NAME: '::1', SERVER_PORT: '9000' },
    ],
    [
      'explicit server options win over the URL (4.1.14-4.1.17)',
      'http://h/cgi-bin/app.cgi',
      { serverName: 'www.example.org', serverPort: 8443, serverSoftware: 'test/1', serverProtocol: 'HTTP/1.0' },
      { SERVER_NAME: 'www.example.org', SERVER_PORT: '8443', SERVER_SOFTWARE: 'test/1', SERVER_PROTOCOL: 'HTTP/1.0' },
    ],
    [
      'extra variables are added and may override computed ones',
      'http://h/cgi-bin/app.cgi',
      { extra: { REDIRECT_STATUS: '200', SERVER_SOFTWARE: 'x' } },
      { REDIRECT_STATUS: '200', SERVER_SOFTWARE: 'x' },
    ],
    [
      'PATH_TRANSLATED is unset without PATH_INFO (4.1.6)',
      'http://h/cgi-bin/app.cgi',
      { documentRoot: '/srv' },
      { PATH_TRANSLATED: undefined, DOCUMENT_ROOT: '/srv' },
    ],
  ];
  for (const [title, url, options, expected] of urlRows) {
    test(title, () => {
      const env = envFor(url, {}, options);
      for (const [name, value] of Object.entries(expected)) {
        assert.equal(env[name], value, name);
      }
    });
  }

  test('content type and length become CONTENT_TYPE and CONTENT_LENGTH, not HTTP_* (4.1.2, 4.1.3)', () => {
    const env = envFor('http://h/cgi-bin/app.cgi', {
      method: 'POST',
      body: 'a=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '3' },
    });
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.CONTENT_TYPE, 'application/x-www-form-urlencoded');
    assert.equal(env.CONTENT_LENGTH, '3');
    assert.equal(env.HTTP_CONTENT_TYPE, undefined);
    assert.equal(env.HTTP_CONTENT_LENGTH, undefined);
  });

  test('repeated headers join with a comma, cookies with a semicolon (4.1.18)', () => {
    const headers = new Headers();
    headers.append('Cookie', 'a=1');
    headers.append('Cookie', 'b=2');
    headers.append('Accept', 'text/html');
    headers.append('Accept', 'text/plain');
    const env = envFor('http://h/cgi-bin/app.cgi', { headers });
    assert.equal(env.HTTP_COOKIE, 'a=1; b=2');
    assert.equal(env.HTTP_ACCEPT, 'text/html, text/plain');
  });

  test('nginx, busybox pass Proxy as HTTP_PROXY; requestToEnv never does (httpoxy)', () => {
    const env = envFor('http://h/cgi-bin/app.cgi', { headers: { Proxy: 'http://evil' } });
    assert.equal(env.HTTP_PROXY, undefined);
  });

  test('headers with underscores are dropped, as apache does, so they cannot pose as dashed ones', () => {
    const env = envFor('http://h/cgi-bin/app.cgi', { headers: { X_Forwarded_For: '6.6.6.6', 'X-Real-IP': '1.2.3.4' } });
    assert.equal(env.HTTP_X_FORWARDED_FOR, undefined);
    assert.equal(env.HTTP_X_REAL_IP, '1.2.3.4');
  });

  test('authorization is passed as HTTP_AUTHORIZATION, as apache with CGIPassAuth does', () => {
    const env = envFor('http://h/cgi-bin/app.cgi', { headers: { Authorization: 'Bearer t' } });
    assert.equal(env.HTTP_AUTHORIZATION, 'Bearer t');
    assert.equal(env.AUTH_TYPE, undefined);
  });

  test('throws when the path is not under SCRIPT_NAME', () => {
    assert.throws(
      () => envFor('http://h/other'),
      /request path "\/other" is not under SCRIPT_NAME "\/cgi-bin\/app.cgi"/,
    );
    assert.throws(() => envFor('http://h/cgi-bin/app.cgiX'), RangeError);
  });
});
