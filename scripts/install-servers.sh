#!/usr/bin/env bash
# Installs the real web servers that tests/servers/ drives: Apache (mpm_event + mod_cgid,
# mpm_prefork + mod_cgi, mod_proxy_fcgi, mod_proxy_scgi, mod_fcgid), lighttpd (mod_cgi,
# mod_fastcgi, mod_scgi), nginx (+ fcgiwrap for CGI), busybox httpd, mini_httpd and
# spawn-fcgi, plus curl for manual checks, and for the many-hosts test iproute2 (network
# namespaces and veth links) and systemd's systemd-socket-activate (nothing of systemd runs),
# and qemu-user with arm64's C library, which run a standalone build made for linux-arm64.
#
# Idempotent: when every binary is already there it prints one line and exits 0.
# Debian/Ubuntu only (apt-get). Never starts a service: the tests start private
# instances themselves, on loopback, with configurations of their own.
set -euo pipefail

packages=(apache2 libapache2-mod-fcgid lighttpd nginx fcgiwrap busybox mini-httpd spawn-fcgi curl iproute2 systemd
  qemu-user libc6-arm64-cross)

# One "package:file" pair per thing the harness executes or loads. The Apache MPM and
# CGI modules are checked one by one because a private config loads them by path.
required=(
  apache2:/usr/sbin/apache2
  apache2:/usr/lib/apache2/modules/mod_mpm_event.so
  apache2:/usr/lib/apache2/modules/mod_mpm_prefork.so
  apache2:/usr/lib/apache2/modules/mod_cgid.so
  apache2:/usr/lib/apache2/modules/mod_cgi.so
  apache2:/usr/lib/apache2/modules/mod_rewrite.so
  apache2:/usr/lib/apache2/modules/mod_proxy_fcgi.so
  apache2:/usr/lib/apache2/modules/mod_proxy_scgi.so
  libapache2-mod-fcgid:/usr/lib/apache2/modules/mod_fcgid.so
  lighttpd:/usr/sbin/lighttpd
  lighttpd:/usr/lib/lighttpd/mod_cgi.so
  nginx:/usr/sbin/nginx
  fcgiwrap:/usr/sbin/fcgiwrap
  spawn-fcgi:/usr/bin/spawn-fcgi
  busybox:/bin/busybox
  mini-httpd:/usr/sbin/mini_httpd
  curl:/usr/bin/curl
  iproute2:/bin/ip
  systemd:/usr/bin/systemd-socket-activate
  qemu-user:/usr/bin/qemu-aarch64
  libc6-arm64-cross:/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1
)

missing_packages() {
  local entry pkg file seen=' '
  for entry in "${required[@]}"; do
    pkg=${entry%%:*}
    file=${entry#*:}
    if [[ ! -e $file && $seen != *" $pkg "* ]]; then
      seen+="$pkg "
      printf '%s\n' "$pkg"
    fi
  done
}

# The CGI scripts run as www-data on every set-up (Apache refuses to run them as root).
ensure_www_data() {
  if id -u www-data >/dev/null 2>&1; then return; fi
  if [[ $EUID -ne 0 ]]; then
    echo "install-servers: user www-data does not exist; create it as root (useradd --system www-data)" >&2
    exit 1
  fi
  groupadd --system www-data 2>/dev/null || true
  useradd --system --gid www-data --home-dir /var/www --shell /usr/sbin/nologin www-data
  echo "install-servers: created user www-data"
}

mapfile -t missing < <(missing_packages)

if [[ ${#missing[@]} -eq 0 ]] && busybox --list 2>/dev/null | grep -x httpd >/dev/null; then
  ensure_www_data
  echo "install-servers: all server binaries present, nothing to do"
  exit 0
fi
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-servers: /bin/busybox has no httpd applet; install Debian's busybox package (apt-get install busybox)" >&2
  exit 1
fi

if [[ $EUID -ne 0 ]]; then
  echo "install-servers: missing ${missing[*]}; run as root, or install them yourself:" >&2
  echo "  apt-get install -y --no-install-recommends ${packages[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "install-servers: no apt-get; install these by hand: ${missing[*]}" >&2
  exit 1
fi

# Debian's postinst scripts start apache2, nginx, lighttpd and mini-httpd through
# invoke-rc.d; a policy-rc.d that exits 101 forbids that. Keep an existing one.
policy=/usr/sbin/policy-rc.d
created_policy=false
remove_policy() {
  if $created_policy; then rm -f "$policy"; fi
}
trap remove_policy EXIT
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# temporary, from fetch-cgi scripts/install-servers.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=true
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only when apt does not know a candidate for a package.
has_candidates() {
  local pkg
  for pkg in "${missing[@]}"; do
    apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]' || return 1
  done
}
install() {
  apt-get install -y --no-install-recommends "${packages[@]}"
}

updated=false
if ! has_candidates; then
  apt-get update
  updated=true
fi
# Lists that are present but stale point at files the mirror no longer has: update, retry.
if ! install; then
  if $updated; then exit 1; fi
  apt-get update
  install
fi

mapfile -t still_missing < <(missing_packages)
if [[ ${#still_missing[@]} -ne 0 ]]; then
  echo "install-servers: still missing after apt-get install: ${still_missing[*]}" >&2
  exit 1
fi
ensure_www_data
echo "install-servers: installed ${packages[*]}"
