#!/usr/bin/env bash
# npm run bench: installs what the benchmark needs (Debian packages; needs root the first time),
# then runs bench/main.ts in a clean environment. Takes a few minutes; never run by CI.
# BENCH_QUICK=1 runs a short smoke version.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-servers.sh
bash bench/install-tools.sh

# NODE_OPTIONS and NODE_EXTRA_CA_CERTS each add milliseconds to every Node start, and web
# servers don't pass them to CGI scripts: run with nothing but a system PATH.
clean_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo "bench: running under env -i PATH=$clean_path (NODE_OPTIONS, NODE_EXTRA_CA_CERTS and the rest dropped)"
exec env -i PATH="$clean_path" HOME="${HOME:-/root}" BENCH_QUICK="${BENCH_QUICK:-}" \
  node --import tsx bench/main.ts
