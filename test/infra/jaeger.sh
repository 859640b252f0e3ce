#!/usr/bin/env bash
# jaeger.sh - build (once) Jaeger all-in-one (github.com/jaegertracing/jaeger/cmd/jaeger) through
# the Go module proxy and put it on PATH as /usr/local/bin/jaeger, for the devloop:monitoring
# tracing tests and for `monitoring.jaeger` in a Devfile. Nothing is configured or started here:
# devloop writes its own config (in-memory store, every listener on 127.0.0.1) and starts it.
#
# `go install ...@version` cannot be used: the proxy setup refuses it for this module, so the
# module source is downloaded with `go mod download`, copied to a writable folder and built there.
# GOCACHE lives in the cache folder, so a rebuild after a wipe of the binary takes seconds.
# Idempotent: when the binary of this version is there it prints its version and does nothing.
# The UI is the placeholder page (the real one is a git submodule not in the module zip); the
# query API on :16686/api/ is complete, and that is what devloop and the tests use.
#
# Usage: jaeger.sh            (called by up.sh; safe to run alone)
# Env:   DEVLOOP_JAEGER_VERSION (v1.75.0)  DEVLOOP_JAEGER_CACHE (/var/cache/devloop-jaeger)
#        DEVLOOP_JAEGER_LINK (/usr/local/bin/jaeger; empty: no link)
set -euo pipefail
_infra_tag=jaeger
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION=${DEVLOOP_JAEGER_VERSION:-v1.75.0}
CACHE=${DEVLOOP_JAEGER_CACHE:-/var/cache/devloop-jaeger}
LINK=${DEVLOOP_JAEGER_LINK-/usr/local/bin/jaeger}
BIN=$CACHE/bin/jaeger-$VERSION
LOG=$CACHE/build-$VERSION.log
export PATH=$PATH:/usr/local/go/bin

T0=$(date +%s.%N)
say() { printf '[jaeger %6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*" >&2; }

link() {
  [ -n "$LINK" ] || return 0
  [ "$(readlink "$LINK" 2>/dev/null)" = "$BIN" ] && return 0
  ln -sfn "$BIN" "$LINK" 2>/dev/null \
    || die "cannot link $LINK -> $BIN (run as root, or set DEVLOOP_JAEGER_LINK= and put $(dirname "$BIN") on PATH)"
  say "linked $LINK -> $BIN"
}

if [ -x "$BIN" ] && [ -f "$BIN.ok" ]; then
  link
  say "already built: $BIN ($("$BIN" version 2>/dev/null | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p' | head -1)); nothing to do"
  exit 0
fi

command -v go >/dev/null || die "the Go toolchain (>= 1.24) is needed to build Jaeger: install it (https://go.dev/dl) and put go on PATH"
mkdir -p "$CACHE/bin" "$CACHE/src" "$CACHE/gocache"
# one build at a time per cache: a second run waits here and then finds the binary built
exec 9>"$CACHE/.build.lock"
flock 9
if [ -x "$BIN" ] && [ -f "$BIN.ok" ]; then link; say "built by a concurrent run: $BIN"; exit 0; fi

export GOCACHE=${DEVLOOP_JAEGER_GOCACHE:-$CACHE/gocache}
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0
: >"$LOG"

say "go mod download github.com/jaegertracing/jaeger@$VERSION (log: $LOG)"
dir=$(cd "$CACHE/src" && go mod download -json "github.com/jaegertracing/jaeger@$VERSION" 2>>"$LOG" \
  | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -n "$dir" ] && [ -f "$dir/go.mod" ] \
  || { tail -20 "$LOG" >&2; die "go mod download of jaeger $VERSION gave no source: check GOPROXY ($(go env GOPROXY)) and $LOG"; }

# the module cache is read-only, and go build -mod=mod may rewrite go.mod/go.sum
src=$CACHE/src/jaeger-$VERSION
if [ ! -f "$src/go.mod" ]; then
  rm -rf "$src.tmp"
  cp -r "$dir" "$src.tmp"
  chmod -R u+w "$src.tmp"
  mv "$src.tmp" "$src"
fi

# the version the binary prints (`jaeger version`) and reports to its own telemetry
ver=github.com/jaegertracing/jaeger/internal/version
ldf="-s -w -X $ver.latestVersion=$VERSION -X $ver.commitSHA=goproxy-$VERSION -X $ver.date=1970-01-01T00:00:00Z"
s=$(date +%s)
say "go build ./cmd/jaeger $VERSION (5-15 min cold on 2 cores; seconds when $GOCACHE is warm)"
if ! (cd "$src" && nice -n 19 go build -mod=mod -trimpath -ldflags "$ldf" -o "$BIN.tmp" ./cmd/jaeger) >>"$LOG" 2>&1; then
  tail -30 "$LOG" >&2
  die "go build of jaeger $VERSION failed (full log: $LOG)"
fi
mv "$BIN.tmp" "$BIN"
touch "$BIN.ok"
say "built $BIN in $(( $(date +%s) - s ))s"
link
