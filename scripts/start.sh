#!/usr/bin/env bash
# The main job: build examples/hello into one executable CGI file and serve it locally.
set -euo pipefail
cd "$(dirname "$0")/.."
unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
[ -f dist/cli/main.js ] || npm run --silent build
mkdir -p .tmp
node bin/fetch-cgi.js build examples/hello/app.ts -o .tmp/hello.cgi
exec node bin/fetch-cgi.js serve .tmp/hello.cgi --host 127.0.0.1 --port "${PORT:-8080}"
