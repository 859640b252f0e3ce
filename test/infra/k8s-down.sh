#!/usr/bin/env bash
# k8s-down.sh - stop and remove everything k8s-up.sh made for this state directory: its daemons
# (by their pid files only), the containers of its own containerd (by its socket path), mounts
# under the state directory, the kubelet's cgroups, the network namespace, the veth pair, the
# routes, and the state directory itself. The binary cache (DEVLOOP_K8S_CACHE) is kept.
# Same env as k8s-up.sh (DEVLOOP_K8S_STATE, DEVLOOP_K8S_NAME, ...).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/k8s-lib.sh"
need_root

# stop NAME: TERM the daemon's process group (each was started with setsid), KILL after 10 s
stop() {
  local f=$RUN/$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if pid_alive "$f"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && { kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null; }
  fi
  rm -f "$f"
  say "stopped $1"
}

# the node side first, so nothing restarts the containers being removed
stop kwok
stop kube-proxy
stop kubelet
pod_netns=()
if [ -S "$SOCK" ] && timeout 5 ctr --address "$SOCK" version >/dev/null 2>&1; then
  for c in $(timeout 20 ctr --address "$SOCK" -n k8s.io containers ls -q 2>/dev/null); do
    p=$(timeout 20 ctr --address "$SOCK" -n k8s.io containers info "$c" 2>/dev/null \
      | sed -n 's/.*"path": "\(\/var\/run\/netns\/[^"]*\)".*/\1/p' | head -1)
    [ -n "$p" ] && pod_netns+=("$p")
  done
  for t in $(timeout 20 ctr --address "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    timeout 20 ctr --address "$SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1
  done
  sleep 0.5
  for t in $(timeout 20 ctr --address "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    timeout 20 ctr --address "$SOCK" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1
  done
fi
stop containerd
# the shims outlive containerd (own session); ours are the ones given our socket path, and
# never dockerd's (its containerd has another address)
for d in /proc/[0-9]*; do
  if tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -q -- "-address $SOCK "; then
    kill -KILL "${d#/proc/}" 2>/dev/null && say "killed shim ${d#/proc/}"
  fi
done
for f in "$RUN"/relay-*; do [ -e "$f" ] && stop "$(basename "$f")"; done
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd
for f in "$RUN"/*; do [ -e "$f" ] && stop "$(basename "$f")"; done   # anything else we started

# pod network namespaces (bind mounts under /var/run/netns, named cni-...) and every mount the
# kubelet or containerd left under the state directory, deepest first
for p in "${pod_netns[@]}"; do umount "$p" 2>/dev/null; rm -f "$p"; done
awk -v st="$ST/" 'index($5, st) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done
# cgroups the kubelet made (cgroupfs driver: kubepods/ in every v1 hierarchy, or in v2); only
# empty directories go, so anything still running is left alone
for h in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null
done
# deleting the namespace deletes its veth end, which deletes the pair and the routes via it
if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$NS"; then ip netns del "$NS"; say "removed netns $NS"; fi
ip link show "$VETH_H" >/dev/null 2>&1 && ip link del "$VETH_H"
ip route del "$POD_CIDR" dev "$VETH_H" 2>/dev/null
ip route del "$SVC_CIDR" dev "$VETH_H" 2>/dev/null
if [ -e "$ST" ]; then
  rm -rf "$ST" || die "could not remove $ST (still mounted? see: grep $ST /proc/self/mountinfo)"
fi
say "cluster down; binaries kept in $K8S_BIN"
