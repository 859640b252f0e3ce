#!/usr/bin/env bash
# Installs Debian's docker-registry (Docker Distribution 2.8, binary /usr/bin/docker-registry)
# if missing and runs our own instance of it on 127.0.0.1:5001, plain http, loopback only,
# with config and storage under /var/lib/devloop-registry (the packaged service, :5000 with
# /etc/docker/registry/config.yml, is left alone). Idempotent: when
# http://127.0.0.1:5001/v2/ answers 200 it does nothing.
#
# When it starts the registry (or with DEVLOOP_INFRA_VERIFY=1) it checks a push and a
# pull by digest through dockerd (which allows plain http for 127.0.0.0/8 by default).
set -euo pipefail
_infra_tag=registry
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR=$DEVLOOP_REGISTRY_DIR
PIDFILE=$DIR/registry.pid
CONFIG=$DIR/config.yml
URL=http://$DEVLOOP_REGISTRY_ADDR/v2/

verify_push() {
  if ! docker info >/dev/null 2>&1; then
    warn "docker is not up: skipping the push check (run test/infra/docker.sh first)"
    return 0
  fi
  ensure_smoke_image
  local ref=$DEVLOOP_REGISTRY_ADDR/devloop-infra/push-check:latest digest out
  docker tag "$DEVLOOP_SMOKE_IMAGE" "$ref"
  out=$(docker push "$ref" 2>&1) || { echo "$out" >&2; die "docker push $ref failed"; }
  digest=$(sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' <<<"$out" | tail -1)
  [ -n "$digest" ] || { echo "$out" >&2; die "no digest in the output of docker push"; }
  docker rmi "$ref" >/dev/null
  docker image rm "${ref%:*}@$digest" >/dev/null 2>&1 || true
  docker pull -q "${ref%:*}@$digest" >/dev/null || die "docker pull ${ref%:*}@$digest failed"
  docker image rm "${ref%:*}@$digest" >/dev/null 2>&1 || true
  log "push + pull by digest ok ($ref -> $digest)"
}

need_root

if [ "$(http_code "$URL")" = 200 ]; then
  log "registry already answers on $URL"
  [ "${DEVLOOP_INFRA_VERIFY:-0}" = 1 ] && verify_push
  exit 0
fi

command -v docker-registry >/dev/null || apt_install docker-registry
command -v docker-registry >/dev/null || die "docker-registry missing after installing the package"

mkdir -p "$DIR/data"
desired=$(cat <<EOF
# Written by test/infra/registry.sh: devloop's test registry (not the system service).
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
  fields:
    service: devloop-registry
storage:
  filesystem:
    rootdirectory: $DIR/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $DEVLOOP_REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
EOF
)
if [ ! -f "$CONFIG" ] || [ "$(cat "$CONFIG")" != "$desired" ]; then
  printf '%s\n' "$desired" >"$CONFIG"
  log "wrote $CONFIG"
fi

if pid_alive "$PIDFILE"; then
  log "registry process $(cat "$PIDFILE") is alive but $URL does not answer 200; restarting it"
  stop_pidfile "$PIDFILE" registry 10
fi

# Something else on the port (not ours) would make our start fail: say so clearly.
port=${DEVLOOP_REGISTRY_ADDR##*:}
if ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
  die "port $port is taken by another process and $URL does not answer 200: $(ss -Htlnp "sport = :$port" | head -1)"
fi

log "starting docker-registry on $DEVLOOP_REGISTRY_ADDR (config $CONFIG, log $DEVLOOP_REGISTRY_LOG)"
echo "==== $(date -u +%FT%TZ) docker-registry serve $CONFIG" >>"$DEVLOOP_REGISTRY_LOG"
setsid docker-registry serve "$CONFIG" </dev/null >>"$DEVLOOP_REGISTRY_LOG" 2>&1 &
pid=$!
echo "$pid" >"$PIDFILE"

for ((i = 0; i < 120; i++)); do
  [ "$(http_code "$URL")" = 200 ] && break
  alive "$pid" || { tail -5 "$DEVLOOP_REGISTRY_LOG" >&2; rm -f "$PIDFILE"; die "docker-registry exited"; }
  sleep 0.25
done
[ "$(http_code "$URL")" = 200 ] || { tail -5 "$DEVLOOP_REGISTRY_LOG" >&2; die "$URL did not answer 200 within 30s"; }
log "registry up: $URL (pid $pid, storage $DIR/data)"
verify_push
