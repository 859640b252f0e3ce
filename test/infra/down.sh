#!/usr/bin/env bash
# Stops what up.sh started, by pid file only: the registry on 127.0.0.1:5001, then dockerd
# (which stops its running containers and its own containerd). Leaves installed packages,
# images and registry data in place, so the next up.sh is quick. For local use; CI leaves
# the daemons running.
set -euo pipefail
_infra_tag=down
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_root

stop_pidfile "$DEVLOOP_REGISTRY_DIR/registry.pid" registry 10
stop_pidfile "$DEVLOOP_DOCKERD_PIDFILE" dockerd 60
log "done"
