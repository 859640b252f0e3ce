# shellcheck shell=bash
# k8s-lib.sh - settings and helpers shared by k8s-build.sh, k8s-up.sh and k8s-down.sh (sourced,
# never run). Every knob is an env var so that a second cluster (or someone else's services) can
# share the machine: pick another DEVLOOP_K8S_STATE, DEVLOOP_K8S_PORT, DEVLOOP_K8S_NAME and
# DEVLOOP_K8S_NET.
_infra_tag=k8s
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K8S_VERSION=${DEVLOOP_K8S_VERSION:-v1.34.4}
ETCD_VERSION=${DEVLOOP_ETCD_VERSION:-v3.6.16}
COREDNS_VERSION=${DEVLOOP_COREDNS_VERSION:-v1.14.7}
KWOK_VERSION=${DEVLOOP_KWOK_VERSION:-v0.8.0}
GATEWAY_API_VERSION=${DEVLOOP_GATEWAY_API_VERSION-v1.2.1}   # standard-channel CRDs; set and empty: none
HELM_VERSION=${DEVLOOP_HELM_VERSION-v4.3.2}                # helm.sh/helm/v4; set and empty: none
K8S_CACHE=${DEVLOOP_K8S_CACHE:-/var/cache/devloop-k8s}
# one directory per version set: changing a version never mixes binaries
K8S_BIN=$K8S_CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-coredns-$COREDNS_VERSION-kwok-$KWOK_VERSION
HELM_BIN=$K8S_CACHE/bin/helm-$HELM_VERSION

ST=${DEVLOOP_K8S_STATE:-/tmp/devloop-k8s}
NAME=${DEVLOOP_K8S_NAME:-devloop}          # netns dlk-NAME, veths dlk-NAME-h / -n (<= 15 chars)
PORT=${DEVLOOP_K8S_PORT:-16443}            # kube-apiserver on 127.0.0.1
# the other host-side ports follow the API server's unless set: 16443 -> 16379..16381, 16257, ...
BASE=$((PORT - 16443))
ETCD_PORT=${DEVLOOP_K8S_ETCD_PORT:-$((16379 + BASE))}   # +1 peer, +2 metrics
KCM_PORT=${DEVLOOP_K8S_KCM_PORT:-$((16257 + BASE))}
SCHED_PORT=${DEVLOOP_K8S_SCHED_PORT:-$((16259 + BASE))}
KWOK_PORT=${DEVLOOP_K8S_KWOK_PORT:-$((16247 + BASE))}
REGISTRY=${DEVLOOP_REGISTRY_ADDR:-127.0.0.1:5001}
NET=${DEVLOOP_K8S_NET:-10.250.0}           # /30 between host (.1) and node (.2)
HOST_IP=$NET.1
NODE_IP=$NET.2
NS=dlk-$NAME
VETH_H=dlk-$NAME-h
VETH_N=dlk-$NAME-n
NODE=${NAME}-node
CONTEXT=${NAME}-local
SVC_CIDR=${DEVLOOP_K8S_SVC_CIDR:-10.96.0.0/16}
POD_CIDR=${DEVLOOP_K8S_POD_CIDR:-10.244.0.0/16}
DNS_IP=${SVC_CIDR%.*.*}.0.10
API_SVC_IP=${SVC_CIDR%.*.*}.0.1
P=$ST/pki
LOGS=$ST/logs
RUN=$ST/pids
SOCK=$ST/containerd/containerd.sock

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH

