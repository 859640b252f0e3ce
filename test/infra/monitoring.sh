#!/usr/bin/env bash
# Installs Debian's prometheus (/usr/bin/prometheus, /usr/bin/promtool) and
# prometheus-alertmanager (/usr/bin/prometheus-alertmanager) for the devloop:monitoring tests,
# which run their own Prometheus and Alertmanager with configs in temp folders and check rule
# files with promtool. Nothing is configured, enabled or started here. Idempotent: when the
# binaries are there it prints their versions and does nothing else.
#
# Both packages' postinsts run `update-rc.d NAME defaults` and `invoke-rc.d NAME start` (and
# `deb-systemd-helper enable`): left alone they would enable the packaged services and start
# them on :9090 and :9093, the ports the tests and devloop want. So a temporary
# /usr/sbin/policy-rc.d (exit 101, "action forbidden") stops the start (an existing one, as in
# Docker-built images, already says so and is left as is), the services are disabled again
# after the install, and a packaged daemon found listening on 9090/9093/9094 is stopped.
set -euo pipefail
_infra_tag=monitoring
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(prometheus prometheus-alertmanager)
SERVICES=(prometheus prometheus-alertmanager)
PORTS=(9090 9093 9094)

versions() {
  printf '%s; %s; %s' "$(prometheus --version 2>&1 | head -1)" "$(promtool --version 2>&1 | head -1)" \
    "$(prometheus-alertmanager --version 2>&1 | head -1)"
}

have_all() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
    && command -v prometheus-alertmanager >/dev/null 2>&1
}

# The packaged daemons run as user prometheus; a Prometheus a test or devloop started runs as
# whoever started it and is not touched.
stop_packaged_daemons() {
  local port pid user exe stopped=0
  for port in "${PORTS[@]}"; do
    for pid in $(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
      user=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ') || continue
      exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
      case "$exe" in
        /usr/bin/prometheus | /usr/bin/prometheus-alertmanager) ;;
        *) warn "port $port is taken by pid $pid ($exe), not a packaged daemon: left alone"; continue ;;
      esac
      if [ "$user" != prometheus ]; then
        warn "port $port is taken by $exe (pid $pid, user $user), not the packaged service: left alone"
        continue
      fi
      log "the packaged $(basename "$exe") listens on :$port (pid $pid); stopping it"
      [ -x "/etc/init.d/$(basename "$exe")" ] && "/etc/init.d/$(basename "$exe")" stop >/dev/null 2>&1 || true
      if alive "$pid"; then
        echo "$pid" >"/tmp/devloop-monitoring-$pid.pid"
        stop_pidfile "/tmp/devloop-monitoring-$pid.pid" "$(basename "$exe")" 10
      fi
      stopped=1
    done
  done
  if [ "$stopped" -eq 1 ] && ss -Hltnp 2>/dev/null | grep -Eq '/usr/bin/prometheus|"prometheus(-alertm)?'; then
    die "a packaged Prometheus/Alertmanager still listens after stopping it: $(ss -Hltnp | grep prometheus)"
  fi
  return 0
}

# Undo what the postinsts enabled (rc.d links, systemd wants/ links): a reboot of a machine with
# systemd or sysvinit must not start them either.
disable_services() {
  local s
  for s in "${SERVICES[@]}"; do
    [ -x "/etc/init.d/$s" ] && update-rc.d "$s" disable >/dev/null 2>&1 || true
    command -v deb-systemd-helper >/dev/null 2>&1 && deb-systemd-helper disable "$s.service" >/dev/null 2>&1 || true
  done
}

if have_all; then
  stop_packaged_daemons
  log "already installed: $(versions); nothing to do"
  exit 0
fi

need_root

SECONDS=0
apt_install_no_start "${PACKAGES[@]}"

have_all || die "prometheus, promtool or prometheus-alertmanager is not on PATH after installing ${PACKAGES[*]} ($PATH)"
disable_services
stop_packaged_daemons
log "installed $(versions) in ${SECONDS} s; the packaged services were not started or enabled"
