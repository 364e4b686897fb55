import { join } from 'node:path';
import { tempDir, writeScript } from './helpers.js';

/** Hand-written CGI scripts, in a fresh temporary folder; returns their paths. */
export function writeFixtures() {
  const dir = tempDir('fetch-cgi-fixtures-');
  const script = (name: string, text: string) => writeScript(join(dir, name), text);
  return {
    dir,
    /** Status 201, two cookies, then method, PATH_INFO, QUERY_STRING and the request body. */
    ok: script(
      'ok.cgi',
      `#!/bin/sh
printf 'Status: 201 Created\\r\\nContent-Type: text/plain\\r\\nSet-Cookie: a=1\\r\\nSet-Cookie: b=2\\r\\n\\r\\n'
printf '%s %s %s body=' "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING"
cat
echo "ok.cgi says hello on stderr" >&2
`,
    ),
    /** The CGI environment as JSON. */
    env: script(
      'env.cgi',
      `#!/usr/bin/env node
process.stdout.write('Content-Type: application/json\\n\\n' + JSON.stringify({ ...process.env, CWD: process.cwd() }));
`,
    ),
    /** Not a CGI response at all. */
    bad: script('bad.cgi', `#!/bin/sh\necho 'this is not a header'\n`),
    /** No output, exit 1. */
    silent: script('silent.cgi', `#!/bin/sh\nexit 1\n`),
    /** Never answers. */
    slow: script('slow.cgi', `#!/bin/sh\nsleep 20\n`),
    /** Headers and a first line at once, the second line a second later. */
    stream: script(
      'stream.cgi',
      `#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfirst\\n'\nsleep 1\nprintf 'second\\n'\n`,
    ),
    /** /start is a local redirect to /target?x=1; anything else shows how it was reached. */
    redirect: script(
      'redirect.cgi',
      `#!/bin/sh
if [ "$PATH_INFO" = /start ]; then printf 'Location: /target?x=1\\n\\n'; exit 0; fi
if [ "$PATH_INFO" = /loop ]; then printf 'Location: /loop\\n\\n'; exit 0; fi
if [ "$PATH_INFO" = /away ]; then printf 'Location: /elsewhere\\n\\n'; exit 0; fi
printf 'Content-Type: text/plain\\n\\n%s %s %s %s %s' "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING" "$REDIRECT_STATUS" "$REDIRECT_URL"
`,
    ),
    /** A non-parsed-header script: its own status line. */
    nph: script(
      'nph-raw.cgi',
      `#!/bin/sh\nprintf 'HTTP/1.1 299 Custom\\r\\nX-Nph: yes\\r\\nContent-Length: 3\\r\\n\\r\\nraw'\n`,
    ),
  };
}
