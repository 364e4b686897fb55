#!/usr/bin/env bash
# The whole suite, as CI runs it: installs the real web servers when they are missing (Debian
# packages; needs root), then type check, lint, format check, build, and every test. Tests that
# need a server fail, never skip, when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# Web servers don't pass these to CGI scripts, and each costs ~30 ms per Node start.
unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
shopt -s globstar nullglob

bash scripts/install-servers.sh
bash scripts/install-runtimes.sh
echo '== type check' && npx tsc -p tsconfig.json --noEmit
echo '== lint' && npx oxlint --deny-warnings src tests bin bench examples scripts
echo '== format' && npx oxfmt --check
echo '== build' && npm run --silent build
echo '== tests'
node --import tsx --test --test-reporter=spec tests/**/*.test.ts
