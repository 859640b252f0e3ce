#!/usr/bin/env bash
# Builds the base images the tests use, from files on this machine, without pulling:
#
#   devloop-test/busybox:latest  FROM scratch: Debian's busybox-static + applet symlinks
#                                (sh, httpd, nc, wget, ...), /etc/passwd, /tmp.  ~2 MB.
#   devloop-test/node:20         FROM scratch: this machine's node binary (symbols stripped)
#                                + the shared libraries ldd lists + the same busybox, so
#                                `sh -c` and `wget` work there too.  ~95 MB.
#
# The images are made with `docker import` from a tar of a staging folder (no builder, no
# base image). Each carries the label org.devloop.test.inputs=<sha256 of its inputs: these
# scripts, the binaries and libraries that go in>; an image whose label matches is not
# rebuilt. New images are checked by running them.
#
#   DEVLOOP_INFRA_VERIFY=1   also run the checks when nothing was rebuilt
#   DEVLOOP_IMAGES_FORCE=1   rebuild even when the label matches
#   DEVLOOP_NODE_STRIP=0     keep node's symbol table (image ~12 MB bigger)
set -euo pipefail
_infra_tag=images
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUSYBOX_IMAGE=devloop-test/busybox:latest
NODE_IMAGE=devloop-test/node:20
LABEL=org.devloop.test.inputs
NODE_STRIP=${DEVLOOP_NODE_STRIP:-1}
STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

need_root
docker info >/dev/null 2>&1 || die "docker is not up: run test/infra/docker.sh first"
[ -x /bin/busybox ] || apt_install busybox-static
NODE_SRC=$(command -v node) || die "node is not on PATH"
NODE_SRC=$(readlink -f "$NODE_SRC")

STAGE=$(mktemp -d /tmp/devloop-images.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT

image_label() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

# add_busybox ROOT: /bin/busybox plus one symlink per applet at its usual place
# (bin/sh, usr/bin/wget, usr/sbin/httpd, ...), as `busybox --list-full` says.
add_busybox() {
  local root=$1 applet
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
  cp /bin/busybox "$root/bin/busybox"
  while read -r applet; do
    case $applet in ""|bin/busybox|linuxrc) continue ;; esac
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done < <(/bin/busybox --list-full)
}

# add_base ROOT: /etc files, /tmp, /root. Extra passwd/group lines come as $2/$3.
add_base() {
  local root=$1
  mkdir -p "$root/etc" "$root/root" "$root/tmp" "$root/var/tmp"
  chmod 700 "$root/root"; chmod 1777 "$root/tmp" "$root/var/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\n%snobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' "${2:-}" >"$root/etc/passwd"
  printf 'root:x:0:\n%snogroup:x:65534:\n' "${3:-}" >"$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
}

# import ROOT IMAGE HASH CHANGE...: tar ROOT reproducibly and `docker import` it.
import_image() {
  local root=$1 image=$2 hash=$3 id old
  shift 3
  old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
  local changes=(--change "LABEL $LABEL=$hash" --change "ENV PATH=$STD_PATH")
  local c
  for c in "$@"; do changes+=(--change "$c"); done
  id=$(tar --sort=name --mtime=@0 --numeric-owner --format=gnu -C "$root" -c . \
    | docker import "${changes[@]}" - "$image") || die "docker import $image failed"
  # The image the tag pointed at before is now dangling: drop it (kept if something uses it).
  if [ -n "$old" ] && [ "$old" != "$id" ]; then docker image rm "$old" >/dev/null 2>&1 || true; fi
  log "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}'), ${id:7:12})"
}

