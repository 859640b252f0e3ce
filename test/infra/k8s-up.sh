#!/usr/bin/env bash
# k8s-up.sh - a real, local Kubernetes cluster for devloop's Kubernetes tests; nothing is pulled.
#   control plane: etcd + kube-apiserver + kube-controller-manager + kube-scheduler on 127.0.0.1
#   one real node: kubelet + kube-proxy + Debian's containerd/runc/CNI plugins inside the network
#                  namespace dlk-NAME (no default route), joined to the host by a veth pair
#   CoreDNS (cluster.local only); the kwok controller (always, for nodes annotated
#   kwok.x-k8s.io/node=fake: devloop's Autopilot provisioner makes some) and N fake nodes (--kwok N)
#   the Gateway API standard CRDs (DEVLOOP_GATEWAY_API_VERSION, v1.2.1), also on a reused cluster
#   helm (DEVLOOP_HELM_VERSION, v4.3.2) built once into the cache, linked as $ST/bin/helm, also on a reused cluster
#   images: pushed to the registry at 127.0.0.1:5001 (test/infra/up.sh) run on the real node;
#           the cluster publishes it in kube-public/local-registry-hosting (KEP-1755)
# Idempotent: a healthy cluster is reused (~1 s), anything else is torn down and rebuilt.
# The last line on stdout is `export KUBECONFIG=PATH`.
#
# Usage: k8s-up.sh [--kwok N]
# Env (see k8s-lib.sh): DEVLOOP_K8S_STATE (/tmp/devloop-k8s)  DEVLOOP_K8S_PORT (16443)
#   DEVLOOP_K8S_CACHE (/var/cache/devloop-k8s)  DEVLOOP_K8S_NAME (devloop)  DEVLOOP_K8S_NET (10.250.0)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/k8s-lib.sh"

KWOK_NODES=0
while [ $# -gt 0 ]; do
  case $1 in
    --kwok) [[ "${2:-}" =~ ^[0-9]+$ ]] || die "--kwok needs a node count, e.g. --kwok 2"; KWOK_NODES=$2; shift 2 ;;
    --kwok=*) KWOK_NODES=${1#--kwok=}; [[ "$KWOK_NODES" =~ ^[0-9]+$ ]] || die "--kwok needs a node count, e.g. --kwok=2"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (usage: k8s-up.sh [--kwok N])" ;;
  esac
done
need_root
# The kwok node count is not part of WANT: kwok_up below adds or removes fake nodes on a running cluster.
WANT="$K8S_VERSION etcd=$ETCD_VERSION coredns=$COREDNS_VERSION port=$PORT net=$NET ns=$NS registry=$REGISTRY"

start() { local n=$1; shift; setsid "$@" >"$LOGS/$n.log" 2>&1 </dev/null & echo $! >"$RUN/$n"; }
# wait_for WHAT SECONDS CMD...
wait_for() {
  local what=$1 t=$2 i; shift 2
  for ((i = 0; i < t * 5; i++)); do "$@" >/dev/null 2>&1 && { say "$what ready"; return 0; }; sleep 0.2; done
  say "TIMEOUT after ${t}s waiting for $what; last log lines:"
  tail -n 15 "$LOGS"/*.log >&2
  die "$what did not come up: see the logs in $LOGS, then run bash test/infra/k8s-down.sh"
}

# The kwok controller always runs (devloop's Autopilot provisioner creates nodes for it to manage);
# it manages only nodes annotated kwok.x-k8s.io/node=fake, never the real node. Idempotent: starts
# kwok when it is not running, then makes the fake nodes kwok-node-0..N-1 and removes higher ones.
kwok_up() {
  if ! pid_alive "$RUN/kwok"; then
    say "kwok $KWOK_VERSION controller (nodes annotated kwok.x-k8s.io/node=fake)"
    start kwok "$K8S_BIN/kwok" --kubeconfig "$ST/kwok.kubeconfig" --config "$K8S_BIN/kwok-stages.yaml" \
      --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
      --cidr "${POD_CIDR%.*.*}.255.0/24" --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --server-address "127.0.0.1:$KWOK_PORT" \
      --tls-cert-file "$P/kwok-serving.crt" --tls-private-key-file "$P/kwok-serving.key" --node-lease-duration-seconds 40
    sleep 0.5
    pid_alive "$RUN/kwok" || { tail -n 15 "$LOGS/kwok.log" >&2; die "kwok exited at start: see $LOGS/kwok.log"; }
  fi
  local n i
  for n in $(KC get nodes -l type=kwok -o 'jsonpath={.items[*].metadata.name}'); do
    i=${n#kwok-node-}
    [[ "$i" =~ ^[0-9]+$ ]] && [ "$i" -ge "$KWOK_NODES" ] && KC delete node "$n" --wait=false >/dev/null
  done
  [ "$KWOK_NODES" -gt 0 ] || return 0
  say "kwok: $KWOK_NODES fake node(s) kwok-node-0.. (taint kwok.x-k8s.io/node=fake:NoSchedule)"
  for ((i = 0; i < KWOK_NODES; i++)); do
    KC apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
spec:
  taints:
  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
status:
  allocatable: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
  nodeInfo: {architecture: amd64, operatingSystem: linux, kubeletVersion: $K8S_VERSION, kubeProxyVersion: $K8S_VERSION, containerRuntimeVersion: "containerd://fake"}
EOF2
  done
  wait_for "kwok nodes" 60 KC wait --for=condition=Ready node -l type=kwok --timeout=1s
}

# ------------------------------------------------------------------ 0. reuse a healthy cluster
healthy() {
  # (a cluster from before kwok left WANT has " kwok=N" in .up: the same cluster)
  [ -f "$ST/.up" ] && [ "$(sed 's/ kwok=[0-9]*//' "$ST/.up")" = "$WANT" ] || return 1
  local f
  # kwok is not checked here: kwok_up restarts it without touching the rest
  for f in "$RUN"/*; do [ -e "$f" ] && [ "${f##*/}" != kwok ] || continue; pid_alive "$f" || return 1; done
  curl -sf --max-time 3 --cacert "$P/ca.crt" "https://127.0.0.1:$PORT/readyz" >/dev/null || return 1
  KC wait --for=condition=Ready "node/$NODE" --timeout=5s >/dev/null 2>&1
}
if healthy; then
  say "cluster already up and healthy ($ST)"
  kwok_up
  gateway_api_crds
  helm_bin
  echo "export KUBECONFIG=$ST/admin.kubeconfig"
  exit 0
