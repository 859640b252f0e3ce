#!/usr/bin/env bash
# Installs Debian's nginx (the binary /usr/sbin/nginx) if `nginx` is not on PATH. Used by
# bench/cloud-run.bench.ts as a reference reverse proxy; the bench runs its own nginx with its
# own config in a temp folder, so nothing is configured or started here. Idempotent: when nginx
# is already there it prints its version and does nothing.
#
# Not part of up.sh or CI: only the benches need it.
#
# The package's postinst would start the packaged service on :80 (invoke-rc.d); a temporary
# /usr/sbin/policy-rc.d that answers 101 ("action forbidden") stops that, and is removed again.
set -euo pipefail
_infra_tag=nginx
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if command -v nginx >/dev/null 2>&1; then
  log "nginx already installed: $(nginx -v 2>&1) at $(command -v nginx); nothing to do"
  exit 0
fi

need_root

SECONDS=0
apt_install_no_start nginx

command -v nginx >/dev/null 2>&1 || die "nginx installed but not on PATH ($PATH)"
nginx -t -q 2>/dev/null || warn "the packaged /etc/nginx config does not pass nginx -t (harmless: the bench uses its own)"
log "installed $(nginx -v 2>&1) at $(command -v nginx) in ${SECONDS} s; the packaged service was not started"
