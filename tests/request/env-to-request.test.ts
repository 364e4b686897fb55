import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CgiEnvError, envToRequest } from '../../src/index.js';
import { requestParts } from '../../src/request/env-to-request.js';
import type { CgiEnv } from '../../src/types.js';
import { cgiEnv, envDump } from '../helpers/envdump.js';

const url = (href: string) => new URL(href).href;

// [server and case, environment, expected URL, expected public prefix]
const urlCases: [string, CgiEnv, string, string][] = [
  [
    'apache event: direct, encoded path and query',
    envDump('apache-get'),
    url('http://127.0.0.1:18101/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  [
    'apache event: pretty URL rewritten onto the script',
    envDump('apache-pretty'),
    url('http://127.0.0.1:18101/a%20b/c?q=1&r=%2F'),
    '/pretty',
  ],
  ['apache event: bare pretty mount point', envDump('apache-pretty-root'), url('http://127.0.0.1:18101/'), '/pretty'],
  [
    'apache event: the script alone, PATH_INFO unset',
    envDump('apache-noinfo'),
    url('http://127.0.0.1:18101/'),
    '/cgi-bin/app.cgi',
  ],
  [
    'apache prefork: direct',
    envDump('apache-prefork-get'),
    url('http://127.0.0.1:18102/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  [
    'apache prefork: pretty URL',
    envDump('apache-prefork-pretty'),
    url('http://127.0.0.1:18102/a%20b/c?q=1&r=%2F'),
    '/pretty',
  ],
  ['lighttpd: direct', envDump('lighttpd-get'), url('http://127.0.0.1:18103/a%20b/c?q=1&r=%2F'), '/cgi-bin/app.cgi'],
  ['lighttpd: pretty URL', envDump('lighttpd-pretty'), url('http://127.0.0.1:18103/a%20b/c?q=1&r=%2F'), '/pretty'],
  [
    'lighttpd: %2F kept as one segment through REQUEST_URI',
    envDump('lighttpd-encslash'),
    url('http://127.0.0.1:18103/a%2Fb/c'),
    '/cgi-bin/app.cgi',
  ],
  [
    'apache with AllowEncodedSlashes NoDecode: %2F stays encoded in PATH_INFO',
    cgiEnv({ PATH_INFO: '/a%2Fb/c d', REQUEST_URI: '/cgi-bin/app.cgi/a%2Fb/c%20d' }),
    url('http://example.com/a%2Fb/c%20d'),
    '/cgi-bin/app.cgi',
  ],
  [
    'nginx+fcgiwrap: Debian fastcgi_params drop the port from HTTP_HOST',
    envDump('nginx-get'),
    url('http://127.0.0.1/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  ['nginx+fcgiwrap: pretty URL', envDump('nginx-pretty'), url('http://127.0.0.1/a%20b/c?q=1&r=%2F'), '/pretty'],
  [
    'nginx+fcgiwrap: %2F kept as one segment',
    envDump('nginx-encslash'),
    url('http://127.0.0.1/a%2Fb/c'),
    '/cgi-bin/app.cgi',
  ],
  ['nginx+fcgiwrap: empty PATH_INFO', envDump('nginx-noinfo'), url('http://127.0.0.1/'), '/cgi-bin/app.cgi'],
  [
    'busybox httpd: decoded REQUEST_URI is not trusted as raw',
    envDump('busybox-get'),
    url('http://127.0.0.1:18105/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  ['busybox httpd: empty PATH_INFO', envDump('busybox-noinfo'), url('http://127.0.0.1:18105/'), '/cgi-bin/app.cgi'],
  [
    'mini_httpd: no REQUEST_URI',
    envDump('mini_httpd-get'),
    url('http://127.0.0.1:18106/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  [
    'mini_httpd: no HTTP_HOST, SERVER_NAME carries the port',
    cgiEnv({ ...envDump('mini_httpd-get'), HTTP_HOST: undefined }),
    url('http://127.0.0.1:18106/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  [
    'python http.server: no HTTP_HOST, SERVER_NAME and SERVER_PORT',
    envDump('python-get'),
    url('http://localhost:18107/a%20b/c?q=1&r=%2F'),
    '/cgi-bin/app.cgi',
  ],
  [
    'apache .htaccess: every URL rewritten onto app.cgi in the document root',
    cgiEnv({ SCRIPT_NAME: '/app.cgi', PATH_INFO: undefined, REQUEST_URI: '/users/42?x=1', QUERY_STRING: 'x=1' }),
    url('http://example.com/users/42?x=1'),
    '',
  ],
  [
    'apache .htaccess: rewritten onto app.cgi in a folder, %2F kept',
    cgiEnv({ SCRIPT_NAME: '/blog/app.cgi', PATH_INFO: undefined, REQUEST_URI: '/blog/posts/a%2Fb' }),
    url('http://example.com/posts/a%2Fb'),
    '/blog',
  ],
  [
    'apache: the script as the DirectoryIndex of its folder',
    cgiEnv({ SCRIPT_NAME: '/cgi-bin/app.cgi', PATH_INFO: undefined, REQUEST_URI: '/cgi-bin/' }),
    url('http://example.com/'),
    '/cgi-bin',
  ],
  [
    'IIS: PATH_INFO repeats SCRIPT_NAME',
    cgiEnv({ SCRIPT_NAME: '/app.cgi', PATH_INFO: '/app.cgi/users/42', REQUEST_URI: '/app.cgi/users/42' }),
    url('http://example.com/users/42'),
    '/app.cgi',
  ],
  [
    'lighttpd without REQUEST_URI: PATH_INFO repeats SCRIPT_NAME',
    cgiEnv({ PATH_INFO: '/cgi-bin/app.cgi/x', REQUEST_URI: undefined }),
    url('http://example.com/x'),
    '/cgi-bin/app.cgi',
  ],
  [
    'a client that really asked for the script name twice',
    cgiEnv({ PATH_INFO: '/cgi-bin/app.cgi/x', REQUEST_URI: '/cgi-bin/app.cgi/cgi-bin/app.cgi/x' }),
    url('http://example.com/cgi-bin/app.cgi/x'),
    '/cgi-bin/app.cgi',
  ],
  [
    'script mapped at the site root (SCRIPT_NAME /)',
    cgiEnv({ SCRIPT_NAME: '/', PATH_INFO: '/users', REQUEST_URI: '/users' }),
    url('http://example.com/users'),
    '',
  ],
  [
    'rewrite of the whole site onto the script',
    cgiEnv({ PATH_INFO: '/users/42', REQUEST_URI: '/users/42?x=1', QUERY_STRING: 'x=1' }),
    url('http://example.com/users/42?x=1'),
    '',
  ],
  [
    'server that merged slashes: PATH_INFO reaches the app as the server sent it',
    cgiEnv({ PATH_INFO: '/a/b', REQUEST_URI: '/cgi-bin/app.cgi/a//b' }),
    url('http://example.com/a/b'),
    '/cgi-bin/app.cgi',
  ],
  [
    'double slashes in PATH_INFO reach the app',
    cgiEnv({ PATH_INFO: '/a//b', REQUEST_URI: undefined }),
    'http://example.com/a//b',
    '/cgi-bin/app.cgi',
  ],
  // A WHATWG URL cannot hold dot segments; env.PATH_INFO still has them as sent.
  [
    'dot segments in PATH_INFO are resolved as every fetch server resolves them',
    cgiEnv({ PATH_INFO: '/a/../b', REQUEST_URI: undefined }),
    'http://example.com/b',
    '/cgi-bin/app.cgi',
  ],
  [
    'absolute-form REQUEST_URI',
    cgiEnv({ PATH_INFO: '/x', REQUEST_URI: 'http://example.com/cgi-bin/app.cgi/x' }),
    url('http://example.com/x'),
    '/cgi-bin/app.cgi',
  ],
  [
    'query string kept exactly, even invalid escapes',
    cgiEnv({ QUERY_STRING: 'a=%zz&b=%2F&c=+' }),
    'http://example.com/?a=%zz&b=%2F&c=+',
    '/cgi-bin/app.cgi',
  ],
  [
    'a # in QUERY_STRING is not a fragment',
    cgiEnv({ QUERY_STRING: 'a=1#b' }),
    'http://example.com/?a=1%23b',
    '/cgi-bin/app.cgi',
  ],
  ['Apache 2.2 HTTPS=ON', cgiEnv({ HTTPS: 'ON' }), url('https://example.com/'), '/cgi-bin/app.cgi'],
  ['REQUEST_SCHEME https', cgiEnv({ REQUEST_SCHEME: 'https' }), url('https://example.com/'), '/cgi-bin/app.cgi'],
  [
    'port 443 without HTTPS',
    cgiEnv({ HTTP_HOST: undefined, SERVER_PORT: '443' }),
    url('https://example.com/'),
    '/cgi-bin/app.cgi',
  ],
  ['HTTPS=off stays http', cgiEnv({ HTTPS: 'off' }), url('http://example.com/'), '/cgi-bin/app.cgi'],
  [
    'non-default SERVER_PORT without HTTP_HOST',
    cgiEnv({ HTTP_HOST: undefined, SERVER_PORT: '8080' }),
    url('http://example.com:8080/'),
    '/cgi-bin/app.cgi',
  ],
  [
    'IPv6 SERVER_NAME without brackets',
    cgiEnv({ HTTP_HOST: undefined, SERVER_NAME: '::1', SERVER_PORT: '8080' }),
    url('http://[::1]:8080/'),
    '/cgi-bin/app.cgi',
  ],
  [
    'neither HTTP_HOST nor SERVER_NAME',
    cgiEnv({ HTTP_HOST: undefined, SERVER_NAME: undefined }),
    url('http://localhost/'),
    '/cgi-bin/app.cgi',
  ],
  [
    'non-ASCII path from PATH_INFO',
    cgiEnv({ PATH_INFO: '/café', REQUEST_URI: '/cgi-bin/app.cgi/caf%C3%A9' }),
    url('http://example.com/caf%C3%A9'),
    '/cgi-bin/app.cgi',
  ],
];

describe('envToRequest: URL (RFC 3875 sections 4.1.5, 4.1.7, 4.1.13)', () => {
  for (const [name, env, expectedUrl, expectedBase] of urlCases) {
    test(name, () => {
      const parts = requestParts(env);
      assert.equal(parts.url, expectedUrl);
      assert.equal(parts.base, expectedBase);
      assert.equal(envToRequest(env).url, expectedUrl);
    });
  }

  test('stripBase false hands the app the public URL', () => {
    assert.equal(
      requestParts(envDump('apache-pretty'), { stripBase: false }).url,
      url('http://127.0.0.1:18101/pretty/a%20b/c?q=1&r=%2F'),
    );
    assert.equal(
      requestParts(envDump('nginx-encslash'), { stripBase: false }).url,
      url('http://127.0.0.1/cgi-bin/app.cgi/a%2Fb/c'),
    );
    assert.equal(
      requestParts(envDump('mini_httpd-get'), { stripBase: false }).url,
      url('http://127.0.0.1:18106/cgi-bin/app.cgi/a%20b/c?q=1&r=%2F'),
    );
  });
});

describe('envToRequest: headers (RFC 3875 section 4.1.18)', () => {
  test('apache: HTTP_* become headers, Authorization with CGIPassAuth', () => {
    const request = envToRequest(envDump('apache-headers'));
    assert.equal(request.headers.get('x-foo'), 'bar');
    assert.equal(request.headers.get('authorization'), 'Bearer secret-token');
    assert.equal(request.headers.get('cookie'), 'a=1, b=2');
    assert.equal(request.headers.get('host'), '127.0.0.1:18101');
  });

  for (const server of ['nginx', 'busybox']) {
    test(`${server}: a client Proxy header (HTTP_PROXY) is dropped (httpoxy)`, () => {
      const env = envDump(`${server}-proxy`);
      assert.equal(env.HTTP_PROXY, 'http://evil');
      assert.equal(envToRequest(env).headers.get('proxy'), null);
    });
  }

  test('CONTENT_TYPE and CONTENT_LENGTH become headers; HTTP_CONTENT_* never override them', () => {
    const env = cgiEnv({
      REQUEST_METHOD: 'POST',
      CONTENT_TYPE: 'application/json',
      CONTENT_LENGTH: '2',
      HTTP_CONTENT_TYPE: 'text/evil',
      HTTP_CONTENT_LENGTH: '999',
    });
    const request = envToRequest(env, { input: [Buffer.from('{}')] });
    assert.equal(request.headers.get('content-type'), 'application/json');
    assert.equal(request.headers.get('content-length'), '2');
  });

  test('values the Headers class would reject are left out instead of throwing', () => {
    const env = cgiEnv({
      HTTP_X_EURO: '€ price',
      HTTP_X_CTRL: 'a\u0001b',
      HTTP_X_LF: 'a\nb',
      'HTTP_X_BAD NAME': 'v',
      HTTP_X_OK: 'fine',
    });
    const request = envToRequest(env);
    assert.equal(request.headers.get('x-ctrl'), null);
    assert.equal(request.headers.get('x-lf'), null);
    assert.equal(request.headers.get('x-ok'), 'fine');
    // The UTF-8 bytes the client sent, as node:http would show them (latin1).
    assert.equal(request.headers.get('x-euro'), Buffer.from('€ price').toString('latin1'));
  });

  test('apache .htaccess: Authorization passed by a rewrite arrives as REDIRECT_HTTP_AUTHORIZATION', () => {
    assert.equal(
      envToRequest(cgiEnv({ REDIRECT_HTTP_AUTHORIZATION: 'Basic dTpw' })).headers.get('authorization'),
      'Basic dTpw',
    );
    assert.equal(envToRequest(cgiEnv({ REDIRECT_HTTP_AUTHORIZATION: '' })).headers.has('authorization'), false);
    const both = cgiEnv({ HTTP_AUTHORIZATION: 'Bearer real', REDIRECT_HTTP_AUTHORIZATION: 'Basic old' });
    assert.equal(envToRequest(both).headers.get('authorization'), 'Bearer real');
  });

  test('python http.server: an empty HTTP_COOKIE is no Cookie header', () => {
    assert.equal(envToRequest(envDump('python-get')).headers.has('cookie'), false);
  });
});

describe('envToRequest: method and protocol', () => {
  const methods: [string, string, string][] = [
    ['lower-case get is normalised as the fetch standard does', 'get', 'GET'],
    ['lower-case post', 'post', 'POST'],
    ['PATCH', 'PATCH', 'PATCH'],
    ['an extension method', 'PROPFIND', 'PROPFIND'],
  ];
  for (const [name, sent, expected] of methods) {
    test(name, () => assert.equal(envToRequest(cgiEnv({ REQUEST_METHOD: sent })).method, expected));
  }

  for (const protocol of ['HTTP/2', 'HTTP/3', 'INCLUDED', 'HTTP/0.9', 'nonsense']) {
    test(`SERVER_PROTOCOL ${protocol} does not stop the request`, () => {
      assert.equal(envToRequest(cgiEnv({ SERVER_PROTOCOL: protocol })).method, 'GET');
    });
  }

  const refused: [string, CgiEnv, string, number][] = [
    ['TRACE cannot be represented by the fetch API: 501', cgiEnv({ REQUEST_METHOD: 'TRACE' }), 'REQUEST_METHOD', 501],
    ['lower-case connect: 501', cgiEnv({ REQUEST_METHOD: 'connect' }), 'REQUEST_METHOD', 501],
    ['a method that is not a token: 400', cgiEnv({ REQUEST_METHOD: 'GE T' }), 'REQUEST_METHOD', 400],
    ['no REQUEST_METHOD under GATEWAY_INTERFACE: 400', cgiEnv({ REQUEST_METHOD: undefined }), 'REQUEST_METHOD', 400],
    ['an HTTP_HOST with a path in it: 400', cgiEnv({ HTTP_HOST: 'evil.com/x' }), 'HTTP_HOST', 400],
    ['an HTTP_HOST with userinfo: 400', cgiEnv({ HTTP_HOST: 'a@evil.com' }), 'HTTP_HOST', 400],
    [
      'a SERVER_PORT that is not a number: 400',
      cgiEnv({ HTTP_HOST: undefined, SERVER_PORT: 'http' }),
      'SERVER_PORT',
      400,
    ],
  ];
  for (const [name, env, variable, status] of refused) {
    test(name, () => {
      assert.throws(
        () => envToRequest(env),
        (error: unknown) =>
          error instanceof CgiEnvError &&
          error.variable === variable &&
          error.status === status &&
          error.message.includes(variable) &&
          error.message.includes(JSON.stringify(env[variable] ?? '')),
      );
    });
  }
});

describe('envToRequest: body length (RFC 3875 section 4.2)', () => {
  const lengths: [string, CgiEnv, number | 'eof' | undefined][] = [
    ['apache: POST with CONTENT_LENGTH', envDump('apache-post'), 15],
    ['lighttpd: chunked upload buffered, CONTENT_LENGTH set', envDump('lighttpd-chunked'), 1048576],
    ['nginx+fcgiwrap: chunked upload buffered, CONTENT_LENGTH set', envDump('nginx-chunked'), 1048576],
    ['apache: de-chunked upload without CONTENT_LENGTH is read to EOF', envDump('apache-chunked'), 'eof'],
    ['busybox httpd: PUT with only HTTP_CONTENT_LENGTH', envDump('busybox-put'), 8],
    ['mini_httpd: chunked upload, stdin is the socket: nothing is read', envDump('mini_httpd-chunked'), undefined],
    ['python http.server: CONTENT_LENGTH empty: nothing is read', envDump('python-chunked'), undefined],
    ['GET never has a body, whatever CONTENT_LENGTH says', cgiEnv({ CONTENT_LENGTH: '5' }), undefined],
    ['HEAD never has a body', cgiEnv({ REQUEST_METHOD: 'HEAD', CONTENT_LENGTH: '5' }), undefined],
    ['DELETE with a body', cgiEnv({ REQUEST_METHOD: 'DELETE', CONTENT_LENGTH: '3' }), 3],
    [
      'CONTENT_LENGTH wins over a conflicting HTTP_CONTENT_LENGTH',
      cgiEnv({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '3', HTTP_CONTENT_LENGTH: '900' }),
      3,
    ],
    [
      'CONTENT_LENGTH wins over HTTP_TRANSFER_ENCODING chunked',
      cgiEnv({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '3', HTTP_TRANSFER_ENCODING: 'chunked' }),
      3,
    ],
    [
      'a transfer coding other than chunked last is not read to EOF',
      cgiEnv({ REQUEST_METHOD: 'POST', HTTP_TRANSFER_ENCODING: 'chunked, gzip' }),
      undefined,
    ],
  ];
  for (const [name, env, expected] of lengths) {
    test(name, () => assert.equal(requestParts(env).bodyLength, expected));
  }

  for (const bad of ['abc', '-1', '1.5', ' 5', '5 ', '0x10', '1e3']) {
    test(`malformed CONTENT_LENGTH ${JSON.stringify(bad)} is a 400 naming it`, () => {
      assert.throws(
        () => requestParts(cgiEnv({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: bad })),
        (error: unknown) =>
          error instanceof CgiEnvError &&
          error.status === 400 &&
          error.message.includes(`CONTENT_LENGTH in environment: ${JSON.stringify(bad)}`),
      );
    });
  }

  test('a body over maxBodySize is a 413 before anything is read', () => {
    assert.throws(
      () => requestParts(cgiEnv({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '1001' }), { maxBodySize: 1000 }),
      (error: unknown) => error instanceof CgiEnvError && error.status === 413,
    );
    assert.equal(
      requestParts(cgiEnv({ REQUEST_METHOD: 'POST', CONTENT_LENGTH: '1000' }), { maxBodySize: 1000 }).bodyLength,
      1000,
    );
  });
});
