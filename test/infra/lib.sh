# shellcheck shell=bash
# Shared helpers for test/infra/*.sh. Sourced, never run on its own.

# Where our own state lives (pid files, chosen dockerd flags, registry data).
DEVLOOP_INFRA_STATE=${DEVLOOP_INFRA_STATE:-/var/lib/devloop-infra}
DEVLOOP_DOCKERD_PIDFILE=${DEVLOOP_DOCKERD_PIDFILE:-/var/run/devloop-dockerd.pid}
DEVLOOP_DOCKERD_LOG=${DEVLOOP_DOCKERD_LOG:-/var/log/devloop-dockerd.log}
DEVLOOP_REGISTRY_DIR=${DEVLOOP_REGISTRY_DIR:-/var/lib/devloop-registry}
DEVLOOP_REGISTRY_ADDR=${DEVLOOP_REGISTRY_ADDR:-127.0.0.1:5001}
DEVLOOP_REGISTRY_LOG=${DEVLOOP_REGISTRY_LOG:-/var/log/devloop-registry.log}

# sbin is not on every PATH (e.g. CI environments that strip it).
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
export PATH

_infra_tag=${_infra_tag:-infra}
log()  { printf '[%s] %s\n' "$_infra_tag" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$_infra_tag" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$_infra_tag" "$*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
}

# apt_install PKG...: installs the packages that are not installed yet.
# Runs `apt-get update` only when the package lists do not know a package, or when an
# install from the existing lists fails (stale lists pointing at removed versions).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  local aptopts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local known=1
  for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || known=0
  done
  if [ "$known" -eq 0 ]; then
    log "apt-get update (package lists do not know: ${missing[*]})"
    apt-get update -q >/dev/null || die "apt-get update failed"
  fi
  log "apt-get install ${missing[*]}"
  if ! apt-get install "${aptopts[@]}" "${missing[@]}" >/tmp/devloop-apt.log 2>&1; then
    if [ "$known" -eq 1 ]; then
      log "install failed from existing lists; running apt-get update and retrying"
      apt-get update -q >/dev/null || die "apt-get update failed"
      apt-get install "${aptopts[@]}" "${missing[@]}" >/tmp/devloop-apt.log 2>&1 \
        || { tail -20 /tmp/devloop-apt.log >&2; die "apt-get install ${missing[*]} failed"; }
    else
      tail -20 /tmp/devloop-apt.log >&2; die "apt-get install ${missing[*]} failed"
    fi
  fi
}

# apt_install_no_start PKG...: apt_install, with a policy-rc.d (unless one exists) so that no
# service the packages ship starts during the install: the tests start what they need themselves.
apt_install_no_start() {
  local policy=/usr/sbin/policy-rc.d own=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# devloop test/infra (%s): no service starts during the install\nexit 101\n' "$_infra_tag" >"$policy"
    chmod 755 "$policy"
    own=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_install "$@"
  if [ "$own" -eq 1 ]; then rm -f "$policy"; trap - EXIT; fi
}

# alive PID: true when PID is a running process (a zombie does not count).
alive() {
  local st
  [[ "${1:-}" =~ ^[0-9]+$ ]] || return 1
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$st" ] && [[ "$st" != Z* ]]
}

# running PROCNAME: pids of live (non-zombie) processes with that exact name.
running() { ps -C "$1" -o pid=,stat= 2>/dev/null | awk '$2 !~ /^Z/ {print $1}'; }

# pid_alive PIDFILE: true when the file names a running process.
pid_alive() {
  [ -s "$1" ] || return 1
  alive "$(cat "$1" 2>/dev/null)"
}

# stop_pidfile PIDFILE NAME [TIMEOUT]: TERM the process, wait, KILL if needed, remove the file.
stop_pidfile() {
  local file=$1 name=$2 timeout=${3:-30} pid i
  if ! pid_alive "$file"; then
    rm -f "$file"
    return 0
  fi
  pid=$(cat "$file")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    warn "$name did not stop in ${timeout}s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$file"
}

# free_port [FROM] [TO]: prints a TCP port nobody listens on (loopback).
free_port() {
  local from=${1:-39000} to=${2:-39999} p used
  used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  for ((p = from; p <= to; p++)); do
    grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
  done
  return 1
}

# http_code URL: prints the HTTP status (000 when nothing answers).
http_code() {
  curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true
}

# sha256 of stdin, hex only.
sha256_stdin() { sha256sum | cut -d' ' -f1; }

# ensure_smoke_image: a ~2 MB image made with `docker import` (no pull, no builder) holding
# Debian's static busybox at /busybox and /www/index.html. Used to check that containers
# run, that published ports answer, and that the registry takes a push.
DEVLOOP_SMOKE_IMAGE=devloop-infra/smoke:1
ensure_smoke_image() {
  docker image inspect "$DEVLOOP_SMOKE_IMAGE" >/dev/null 2>&1 && return 0
  [ -x /bin/busybox ] || apt_install busybox-static
  local d
  d=$(mktemp -d)
  mkdir -p "$d/www" "$d/tmp"
  cp /bin/busybox "$d/busybox"
  echo devloop-smoke-ok >"$d/www/index.html"
  tar --numeric-owner --owner=0 --group=0 -C "$d" -c . \
    | docker import --change 'CMD ["/busybox","sh"]' - "$DEVLOOP_SMOKE_IMAGE" >/dev/null
  rm -rf "$d"
}
