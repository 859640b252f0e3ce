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
K8S_CACHE=${DEVLOOP_K8S_CACHE:-/var/cache/devloop-k8s}
# one directory per version set: changing a version never mixes binaries
K8S_BIN=$K8S_CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-coredns-$COREDNS_VERSION-kwok-$KWOK_VERSION

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
