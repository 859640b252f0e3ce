#!/usr/bin/env bash
# Installs Debian's docker.io (if dockerd is missing) and starts dockerd in the background
# (if `docker info` fails), picking a storage driver and network flags that work on this
# machine. Idempotent: when `docker info` already answers it only prints the drivers.
#
#   DEVLOOP_INFRA_VERIFY=1 bash test/infra/docker.sh   # also re-run the container checks
#   DEVLOOP_DOCKERD_FLAGS="..."                        # force the dockerd flags (skip probing)
#   DEVLOOP_DOCKER_STORAGE_DRIVERS="vfs"               # storage drivers to probe, in order
set -euo pipefail
_infra_tag=docker
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WAIT_S=${DEVLOOP_DOCKER_WAIT_S:-60}
RUNNING_FLAGS=$DEVLOOP_INFRA_STATE/dockerd.running  # flags of the dockerd we started

docker_up() { docker info >/dev/null 2>&1; }

print_info() {
  docker info --format 'docker ready: server {{.ServerVersion}}, storage driver {{.Driver}}, cgroup driver {{.CgroupDriver}} (cgroup v{{.CgroupVersion}})' >&2
  if pid_alive "$DEVLOOP_DOCKERD_PIDFILE" && [ -s "$RUNNING_FLAGS" ]; then
    log "dockerd started by these scripts (pid $(cat "$DEVLOOP_DOCKERD_PIDFILE")), flags: $(cat "$RUNNING_FLAGS")"
  else
    log "dockerd was not started by these scripts (no live $DEVLOOP_DOCKERD_PIDFILE)"
  fi
}

# wait_docker PID: waits up to WAIT_S for `docker info`; fails early when PID exits.
wait_docker() {
  local pid=$1 i
  for ((i = 0; i < WAIT_S * 4; i++)); do
    docker_up && return 0
    if [ -n "$pid" ] && ! alive "$pid"; then
      return 1
    fi
    sleep 0.25
  done
  return 1
}

# Container checks. rc 0: fine; 11: a container does not run (storage/runtime);
# 12: a port published on 127.0.0.1 does not answer from the host.
check_run() {
  ensure_smoke_image || return 11
  local out
  out=$(docker run --rm --network none "$DEVLOOP_SMOKE_IMAGE" /busybox echo run-ok 2>&1) || {
    warn "container run failed: $out"; return 11; }
  [ "$out" = run-ok ] || { warn "container printed '$out'"; return 11; }
}

# check_port [host]: a busybox httpd in a container must answer curl on 127.0.0.1:PORT.
check_port() {
  local mode=${1:-bridge} port name body i
  port=$(free_port 39000 39999) || { warn "no free port"; return 12; }
  name=devloop-infra-portcheck-$$
  docker rm -f "$name" >/dev/null 2>&1 || true
  if [ "$mode" = host ]; then
    docker run -d --name "$name" --network host "$DEVLOOP_SMOKE_IMAGE" \
      /busybox httpd -f -p "127.0.0.1:$port" -h /www >/dev/null 2>&1 || { docker rm -f "$name" >/dev/null 2>&1; return 12; }
  else
    docker run -d --name "$name" -p "127.0.0.1:$port:$port" "$DEVLOOP_SMOKE_IMAGE" \
      /busybox httpd -f -p "$port" -h /www >/dev/null 2>&1 || { docker rm -f "$name" >/dev/null 2>&1; return 12; }
  fi
  body=
  for ((i = 0; i < 40; i++)); do
    body=$(curl -s -m 2 "http://127.0.0.1:$port/" 2>/dev/null || true)
    [ "$body" = devloop-smoke-ok ] && break
    sleep 0.25
  done
  docker rm -f "$name" >/dev/null 2>&1 || true
  if [ "$body" = devloop-smoke-ok ]; then
    log "port check ok: container ($mode network) answered on 127.0.0.1:$port"
    return 0
  fi
  warn "port check failed: nothing answered on 127.0.0.1:$port ($mode network)"
  return 12
}

