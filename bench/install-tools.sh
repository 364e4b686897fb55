#!/usr/bin/env bash
# Installs what the benchmark runs besides Node and the web servers: the peer CGIs' runtimes
# (Go, Perl's Plack and CGI.pm, php-cgi, Python 3), the persistent-mode peers' (php-fpm), a C
# compiler, GNU time for peak RSS, the load generators wrk and ab, and curl. Debian packages only.
#
# Idempotent: when every file is already there it prints one line and exits 0.
set -euo pipefail

# One "package:file" pair per thing the benchmark executes or loads.
required=(
  wrk:/usr/bin/wrk
  time:/usr/bin/time
  gcc:/usr/bin/gcc
  libc6-dev:/usr/include/stdio.h
  golang-go:/usr/bin/go
  perl:/usr/bin/perl
  libplack-perl:/usr/share/perl5/Plack/Handler/CGI.pm
  libcgi-pm-perl:/usr/share/perl5/CGI.pm
  php-cgi:/usr/bin/php-cgi
  php-fpm:/usr/sbin/php-fpm*
  apache2-utils:/usr/bin/ab
  curl:/usr/bin/curl
  python3:/usr/bin/python3
)

missing=()
for entry in "${required[@]}"; do
  pkg=${entry%%:*}
  file=${entry#*:}
  # A pattern (php-fpm8.2 on Debian 12) matches any version.
  if ! compgen -G "$file" >/dev/null && [[ " ${missing[*]} " != *" $pkg "* ]]; then missing+=("$pkg"); fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-tools: all benchmark tools present, nothing to do"
  exit 0
fi
if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "install-tools: missing ${missing[*]}; install them as root: apt-get install ${missing[*]}" >&2
  exit 1
fi

# php-cgi's postinst may try to start services: forbid it, as scripts/install-servers.sh does.
policy=/usr/sbin/policy-rc.d
created_policy=false
trap '$created_policy && rm -f "$policy"' EXIT
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# temporary, from fetch-cgi bench/install-tools.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=true
fi

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y --no-install-recommends "${missing[@]}"; }
# Stale or absent package lists: update once and retry.
if ! install; then
  apt-get update
  install
fi
echo "install-tools: installed ${missing[*]}"