T0=${T0:-$(date +%s.%N)}
say() { printf '[k8s %6.1fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*" >&2; }
KC() { "$K8S_BIN/kubectl" --kubeconfig "$ST/admin.kubeconfig" "$@"; }
CTR() { ctr --address "$SOCK" -n k8s.io "$@"; }

# gateway_api_crds: the Gateway API standard-channel CRDs (GatewayClass, Gateway, HTTPRoute,
# GRPCRoute, ReferenceGrant) at $GATEWAY_API_VERSION, so that tests apply real HTTPRoutes. They
# come from the module source (sigs.k8s.io/gateway-api on the Go module proxy), like everything
# else here. One kubectl call when they are in already: k8s-up.sh runs this on a reused cluster
# too. Optional: without go or the proxy it says why and the cluster comes up without them.
gateway_api_crds() {
  [ -n "$GATEWAY_API_VERSION" ] || return 0
  local have dir out s
  # the bundle-version annotation tells an install of another version apart, in the same call
  have=$(KC get crd httproutes.gateway.networking.k8s.io --ignore-not-found --request-timeout=10s \
    -o 'jsonpath={.metadata.annotations.gateway\.networking\.k8s\.io/bundle-version}' 2>/dev/null) || have=""
  [ "$have" = "$GATEWAY_API_VERSION" ] && return 0
  s=$(date +%s.%N)
  say "Gateway API $GATEWAY_API_VERSION standard CRDs (sigs.k8s.io/gateway-api from the Go module proxy)${have:+, replacing $have}"
  if ! command -v go >/dev/null; then
    warn "skipping the Gateway API CRDs: go is not on PATH (install Go, then run bash test/infra/k8s-up.sh again); HTTPRoute tests will fail"
    return 0
  fi
  mkdir -p "$K8S_CACHE/src"
  # the module cache is read-only and shared with k8s-build.sh; a dead proxy must not hang the bring-up
  if ! out=$(cd "$K8S_CACHE/src" && GOFLAGS=-buildvcs=false timeout 120 go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" 2>&1) \
     || ! dir=$(printf '%s\n' "$out" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p') || [ ! -d "$dir/config/crd/standard" ]; then
    warn "skipping the Gateway API CRDs: go mod download sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION failed (GOPROXY=$(go env GOPROXY)): $(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p;/^go: /p' | head -n1); HTTPRoute tests will fail until bash test/infra/k8s-up.sh installs them"
    return 0
  fi
  # server-side and forced: this cluster is ours, and the pinned version owns the CRDs' fields
  if ! out=$(KC apply --server-side --force-conflicts --field-manager devloop-k8s-up -f "$dir/config/crd/standard/" 2>&1) \
     || ! out=$(KC wait --for=condition=Established --timeout=60s -f "$dir/config/crd/standard/" 2>&1); then
    warn "the Gateway API CRDs from $dir/config/crd/standard did not install: $out"
    return 0
  fi
  say "  Gateway API CRDs Established in $(awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN{printf "%.1f", a-b}')s"
}

# helm_bin: helm $HELM_VERSION for the Helm source tests (test/k8s-helm.test.ts), built once from
# helm.sh/helm/v4 on the Go module proxy into $HELM_BIN and linked as $ST/bin/helm next to kubectl.
# Optional like the CRDs above: a failed build warns and the cluster stays up; the Helm test then
# fails naming this script. A cached binary costs one test -x and one ln.
helm_bin() {
  [ -n "$HELM_VERSION" ] || return 0
  local s log=$K8S_CACHE/helm-$HELM_VERSION.build.log
  mkdir -p "$ST/bin" "$K8S_CACHE"
  if [ ! -x "$HELM_BIN/helm" ] || [ ! -f "$HELM_BIN/.helm.$HELM_VERSION" ]; then
    if ! command -v go >/dev/null; then
      warn "skipping helm $HELM_VERSION: go is not on PATH (install Go, then run bash test/infra/k8s-up.sh again); the Helm test will fail"
      return 0
    fi
    s=$(date +%s)
    say "go build helm $HELM_VERSION (helm.sh/helm/v4 from the Go module proxy; 3.5-7 min cold on 2 cores, log in $log)"
    if ! _helm_build >"$log" 2>&1; then
      rm -f "$ST/bin/helm"
      warn "helm $HELM_VERSION did not build (GOPROXY=$(go env GOPROXY)): $(grep -v '^go: downloading' "$log" | tail -n 3 | tr '\n' ' ')- see $log, then run bash test/infra/k8s-up.sh again; the Helm test will fail"
      return 0
    fi
    say "  helm built in $(( $(date +%s) - s ))s"
  fi
  ln -sf "$HELM_BIN/helm" "$ST/bin/helm"
}

_helm_build() (
  set -euo pipefail
  mkdir -p "$HELM_BIN" "$K8S_CACHE/src"
  # the same lock as k8s-build.sh: one compile at a time per cache
  exec 8>"$K8S_CACHE/.build.lock"; flock 8
  [ -x "$HELM_BIN/helm" ] && [ -f "$HELM_BIN/.helm.$HELM_VERSION" ] && exit 0
  local out dir src=$K8S_CACHE/src/helm-$HELM_VERSION
  # a dead proxy must not hang the bring-up
  if ! out=$(cd "$K8S_CACHE/src" && timeout 300 go mod download -json "helm.sh/helm/v4@$HELM_VERSION" 2>&1); then
    echo "go mod download helm.sh/helm/v4@$HELM_VERSION failed: $(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p;/^go: /p' | head -n1)"; exit 1
  fi
  dir=$(printf '%s\n' "$out" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -f "$dir/cmd/helm/helm.go" ] || { echo "go mod download helm.sh/helm/v4@$HELM_VERSION gave no cmd/helm (dir '$dir')"; exit 1; }
  # built as the main module, so that its own go.mod and go.sum pin every dependency; in a
  # writable copy, as the module cache is read-only
  rm -rf "$src"; cp -r "$dir" "$src"; chmod -R u+w "$src"
  cd "$src"
  # without -X, `helm version` says v4.3 (the source's default) instead of the release
  GOFLAGS="-mod=readonly -buildvcs=false" GOCACHE=${DEVLOOP_K8S_GOCACHE:-$K8S_CACHE/gocache} CGO_ENABLED=0 \
    nice -n 19 go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" -o "$HELM_BIN/helm.tmp" ./cmd/helm
  "$HELM_BIN/helm.tmp" version --short >/dev/null
  mv "$HELM_BIN/helm.tmp" "$HELM_BIN/helm"; touch "$HELM_BIN/.helm.$HELM_VERSION"
)
