#!/usr/bin/env bash
# A Node base image built without a registry (none is reachable here): a rootfs holding the host's
# node binary, /bin/sh and /usr/bin/env (for `#!/usr/bin/env node` bins) and the libraries `ldd` lists
# for them, `docker import`ed. With --with-npm it also carries the host's npm, for the build stages
# of infra/Dockerfile that `npm install` the release tarballs.
#
#   bash scripts/docker-node-image.sh IMAGE [--with-npm]
#
# The image is rebuilt only when the host's node version or the variant changes (a label on the
# image). The host's node must be the Node the images should run: Node 24 (see .ci/run).
set -euo pipefail

IMAGE="${1:?usage: docker-node-image.sh IMAGE [--with-npm]}"
WITH_NPM="${2:-}"

node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"
variant="$node_version${WITH_NPM:+-npm}"
current="$(docker image inspect --format '{{ index .Config.Labels "flowplane.node-version" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$current" == "$variant" ]]; then
  echo "$IMAGE is up to date (node $variant)"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/proc" \
  "$rootfs/sys" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cp "$node_bin" "$rootfs/usr/local/bin/node"
cp "$(readlink -f /bin/sh)" "$rootfs/usr/bin/sh"
cp "$(readlink -f /usr/bin/env)" "$rootfs/usr/bin/env"
# Every shared library these link against, at the path the dynamic loader looks for it (the loader
# itself is in the list as an absolute path).
for bin in "$node_bin" /bin/sh /usr/bin/env; do
  ldd "$(readlink -f "$bin")" | grep -oE '/[^ ]+' | while read -r lib; do
    cp --parents -L "$lib" "$rootfs/"
  done
done
# Debian's /lib, /lib64 and /bin are symlinks into /usr; ldd's paths go through them, so keep them as links.
for link in /lib /lib64 /bin; do
  if [[ -L "$link" && -d "$rootfs$link" && ! -L "$rootfs$link" ]]; then
    target="$(readlink "$link")"
    mkdir -p "$rootfs/$target"
    cp -a "$rootfs$link/." "$rootfs/$target/"
    rm -rf "${rootfs:?}$link"
  fi
  [[ -L "$link" && ! -e "$rootfs$link" ]] && ln -s "$(readlink "$link")" "$rootfs$link"
done
if [[ -n "$WITH_NPM" ]]; then
  # npm's bin is a link to <npm>/bin/npm-cli.js.
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
fi
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV HOME=/root' \
  --change "LABEL flowplane.node-version=$variant" \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
docker run --rm --network host "$IMAGE" node -e 'console.log(`node ${process.version} runs in ${process.env.HOSTNAME ?? "the container"}`)'