# ---- devloop-test/busybox:latest -------------------------------------------
verify_busybox() {
  local out
  out=$(docker run --rm "$BUSYBOX_IMAGE" sh -c '
    set -e
    mkdir -p /tmp/www && echo httpd-ok > /tmp/www/index.html
    httpd -p 8080 -h /tmp/www
    wget -q -O - http://localhost:8080/
    timeout 2 wget -q -O - "http://localhost:8080/index.html"
    (nc -l -p 9000 > /tmp/nc.out &) ; sleep 0.3
    echo nc-ok | nc -w 2 127.0.0.1 9000 || true
    sleep 0.3; cat /tmp/nc.out
    id -un
  ' 2>&1) || { echo "$out" >&2; die "$BUSYBOX_IMAGE: shell/httpd/wget/nc check failed"; }
  [ "$out" = $'httpd-ok\nhttpd-ok\nnc-ok\nroot' ] || { echo "$out" >&2; die "$BUSYBOX_IMAGE: unexpected check output"; }
  # `httpd -f -p 8080` in the foreground, published to the host.
  local port name body i
  port=$(free_port 39000 39999) || die "no free port"
  name=devloop-images-bbcheck-$$
  docker run -d --name "$name" -p "127.0.0.1:$port:8080" "$BUSYBOX_IMAGE" \
    sh -c 'mkdir -p /w && echo published-ok > /w/index.html && exec httpd -f -p 8080 -h /w' >/dev/null
  for ((i = 0; i < 40; i++)); do
    body=$(curl -s -m 2 "http://127.0.0.1:$port/" || true)
    [ "$body" = published-ok ] && break
    sleep 0.25
  done
  docker rm -f "$name" >/dev/null
  [ "$body" = published-ok ] || die "$BUSYBOX_IMAGE: httpd -f -p 8080 not reachable on 127.0.0.1:$port"
  log "$BUSYBOX_IMAGE ok: sh -c, httpd -f -p 8080 (published on 127.0.0.1:$port), wget, nc"
}

# Input hash without staging anything: this script, busybox and its applet list.
SCRIPT_HASH=$(cat "${BASH_SOURCE[0]}" "$(dirname "${BASH_SOURCE[0]}")/lib.sh" | sha256_stdin)
bb_hash=$( { echo "script $SCRIPT_HASH"; sha256sum </bin/busybox; /bin/busybox --list-full; } | sha256_stdin)
if [ "${DEVLOOP_IMAGES_FORCE:-0}" != 1 ] && [ "$(image_label "$BUSYBOX_IMAGE")" = "$bb_hash" ]; then
  log "$BUSYBOX_IMAGE is up to date (${bb_hash:0:12})"
  [ "${DEVLOOP_INFRA_VERIFY:-0}" = 1 ] && verify_busybox
else
  bb=$STAGE/busybox
  mkdir -p "$bb"
  add_busybox "$bb"
  add_base "$bb"
  import_image "$bb" "$BUSYBOX_IMAGE" "$bb_hash" 'CMD ["sh"]'
  verify_busybox
fi

# ---- devloop-test/node:20 --------------------------------------------------
NODE_VERSION=$("$NODE_SRC" -p 'process.versions.node')
[ "${NODE_VERSION%%.*}" = 20 ] || warn "this machine's node is $NODE_VERSION, not 20.x; it still goes into $NODE_IMAGE"

verify_node() {
  local out port name body i
  out=$(docker run --rm "$NODE_IMAGE" node -e "console.log(1+1)" 2>&1) || { echo "$out" >&2; die "$NODE_IMAGE: node does not run"; }
  [ "$out" = 2 ] || { echo "$out" >&2; die "$NODE_IMAGE: node -e 'console.log(1+1)' printed '$out'"; }
  out=$(docker run --rm "$NODE_IMAGE" node -e '
    const dns = require("dns"), os = require("os"), crypto = require("crypto");
    dns.lookup("localhost", (e, a) => {
      if (e) throw e;
      console.log([os.userInfo().username, crypto.createHash("sha256").update("x").digest("hex").slice(0, 8),
        new Intl.DateTimeFormat("de-DE", { timeZone: "UTC" }).format(new Date(0))].join(" "));
    });' 2>&1) || { echo "$out" >&2; die "$NODE_IMAGE: dns/os/crypto/intl check failed"; }
  [ "$out" = "root 2d711642 1.1.1970" ] || { echo "$out" >&2; die "$NODE_IMAGE: unexpected check output '$out'"; }
  port=$(free_port 39000 39999) || die "no free port"
  name=devloop-images-nodecheck-$$
  docker run -d --name "$name" -p "127.0.0.1:$port:$port" "$NODE_IMAGE" \
    node -e "require('http').createServer((q, s) => s.end('node-ok')).listen($port)" >/dev/null
  for ((i = 0; i < 60; i++)); do
    body=$(curl -s -m 2 "http://127.0.0.1:$port/" || true)
    [ "$body" = node-ok ] && break
    sleep 0.25
  done
  docker rm -f "$name" >/dev/null
  [ "$body" = node-ok ] || die "$NODE_IMAGE: a node server in the container is not reachable on 127.0.0.1:$port"
  log "$NODE_IMAGE ok: node $NODE_VERSION runs, resolves localhost, listens (published on 127.0.0.1:$port)"
}

# Input hash: this script, busybox, the node binary and the libraries ldd lists. Staging
# (~100 MB of copies) only happens when it changed.
mapfile -t libs < <(ldd "$NODE_SRC" | awk '/=> \// {print $3} /^[[:space:]]*\/[^ ]+ \(/ {print $1}' | sort -u)
[ ${#libs[@]} -gt 0 ] || die "ldd found no libraries for $NODE_SRC (is it static? then drop this check)"
node_inputs() {
  echo "strip $NODE_STRIP busybox $bb_hash"
  echo "node $NODE_VERSION $(sha256sum <"$NODE_SRC" | cut -d' ' -f1)"
  local l
  for l in "${libs[@]}"; do echo "lib $l $(sha256sum <"$l" | cut -d' ' -f1)"; done
}
node_hash=$(node_inputs | sha256_stdin)
if [ "${DEVLOOP_IMAGES_FORCE:-0}" != 1 ] && [ "$(image_label "$NODE_IMAGE")" = "$node_hash" ]; then
  log "$NODE_IMAGE is up to date (${node_hash:0:12})"
  [ "${DEVLOOP_INFRA_VERIFY:-0}" = 1 ] && verify_node
else
  nd=$STAGE/node
  mkdir -p "$nd/usr/local/bin"
  add_busybox "$nd"
  add_base "$nd" $'node:x:1000:1000::/home/node:/bin/sh\n' $'node:x:1000:\n'
  mkdir -p "$nd/home/node" && chown 1000:1000 "$nd/home/node"
  if [ "$NODE_STRIP" = 1 ] && command -v strip >/dev/null; then
    strip -o "$nd/usr/local/bin/node" "$NODE_SRC"
  else
    cp "$NODE_SRC" "$nd/usr/local/bin/node"
  fi
  chmod 755 "$nd/usr/local/bin/node"
  for l in "${libs[@]}"; do
    mkdir -p "$nd$(dirname "$l")"
    cp -L "$l" "$nd$l"   # at the path the loader looks for, as a real file
  done
  import_image "$nd" "$NODE_IMAGE" "$node_hash" "ENV NODE_VERSION=$NODE_VERSION" 'CMD ["node"]'
  verify_node
fi

docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' devloop-test/busybox >&2
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' devloop-test/node >&2
