import { bunPath } from './paths.js';
import type { Built } from './prepare.js';

/** One process start-up the benchmark times: a CGI answering one GET. */
export interface StartupVariant {
  name: string;
  argv: string[];
  /** PATH_INFO of the request. */
  pathInfo: string;
  /** Variables added to the CGI environment (php-cgi finds its script through SCRIPT_FILENAME). */
  extraEnv?: Record<string, string>;
  /** A request body on stdin (a pipe holding it, as a server leaves it), else stdin is /dev/null. */
  body?: string;
  /** A string the output must contain, proving the app answered; '' for non-CGI baselines. */
  expect: string;
  /** The ratio to `node -e 0` issue 5 measured, for comparison. */
  issueRatio?: number;
  maxRatio?: number;
  /** The name of a variant of the same run whose median this one's must not exceed. */
  notSlowerThan?: string;
  maxRssMiB?: number;
}

/** The baseline every ratio is relative to, timed in the same interleaved run as every other row. */
export const BASELINE = 'node -e 0';

/** Every row of issue 5's start-up table and its peers, in the order they are reported. */
export function startupVariants(built: Built): StartupVariant[] {
  const hello = '/hello';
  // A record page every route-heavy app has: section 200 exists in the 250- and 500-section apps.
  const page = '/r200/42';
  // A form handler or webhook: a small JSON body in, the same out.
  const json = '{"name":"Ada","tags":["cgi","json"],"count":3}';
  const jsonPost = {
    pathInfo: '/echo',
    extraEnv: { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'application/json', CONTENT_LENGTH: String(json.length) },
    body: json,
    expect: json,
  };
  return [
    { name: BASELINE, argv: ['node', '-e', '0'], pathInfo: hello, expect: '', issueRatio: 1 },
    { name: 'C hello-world CGI', argv: [built.c], pathInfo: hello, expect: 'Hello', issueRatio: 0.05 },
    {
      name: 'python3 -c pass',
      argv: ['/usr/bin/python3', '-c', 'pass'],
      pathInfo: hello,
      expect: '',
      issueRatio: 0.45,
    },
    {
      name: 'hand-written Node CGI (no Request/Response)',
      argv: [built.nodeHandwritten],
      pathInfo: hello,
      expect: 'Hello',
      issueRatio: 1.12,
    },
    {
      name: 'Hono hello, fetch-cgi build',
      argv: [built.honoHello],
      pathInfo: hello,
      expect: 'Hello',
      maxRatio: 1.2,
      maxRssMiB: 42,
    },
    {
      name: 'Hono JSON POST echo, fetch-cgi build',
      argv: [built.honoJson],
      ...jsonPost,
    },
    {
      name: 'Hono 500 routes + JSX, fetch-cgi build',
      argv: [built.hono500],
      pathInfo: page,
      expect: 'Section 200, record 42',
      maxRatio: 1.8,
    },
    {
      name: 'Hono 500 routes + JSX on hono/quick, fetch-cgi build',
      argv: [built.hono500Quick],
      pathInfo: page,
      expect: 'Section 200, record 42',
    },
    {
      name: 'Hono 1,001 routes + JSX, fetch-cgi build',
      argv: [built.hono1000],
      pathInfo: page,
      expect: 'Section 200, record 42',
    },
    {
      // Issue 17: code that grows with its pages (~4,500 lines), GET / rendering 100 links.
      name: 'Hono 500 pages, each its own JSX component, fetch-cgi build',
      argv: [built.honoPages],
      pathInfo: '/',
      expect: '<h1>500 pages</h1>',
    },
    {
      name: 'Hono 500 pages, fetch-cgi build --runtime bun',
      argv: [bunPath, built.honoPagesForBun],
      pathInfo: '/',
      expect: '<h1>500 pages</h1>',
    },
    {
      // Issue 17: one native file (Bun inside, bytecode compiled at build time), no runtime needed.
      name: 'Hono hello, fetch-cgi build --standalone',
      argv: [built.honoHelloStandalone],
      pathInfo: hello,
      expect: 'Hello',
      notSlowerThan: 'Hono hello, fetch-cgi build',
    },
    {
      name: 'Hono 500 pages, fetch-cgi build --standalone',
      argv: [built.honoPagesStandalone],
      pathInfo: '/',
      expect: '<h1>500 pages</h1>',
      maxRatio: 1.5,
      notSlowerThan: 'Hono 500 pages, each its own JSX component, fetch-cgi build',
    },
    {
      name: 'Hono 500 routes + JSX, fetch-cgi build --standalone',
      argv: [built.hono500Standalone],
      pathInfo: page,
      expect: 'Section 200, record 42',
      notSlowerThan: 'Hono 500 routes + JSX, fetch-cgi build',
    },
    {
      name: 'Hono hello, fetch-cgi build, under Bun',
      argv: [bunPath, built.honoHelloForBun],
      pathInfo: hello,
      expect: 'Hello',
      maxRatio: 0.8,
    },
    {
      name: 'Hono hello, naive bridge, esbuild CJS bundle',
      argv: [built.naiveHelloCjs],
      pathInfo: hello,
      expect: 'Hello',
      issueRatio: 2.2,
    },
    {
      name: 'Hono hello, naive bridge, ESM from node_modules',
      argv: ['node', built.naiveHelloEsm],
      pathInfo: hello,
      expect: 'Hello',
      issueRatio: 3.0,
    },
    {
      name: 'Hono hello, naive bridge, tsx app.ts',
      argv: [built.tsx, built.naiveHelloTs],
      pathInfo: hello,
      expect: 'Hello',
      issueRatio: 11,
    },
    {
      name: 'Hono JSON POST echo, naive bridge, esbuild CJS bundle',
      argv: [built.naiveJsonCjs],
      ...jsonPost,
    },
    {
      name: 'Hono 500 routes + JSX, naive bridge, esbuild CJS bundle',
      argv: [built.naive500Cjs],
      pathInfo: page,
      expect: 'Section 200, record 42',
      issueRatio: 4.1,
    },
    {
      name: 'Hono hello, naive bridge, under Bun',
      argv: [bunPath, built.naiveHelloForBun],
      pathInfo: hello,
      expect: 'Hello',
      issueRatio: 0.99,
    },
    { name: 'Go net/http/cgi', argv: [built.go], pathInfo: hello, expect: 'Hello', issueRatio: 0.07 },
    { name: 'Perl Plack::Handler::CGI', argv: [built.plack], pathInfo: hello, expect: 'Hello', issueRatio: 0.37 },
    { name: 'Perl CGI.pm', argv: [built.cgiPm], pathInfo: hello, expect: 'Hello', issueRatio: 0.73 },
    { name: 'Python wsgiref CGIHandler', argv: [built.wsgiref], pathInfo: hello, expect: 'Hello', issueRatio: 0.73 },
    { name: 'Python hand-written CGI', argv: [built.pythonHandwritten], pathInfo: hello, expect: 'Hello' },
    {
      name: 'PHP php-cgi',
      argv: ['/usr/bin/php-cgi'],
      pathInfo: hello,
      extraEnv: { SCRIPT_FILENAME: built.php },
      expect: 'Hello',
      issueRatio: 0.86,
    },
  ];
}
