#!/usr/bin/env bash
# k8s-build.sh - build (once) the binaries the local test cluster runs, through the Go module
# proxy only: k8s.io/kubernetes control plane + kubelet/kube-proxy/kubectl, etcd, CoreDNS, kwok.
# Results go to $DEVLOOP_K8S_CACHE/bin/<version>/ and are rebuilt only when missing, so a second
# bring-up never compiles; GOCACHE lives in the cache dir too, so a relink after a wipe of bin/
# takes about half a minute instead of a quarter of an hour.
#
# Usage: k8s-build.sh [--kwok]     (called by k8s-up.sh; safe to run alone to warm the cache)
# Env:   DEVLOOP_K8S_CACHE (/var/cache/devloop-k8s)  DEVLOOP_K8S_GOCACHE ($DEVLOOP_K8S_CACHE/gocache)
#        DEVLOOP_K8S_VERSION (v1.34.4)
#        DEVLOOP_ETCD_VERSION (v3.6.16)  DEVLOOP_COREDNS_VERSION (v1.14.7)  DEVLOOP_KWOK_VERSION (v0.8.0)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/k8s-lib.sh"

WANT_KWOK=0
[ "${1:-}" = "--kwok" ] && WANT_KWOK=1

command -v go >/dev/null || die "the Go toolchain (>= 1.24) is needed to build the cluster binaries: install it (https://go.dev/dl) and put go on PATH"
mkdir -p "$K8S_BIN" "$K8S_CACHE/src" "$K8S_CACHE/gocache"
# one build at a time per cache: a second k8s-up.sh waits here and then finds the binaries built
exec 9>"$K8S_CACHE/.build.lock"
flock 9
export GOCACHE=${DEVLOOP_K8S_GOCACHE:-$K8S_CACHE/gocache}
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0
# the build is long and the machine is shared: stay out of the way of everything else
NICE=(nice -n 19)

built() { [ -x "$K8S_BIN/$1" ] && [ -f "$K8S_BIN/.$1.$2" ]; }

# k8s.io/kubernetes cannot be `go install`ed (its go.mod points the k8s.io/* staging modules at
# ./staging as v0.0.0): a small wrapper module requires it and pins every staging module to the
# matching v0.X.Y release instead.
K8S_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
need_k8s=0
for b in "${K8S_CMDS[@]}"; do built "$b" "$K8S_VERSION" || need_k8s=1; done
if [ $need_k8s = 1 ]; then
  src=$K8S_CACHE/src/kubernetes-$K8S_VERSION
  sv=v0.${K8S_VERSION#v1.}
  mkdir -p "$src"
  if [ ! -f "$src/go.sum" ]; then
    say "wrapper module for k8s.io/kubernetes@$K8S_VERSION (staging modules pinned to $sv)"
    gomod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -s "$gomod" ] || die "go mod download k8s.io/kubernetes@$K8S_VERSION gave no go.mod: check GOPROXY ($(go env GOPROXY))"
    {
      printf 'module devloop.local/k8sbins\n\ngo 1.24.0\n\n// the kubernetes module pins this; newer defaults change TLS/x509 behaviour\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
      grep -E '^\s*k8s.io/[a-z0-9-]+ v0.0.0$' "$gomod" | awk -v sv="$sv" '{print "\t"$1" => "$1" "sv}'
      printf ')\n'
    } > "$src/go.mod"
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for b in "${K8S_CMDS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
      printf ')\n'
    } > "$src/tools.go"
    (cd "$src" && go mod tidy)
  fi
  # without -X the binaries call themselves v0.0.0-master and kubectl warns about version skew
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ldf="-s -w"
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitCommit=$K8S_VERSION-goproxy -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
  done
  for b in "${K8S_CMDS[@]}"; do
    built "$b" "$K8S_VERSION" && continue
    s=$(date +%s)
    say "go build $b $K8S_VERSION (several minutes cold on 2 cores)"
    (cd "$src" && "${NICE[@]}" go build -trimpath -ldflags "$ldf" -o "$K8S_BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b")
    mv "$K8S_BIN/$b.tmp" "$K8S_BIN/$b"; touch "$K8S_BIN/.$b.$K8S_VERSION"
    say "  $b built in $(( $(date +%s) - s ))s"
  done
fi

# etcd: go.etcd.io/etcd/server/v3 is the main package but its go.mod replaces its siblings with
# ../ paths, so the same wrapper trick pins the sibling modules at one version.
if ! built etcd "$ETCD_VERSION"; then
  src=$K8S_CACHE/src/etcd-$ETCD_VERSION; mkdir -p "$src"
  s=$(date +%s); say "go build etcd $ETCD_VERSION"
  {
    printf 'module devloop.local/etcdbin\n\ngo 1.24.0\n\nrequire (\n'
    for m in server/v3 api/v3 client/pkg/v3 client/v3 pkg/v3; do printf '\tgo.etcd.io/etcd/%s %s\n' "$m" "$ETCD_VERSION"; done
    printf ')\n'
  } > "$src/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$src/tools.go"
  (cd "$src" && go mod tidy && "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$K8S_BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$K8S_BIN/etcd.tmp" "$K8S_BIN/etcd"; touch "$K8S_BIN/.etcd.$ETCD_VERSION"
  say "  etcd built in $(( $(date +%s) - s ))s"
fi

if ! built coredns "$COREDNS_VERSION"; then
  s=$(date +%s); say "go install coredns $COREDNS_VERSION"
  (cd "$K8S_CACHE/src" && GOBIN=$K8S_BIN "${NICE[@]}" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION")
  touch "$K8S_BIN/.coredns.$COREDNS_VERSION"
  say "  coredns built in $(( $(date +%s) - s ))s"
fi

if [ $WANT_KWOK = 1 ]; then
  if ! built kwok "$KWOK_VERSION"; then
    s=$(date +%s); say "go install kwok $KWOK_VERSION"
    (cd "$K8S_CACHE/src" && GOBIN=$K8S_BIN "${NICE[@]}" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
    touch "$K8S_BIN/.kwok.$KWOK_VERSION"
    say "  kwok built in $(( $(date +%s) - s ))s"
  fi
  # kwok refuses to start without stages: the defaults kwokctl uses, from the module source
  if [ ! -s "$K8S_BIN/kwok-stages.yaml" ]; then
    kd=$(cd "$K8S_CACHE/src" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
             pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
      echo "---"; cat "$kd/kustomize/stage/$f.yaml"
    done > "$K8S_BIN/kwok-stages.yaml.tmp"
    mv "$K8S_BIN/kwok-stages.yaml.tmp" "$K8S_BIN/kwok-stages.yaml"
  fi
fi
say "binaries ready in $K8S_BIN"