fi
if [ -e "$ST" ] || ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$NS"; then
  say "stale or different cluster in $ST: tearing it down first"
  bash "$HERE/k8s-down.sh" >&2
fi
for p in "$PORT" "$ETCD_PORT" "$((ETCD_PORT + 1))" "$((ETCD_PORT + 2))" "$KCM_PORT" "$SCHED_PORT"; do
  ss -Htln "sport = :$p" | grep -q . && die "port $p is already in use (ss -tlnp 'sport = :$p'): pick other ports with DEVLOOP_K8S_PORT (the others follow it)"
done
ip -4 route show | grep -v "dev $VETH_H" | grep -qE "^($NET\.|${POD_CIDR%%/*} |${SVC_CIDR%%/*} )" \
  && die "a route for $NET.0/30, $POD_CIDR or $SVC_CIDR already exists (ip route): set DEVLOOP_K8S_NET / DEVLOOP_K8S_POD_CIDR / DEVLOOP_K8S_SVC_CIDR"

# ------------------------------------------------------------------ 1. packages and binaries
apt_install containerd runc containernetworking-plugins socat conntrack iptables iproute2 util-linux \
  openssl curl gcc libc6-dev
bash "$HERE/k8s-build.sh" --kwok

# images are made here as OCI archives and imported into containerd: nothing is ever pulled
# oci_archive OUT REF ROOTFS ENTRYPOINT_JSON
oci_archive() {
  local out=$1 ref=$2 root=$3 ep=$4 w ld lsz cd csz md msz
  w=$(mktemp -d); mkdir -p "$w/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$w/layer" .
  ld=$(sha256sum "$w/layer" | cut -d' ' -f1); lsz=$(stat -c %s "$w/layer"); mv "$w/layer" "$w/blobs/sha256/$ld"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$ep" "$ld" > "$w/c"
  cd=$(sha256sum "$w/c" | cut -d' ' -f1); csz=$(stat -c %s "$w/c"); mv "$w/c" "$w/blobs/sha256/$cd"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$cd" "$csz" "$ld" "$lsz" > "$w/m"
  md=$(sha256sum "$w/m" | cut -d' ' -f1); msz=$(stat -c %s "$w/m"); mv "$w/m" "$w/blobs/sha256/$md"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' "$md" "$msz" "$ref" "${ref##*:}" > "$w/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' > "$w/oci-layout"
  tar -C "$w" -cf "$out.tmp" oci-layout index.json blobs && mv "$out.tmp" "$out"
  rm -rf "$w"
}
PAUSE_IMAGE=registry.k8s.io/pause:3.10
COREDNS_IMAGE=registry.k8s.io/coredns/coredns:$COREDNS_VERSION
mkdir -p "$K8S_BIN/images"
if [ ! -s "$K8S_BIN/images/pause.tar" ]; then
  say "building the pause image from k8s.io/kubernetes build/pause/linux/pause.c (gcc -static)"
  r=$(mktemp -d)
  kdir=$(cd "$K8S_CACHE/src/kubernetes-$K8S_VERSION" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
  gcc -Os -static -DVERSION=v3.10-devloop -o "$r/pause" "$kdir/build/pause/linux/pause.c"
  strip "$r/pause"
  oci_archive "$K8S_BIN/images/pause.tar" "$PAUSE_IMAGE" "$r" '["/pause"]'; rm -rf "$r"
fi
if [ ! -s "$K8S_BIN/images/coredns.tar" ]; then
  r=$(mktemp -d); cp "$K8S_BIN/coredns" "$r/coredns"
  oci_archive "$K8S_BIN/images/coredns.tar" "$COREDNS_IMAGE" "$r" '["/coredns"]'; rm -rf "$r"
fi

# ------------------------------------------------------------------ 2. PKI and kubeconfigs
mkdir -p "$P" "$LOGS" "$RUN"
say "PKI (openssl, EC P-256) in $P"
newca() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$P/$1.key" 2>/dev/null
  openssl req -x509 -new -key "$P/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$P/$1.crt"
}
# cert NAME CN O|"" USAGES [SAN]   (signed by $CA, default ca)
cert() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$P/$1.key" 2>/dev/null
  openssl req -new -key "$P/$1.key" -subj "/CN=$2${3:+/O=$3}" -out "$P/$1.csr"
  { echo "basicConstraints=CA:FALSE"; echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$4"; [ -n "${5:-}" ] && echo "subjectAltName=$5"; } > "$P/$1.ext"
  openssl x509 -req -in "$P/$1.csr" -CA "$P/${CA:-ca}.crt" -CAkey "$P/${CA:-ca}.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$P/$1.ext" -out "$P/$1.crt" 2>/dev/null
}
newca ca "$CONTEXT-ca"
cert apiserver kube-apiserver "" serverAuth \
  "IP:127.0.0.1,IP:$API_SVC_IP,IP:$HOST_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
