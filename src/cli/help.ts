/** Text of `fetch-cgi --help`. */
export const mainHelp = `Usage: fetch-cgi <command> [options]

Run fetch-style web apps (Hono, itty-router, (Request) => Response) as CGI scripts, or as
long-lived FastCGI and SCGI processes.

Commands:
  build <entry>            bundle an app into one executable script (CGI, FastCGI, SCGI)
  serve <script|entry>     run a local CGI/1.1 host for a script (builds an entry first)
  request <script|entry> <path>
                           run a script once for one request and print the response
  listen <script|entry> <address>
                           run a script as a FastCGI and SCGI process on an address

Options:
  -h, --help               show help (also: fetch-cgi <command> --help)
  -v, --version            print the version

Exit codes: 0 ok, 1 failure, 2 usage error, 3 malformed CGI response (request).
Docs: docs/cli.md
`;

/** Text of `fetch-cgi build --help`. */
export const buildHelp = `Usage: fetch-cgi build <entry> [options]

Bundle <entry> (.ts or .js) into one self-contained executable CGI script. The entry
either default-exports the app (a function, an object with fetch, a Hono app) or
calls serveCgi(app) itself.

Options:
  -o, --out <file>         output file (default: <entry name>.cgi in the current folder)
      --minify             minify the bundle
      --sourcemap          inline a source map; stack traces point at your source
      --no-code-cache      plain bundle, without the V8 code cache kept in the temp folder
      --runtime <name>     node (default), bun or deno: the shebang and bundle format
      --node <path>        absolute path of the runtime's binary for the shebang
                           (default: found on PATH through /usr/bin/env)
      --standalone         one native executable that needs no runtime on the host
                           (compiled by Bun, ~107 MiB; needs @oven/bun-linux-x64 or the
                           package of --target installed; see docs/deploy/standalone.md)
      --target <platform>  with --standalone: linux-x64 (default on x64), linux-arm64,
                           linux-x64-baseline, linux-x64-musl, linux-arm64-musl
  -h, --help               show this help
`;

/** Text of `fetch-cgi serve --help`. */
export const serveHelp = `Usage: fetch-cgi serve <script|entry> [options]

Serve a CGI script on a local HTTP server, one process per request, the way Apache or
lighttpd would. A .ts/.js/.mjs/.cjs/.tsx/.jsx entry is built to a temporary script first
and rebuilt when its files change.

Options:
  -p, --port <n>           port (default 8080; 0 picks a free one)
      --host <addr>        address to listen on (default 127.0.0.1)
      --mount <path>       SCRIPT_NAME, the URL path of the script (default: '' = site root)
      --timeout <seconds>  kill the script and answer 504 after this long (default 30; 0 = never)
  -e, --env <NAME=VALUE>   add a variable to the script's environment (repeatable)
      --no-build           run the file as a script even if it ends in .js or .ts
  -h, --help               show this help
`;

/** Text of `fetch-cgi request --help`. */
export const requestHelp = `Usage: fetch-cgi request <script|entry> [options] <path-and-query>

Run the script once for one request and print the response like curl -i: status line,
header fields, blank line, body (binary-safe). An entry is built to a temporary script first.

Options:
  -X, --request <method>   request method (default GET, or POST with data)
  -H, --header <line>      request header 'Name: value' (repeatable)
  -d, --data <data>        request body; @file reads a file, @- reads stdin
      --data-binary <data> same as --data
  -i, --include            print status line and header fields (the default)
      --no-include         print only the body
      --mount <path>       SCRIPT_NAME, the URL path of the script (default: '' = site root)
      --timeout <seconds>  kill the script after this long (default 30; 0 = never)
  -e, --env <NAME=VALUE>   add a variable to the script's environment (repeatable)
      --no-build           run the file as a script even if it ends in .js or .ts
  -h, --help               show this help

Exit codes: 0 any well-formed response (whatever its status), 1 the script could not be
built, started or finished in time, 2 usage error, 3 malformed CGI response.
`;

/** Text of `fetch-cgi listen --help`. */
export const listenHelp = `Usage: fetch-cgi listen <script|entry> <address> [options]

Bind <address> and run the script there as long-lived processes that serve FastCGI and SCGI
(the first byte of a connection tells them apart), for a web server's fastcgi_pass, scgi_pass
or ProxyPass, until SIGTERM or Ctrl-C; requests in flight finish first. The workers share the
socket; one that dies is replaced, and SIGHUP replaces them all gracefully (to load a new
build of the script). An entry is built to a temporary script first. The same settings work
without this command, as variables in one script's environment (FETCH_CGI_LISTEN=<address>,
FETCH_CGI_CONCURRENCY, ...).

Addresses:
  unix:/run/app.sock       a unix socket (mode 660 unless --socket-mode says otherwise)
  127.0.0.1:9000, [::1]:9000, 9000
                           TCP; a bare port binds 127.0.0.1 only
  fd:3                     a listening socket the process inherits

Options:
  -w, --workers <n>        processes sharing the socket (default: one per core)
      --concurrency <n>    requests served at once by each worker (default 64); more wait
      --max-requests <n>   replace a worker after this many requests, as php-fpm's pm.max_requests
      --idle-timeout <s>   end a worker after this many seconds without a request; the
                           command ends when the last one has
      --grace <s>          how long a stop waits for requests in flight (default 10)
      --socket-mode <mode> file mode of a unix socket, in octal (default 660)
  -e, --env <NAME=VALUE>   add a variable to the script's environment (repeatable)
      --no-build           run the file as a script even if it ends in .js or .ts
  -h, --help               show this help
`;
