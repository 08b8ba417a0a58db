#!/usr/bin/env bash
# A local Docker engine for the docker work pool's tests, and the image they run.
#
#   bash scripts/docker-engine.sh        # idempotent: installs, starts and builds only what is missing
#
# 1. Installs docker.io from Debian when dockerd is missing.
# 2. Starts dockerd with --bridge=none --iptables=false when no engine answers: containers use host
#    networking, so no test traffic leaves loopback and the host's firewall is left alone.
# 3. Builds `flowplane-node:test` with `docker import` (no registry is reachable): a rootfs holding only
#    the host's node binary and the libraries `ldd` lists. It runs the repository's runner when the
#    repository is bind-mounted at its own path and the container uses the host network. The image is
#    rebuilt when the host's node changes (its version is a label on the image).
set -euo pipefail

IMAGE="${FLOWPLANE_TEST_IMAGE:-flowplane-node:test}"
LOG="${DOCKERD_LOG:-/var/log/flowplane-dockerd.log}"

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

echo "== docker engine"
if ! command -v dockerd >/dev/null 2>&1; then
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io
fi

if ! docker info >/dev/null 2>&1; then
  # setsid: the engine outlives this script and the shell that ran it.
  as_root setsid dockerd --bridge=none --iptables=false >>"$LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "dockerd did not come up within 60 s; last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2 || true
    exit 1
  fi
fi
docker version --format 'engine {{.Server.Version}} (client {{.Client.Version}})'

echo "== image $IMAGE"
node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"
current="$(docker image inspect --format '{{ index .Config.Labels "flowplane.node-version" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$current" == "$node_version" ]]; then
  echo "$IMAGE is up to date (node $node_version)"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cp "$node_bin" "$rootfs/usr/local/bin/node"
# Every shared library node links against, at the path the dynamic loader looks for it (the loader
# itself is in the list as an absolute path).
ldd "$node_bin" | grep -oE '/[^ ]+' | while read -r lib; do
  cp --parents -L "$lib" "$rootfs/"
done
# Debian's /lib and /lib64 are symlinks into /usr; ldd's paths go through them, so keep them as links.
for link in /lib /lib64; do
  if [[ -L "$link" && -d "$rootfs$link" && ! -L "$rootfs$link" ]]; then
    target="$(readlink "$link")"
    mkdir -p "$rootfs/$target"
    cp -a "$rootfs$link/." "$rootfs/$target/"
    rm -rf "${rootfs:?}$link"
    ln -s "$target" "$rootfs$link"
  fi
done
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV HOME=/root' \
  --change "LABEL flowplane.node-version=$node_version" \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
docker run --rm --network host "$IMAGE" node -e 'console.log(`node ${process.version} runs in ${process.env.HOSTNAME ?? "the container"}`)'