# try_flags "FLAGS": starts dockerd with FLAGS and checks it. rc 0 ok; 10 dockerd did not
# come up; 11/12 as above (dockerd is stopped again on failure).
try_flags() {
  local flags=$1 pid rc=0
  log "starting dockerd $flags (log: $DEVLOOP_DOCKERD_LOG)"
  mkdir -p "$(dirname "$DEVLOOP_DOCKERD_LOG")" "$(dirname "$DEVLOOP_DOCKERD_PIDFILE")"
  echo "==== $(date -u +%FT%TZ) dockerd $flags" >>"$DEVLOOP_DOCKERD_LOG"
  # shellcheck disable=SC2086
  setsid dockerd $flags --pidfile "$DEVLOOP_DOCKERD_PIDFILE" </dev/null >>"$DEVLOOP_DOCKERD_LOG" 2>&1 &
  pid=$!
  if ! wait_docker "$pid"; then
    warn "dockerd $flags exited or did not answer within ${WAIT_S}s; its errors:"
    { attempt_errors | grep . || last_attempt_log | tail -3; } | tail -5 | cut -c1-400 | sed 's/^/    /' >&2
    rc=10
  else
    check_run || rc=$?
    if [ "$rc" -eq 0 ]; then
      if [[ "$flags" == *--bridge=none* ]]; then check_port host || rc=$?; else check_port || rc=$?; fi
    fi
  fi
  if [ "$rc" -ne 0 ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$DEVLOOP_DOCKERD_PIDFILE"
  else
    echo "$flags" >"$RUNNING_FLAGS"
  fi
  return "$rc"
}

# Log lines of the latest attempt (try_flags writes a "==== " line before each).
last_attempt_log() { awk '/^==== /{n=0} {buf[n++]=$0} END{for (i = 0; i < n; i++) print buf[i]}' "$DEVLOOP_DOCKERD_LOG"; }
# Its fatal/error lines ("failed to start daemon: ..." is dockerd's last word).
attempt_errors() { last_attempt_log | grep -E '^failed|level=(fatal|error)' || true; }

# A dockerd killed with -9 leaves /var/run/docker/containerd/containerd.pid behind; while
# that pid is still a zombie (init reaps slowly here), the next dockerd takes it for a live
# containerd and fails with "timeout waiting for containerd to start". Only called while no
# dockerd runs.
# The same goes for dockerd's own pid file ("pid file found, ensure docker is not running").
clean_stale_state() {
  local f
  for f in /var/run/docker/containerd/containerd.pid "$DEVLOOP_DOCKERD_PIDFILE"; do
    if [ -s "$f" ] && ! alive "$(cat "$f")"; then
      log "removing stale $f"
      rm -f "$f"
    fi
  done
}

start_dockerd() {
  local flags rc storage net retried
  if [ -n "${DEVLOOP_DOCKERD_FLAGS:-}" ]; then
    clean_stale_state
    try_flags "$DEVLOOP_DOCKERD_FLAGS" || die "dockerd does not work with DEVLOOP_DOCKERD_FLAGS=$DEVLOOP_DOCKERD_FLAGS"
    return 0
  fi
  # Probe: overlay2 before vfs; full bridge networking before the reduced variants.
  # Nothing is cached: on a machine where the first variant works this costs nothing,
  # and a passing failure cannot pin a degraded setup.
  for storage in ${DEVLOOP_DOCKER_STORAGE_DRIVERS:-overlay2 vfs}; do
    for net in "" "--iptables=false" "--bridge=none"; do
      flags="--storage-driver=$storage${net:+ $net}"
      retried=0
      while :; do
        clean_stale_state
        rc=0; try_flags "$flags" || rc=$?
        [ "$rc" -ne 10 ] && break
        # dockerd did not come up: storage errors mean the next driver, network errors the
        # next network variant, anything else one more try with the same flags.
        if attempt_errors | grep -qiE 'graphdriver|storage-driver|overlay|driver not supported'; then rc=11; break; fi
        if attempt_errors | grep -qiE 'network controller|iptables|bridge|docker0|nat chain'; then rc=12; break; fi
        [ "$retried" -eq 1 ] && die "dockerd $flags fails twice for a reason that is neither storage nor network; see $DEVLOOP_DOCKERD_LOG"
        retried=1
        log "retrying the same flags once"
        sleep 2
      done
      case $rc in
        0)
          [[ "$net" == --bridge=none ]] && warn "bridge networking does not work here: containers only get --network host (see test/infra/README.md)"
          return 0 ;;
        11) break ;;     # containers/dockerd fail with this storage driver: next driver
        *) continue ;;   # networking: next network variant
      esac
    done
  done
  die "no dockerd configuration worked; see $DEVLOOP_DOCKERD_LOG"
}

need_root
mkdir -p "$DEVLOOP_INFRA_STATE"

if docker_up; then
  print_info
  if [ "${DEVLOOP_INFRA_VERIFY:-0}" = 1 ]; then
    check_run || die "containers do not run"
    check_port || check_port host || die "published ports do not answer"
  fi
  exit 0
fi

# docker.io brings dockerd, containerd, runc, tini, iptables (and a 20.10 docker client in
# /usr/bin, which a newer /usr/local/bin/docker shadows). busybox-static: the smoke image.
pkgs=()
command -v dockerd >/dev/null && command -v docker >/dev/null || pkgs+=(docker.io)
[ -x /bin/busybox ] || pkgs+=(busybox-static)
[ ${#pkgs[@]} -eq 0 ] || apt_install "${pkgs[@]}"
command -v dockerd >/dev/null || die "dockerd still missing after installing docker.io"

# A dockerd that is starting (ours or anybody's) gets the full wait before we start another.
if [ -n "$(running dockerd)" ]; then
  log "a dockerd process exists but does not answer yet; waiting up to ${WAIT_S}s"
  if wait_docker ""; then print_info; exit 0; fi
  if pid_alive "$DEVLOOP_DOCKERD_PIDFILE"; then
    warn "our dockerd (pid $(cat "$DEVLOOP_DOCKERD_PIDFILE")) hangs; restarting it"
    stop_pidfile "$DEVLOOP_DOCKERD_PIDFILE" dockerd 30
  else
    die "a dockerd that these scripts did not start is running but not answering (pids: $(running dockerd | tr '\n' ' '))"
  fi
fi

t0=$(date +%s)
start_dockerd
log "dockerd up after $(($(date +%s) - t0))s"
print_info