cert admin kubernetes-admin system:masters clientAuth
cert controller-manager system:kube-controller-manager "" clientAuth
cert scheduler system:kube-scheduler "" clientAuth
cert kubelet "system:node:$NODE" system:nodes clientAuth
cert kubelet-serving "system:node:$NODE" system:nodes serverAuth "IP:$NODE_IP,DNS:$NODE"
cert kube-proxy system:kube-proxy "" clientAuth
cert kwok kwok-controller system:masters clientAuth
cert kwok-serving kwok-node "" serverAuth "IP:127.0.0.1"
newca front-proxy-ca "$CONTEXT-front-proxy-ca"
CA=front-proxy-ca cert front-proxy-client front-proxy-client "" clientAuth
openssl ecparam -name prime256v1 -genkey -noout -out "$P/sa.key" 2>/dev/null
openssl ec -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
chmod 600 "$P"/*.key
# kubeconfig FILE CERT SERVER
kubeconfig() {
  cat > "$ST/$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: $CONTEXT
  cluster:
    server: $3
    certificate-authority-data: $(base64 -w0 "$P/ca.crt")
users:
- name: $CONTEXT-$2
  user:
    client-certificate-data: $(base64 -w0 "$P/$2.crt")
    client-key-data: $(base64 -w0 "$P/$2.key")
contexts:
- name: $CONTEXT
  context: {cluster: $CONTEXT, user: $CONTEXT-$2, namespace: default}
current-context: $CONTEXT
KC
  chmod 600 "$ST/$1.kubeconfig"
}
# the matching kubectl next to the kubeconfig (/usr/bin/kubectl, where present, is outside the
# version skew policy): tests and people use $ST/bin/kubectl
mkdir -p "$ST/bin"; ln -sf "$K8S_BIN/kubectl" "$ST/bin/kubectl"
for k in admin controller-manager scheduler kwok; do kubeconfig "$k" "$k" "https://127.0.0.1:$PORT"; done
# the node reaches the API server through the relay on the host end of the veth
kubeconfig kubelet kubelet "https://$HOST_IP:$PORT"
kubeconfig kube-proxy kube-proxy "https://$HOST_IP:$PORT"

# start NAME CMD...: a daemon in its own session (so k8s-down.sh can stop its whole group),
# pid in $RUN/NAME, output in $LOGS/NAME.log
INNS() { nsenter --net="/run/netns/$NS" -- "$@"; }

# ------------------------------------------------------------------ 3. control plane
say "etcd $ETCD_VERSION on 127.0.0.1:$ETCD_PORT"
start etcd "$K8S_BIN/etcd" --name "$NAME" --data-dir "$ST/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "$NAME=http://127.0.0.1:$((ETCD_PORT + 1))" --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 2))" \
  --quota-backend-bytes 4294967296 --unsafe-no-fsync --log-level warn
wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# the network namespace first: the API server advertises the host end of the veth (it refuses a
# loopback address), and that address must exist before it starts
say "network namespace $NS: $VETH_H $HOST_IP <-> $VETH_N $NODE_IP, no default route inside"
ip netns add "$NS"
ip link add "$VETH_H" type veth peer name "$VETH_N"
ip link set "$VETH_N" netns "$NS"
ip addr add "$HOST_IP/30" dev "$VETH_H"; ip link set "$VETH_H" up
INNS ip addr add "$NODE_IP/30" dev "$VETH_N"; INNS ip link set "$VETH_N" up; INNS ip link set lo up
# pod and service addresses lead into the namespace, never to the host's default route (eth0)
ip route add "$POD_CIDR" via "$NODE_IP" dev "$VETH_H"
ip route add "$SVC_CIDR" via "$NODE_IP" dev "$VETH_H"
INNS sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1

say "kube-apiserver $K8S_VERSION on https://127.0.0.1:$PORT"
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --secure-port "$PORT" --advertise-address "$HOST_IP" \
  --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" --client-ca-file "$P/ca.crt" \
  --requestheader-client-ca-file "$P/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$P/front-proxy-client.crt" --proxy-client-key-file "$P/front-proxy-client.key" \
  --kubelet-client-certificate "$P/apiserver-kubelet-client.crt" --kubelet-client-key "$P/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
  --service-cluster-ip-range "$SVC_CIDR" --service-node-port-range 30000-32767 \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --profiling=false --v=1
wait_for kube-apiserver 120 curl -sf --cacert "$P/ca.crt" "https://127.0.0.1:$PORT/readyz"

say "kube-controller-manager (:$KCM_PORT) and kube-scheduler (:$SCHED_PORT)"
start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$ST/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$ST/controller-manager.kubeconfig" --authorization-kubeconfig "$ST/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
  --cluster-signing-cert-file "$P/ca.crt" --cluster-signing-key-file "$P/ca.key" \
  --root-ca-file "$P/ca.crt" --service-account-private-key-file "$P/sa.key" --use-service-account-credentials=true \
  --allocate-node-cidrs=true --cluster-cidr "$POD_CIDR" --node-cidr-mask-size 24 --service-cluster-ip-range "$SVC_CIDR" --v=1
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$ST/scheduler.kubeconfig" \
  --authentication-kubeconfig "$ST/scheduler.kubeconfig" --authorization-kubeconfig "$ST/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --v=1
# relays on the host end of the veth: the node reaches the API server and the registry, both of
# which listen on the host's 127.0.0.1 only
start relay-apiserver socat "TCP-LISTEN:$PORT,bind=$HOST_IP,fork,reuseaddr" "TCP:127.0.0.1:$PORT"
start relay-registry socat "TCP-LISTEN:${REGISTRY##*:},bind=$HOST_IP,fork,reuseaddr" "TCP:$REGISTRY"
wait_for kube-controller-manager 60 curl -sfk "https://127.0.0.1:$KCM_PORT/healthz"
wait_for kube-scheduler 60 curl -sfk "https://127.0.0.1:$SCHED_PORT/healthz"

# ------------------------------------------------------------------ 4. the real node
say "containerd $(containerd --version | awk '{print $3}') in $NS"
mkdir -p "$ST/containerd/certs.d/$REGISTRY" "$ST/cni/net.d" "$ST/cni/ipam" "$ST/kubelet"
cat > "$ST/containerd/config.toml" <<EOF2
version = 2
root = "$ST/containerd/root"
state = "$ST/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  enable_selinux = false
  # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj (the pause container asks
  # for -998) and every sandbox would fail with "can't get final child's PID from pipe: EOF"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ST/cni/net.d"
    conf_template = "$ST/cni/template.json"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$ST/containerd/certs.d"
EOF2
# images named $REGISTRY/... are pulled over plain http through the relay on the veth: inside the
# namespace, 127.0.0.1 is the namespace's own loopback
cat > "$ST/containerd/certs.d/$REGISTRY/hosts.toml" <<EOF2
server = "http://$REGISTRY"

[host."http://$HOST_IP:${REGISTRY##*:}"]
  capabilities = ["pull", "resolve"]
EOF2
# containerd renders this once the kubelet reports the podCIDR the controller-manager allocated
cat > "$ST/cni/template.json" <<EOF2
{
  "cniVersion": "0.4.0",
  "name": "$NAME",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$ST/cni/ipam", "ranges": [[{"subnet": "{{.PodCIDR}}"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF2
# nsenter --net, not `ip netns exec`: the latter gives a private mount namespace, and volumes the
# kubelet mounts would then be invisible to containerd
start containerd nsenter --net="/run/netns/$NS" -- containerd --config "$ST/containerd/config.toml"
wait_for containerd 30 CTR version
CTR images import "$K8S_BIN/images/pause.tar" >/dev/null
CTR images import "$K8S_BIN/images/coredns.tar" >/dev/null

say "kubelet and kube-proxy $K8S_VERSION in $NS (node $NODE, cgroup v$([ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && echo 2 || echo 1))"
cat > "$ST/kubelet/config.yaml" <<EOF2
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $P/kubelet-serving.crt
tlsPrivateKeyFile: $P/kubelet-serving.key
containerRuntimeEndpoint: unix://$SOCK
# PID 1 is not systemd and the machine is cgroup v1 (hybrid)
cgroupDriver: cgroupfs
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
failSwapOn: false
failCgroupV1: false
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
registerNode: true
nodeStatusReportFrequency: 10s
EOF2
start kubelet nsenter --net="/run/netns/$NS" -- "$K8S_BIN/kubelet" --config "$ST/kubelet/config.yaml" \
  --kubeconfig "$ST/kubelet.kubeconfig" --root-dir "$ST/kubelet" --hostname-override "$NODE" --node-ip "$NODE_IP" --v=1
cat > "$ST/kube-proxy.yaml" <<EOF2
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $ST/kube-proxy.kubeconfig}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF2
start kube-proxy nsenter --net="/run/netns/$NS" -- "$K8S_BIN/kube-proxy" --config "$ST/kube-proxy.yaml" --v=1
wait_for "node $NODE" 120 KC wait --for=condition=Ready "node/$NODE" --timeout=1s
# pods cannot be created before the default ServiceAccount exists (the slowest step, ~5 s)
wait_for "default ServiceAccount" 60 KC get serviceaccount default -n default

# ------------------------------------------------------------------ 5. registry (KEP-1755), CoreDNS
KC apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: ConfigMap
metadata: {name: local-registry-hosting, namespace: kube-public}
data:
  localRegistryHosting.v1: |
    host: "$REGISTRY"
    help: "https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry"
EOF2

say "CoreDNS $COREDNS_VERSION (kube-dns $DNS_IP, cluster.local only, no upstream)"
KC apply -f - >/dev/null <<EOF2
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 1s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        cache 30
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      priorityClassName: system-cluster-critical
      nodeSelector: {kubernetes.io/hostname: $NODE}
      dnsPolicy: Default
      terminationGracePeriodSeconds: 2
      containers:
      - name: coredns
        image: $COREDNS_IMAGE
        imagePullPolicy: Never
        args: ["-conf", "/etc/coredns/Corefile"]
        ports:
        - {containerPort: 53, name: dns, protocol: UDP}
        - {containerPort: 53, name: dns-tcp, protocol: TCP}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /health, port: 8080}}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_IP
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
EOF2
# while the CoreDNS pod starts
gateway_api_crds
wait_for CoreDNS 90 KC -n kube-system rollout status deploy/coredns --timeout=1s

# ------------------------------------------------------------------ 6. kwok controller, fake nodes (--kwok N)
kwok_up

# ------------------------------------------------------------------ 7. helm for the Helm source tests
helm_bin

echo "$WANT" > "$ST/.up"
say "cluster up: context $CONTEXT, $(KC get nodes --no-headers 2>/dev/null | wc -l) node(s)"
echo "export KUBECONFIG=$ST/admin.kubeconfig"
