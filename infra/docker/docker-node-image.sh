#!/usr/bin/env bash
# A Node base image built without a registry (none is reachable here): a rootfs holding the host's
# node binary, /bin/sh and /usr/bin/env (for `#!/usr/bin/env node` bins) and the libraries `ldd` lists
# for them, `docker import`ed. With --with-npm it also carries the host's npm, for the build stages
# of infra/Dockerfile that `npm install` the release tarballs. With --with-pull-tools it carries
# what the runner's pull steps run (packages/steps) when a container fetches its own code: git with
# the helper its https transport execs (git-remote-http) and Debian's Mozilla CA bundle, tar, gzip, npm,
# and corepack's pnpm and yarn shims for projects locked with those — the flowplane image's base.
# (node:24-bookworm-slim has node, npm, corepack and tar, and lacks only git and ca-certificates.)
#
#   bash infra/docker/docker-node-image.sh IMAGE [--with-npm | --with-pull-tools]
#
# The image is rebuilt only when the host's node version or the variant changes (a label on the
# image). The host's node must be the Node the images should run: a tag that starts with a Node major
# (flowplane-node:24...) is refused from any other major (.ci/run brings Node 24).
set -euo pipefail

IMAGE="${1:?usage: docker-node-image.sh IMAGE [--with-npm | --with-pull-tools]}"
WITH_NPM=""
WITH_PULL_TOOLS=""
case "${2:-}" in
  "") ;;
  --with-npm) WITH_NPM=1 ;;
  --with-pull-tools) WITH_NPM=1 WITH_PULL_TOOLS=1 ;;
  *) echo "unknown option $2" >&2; exit 2 ;;
esac

node_bin="$(readlink -f "$(command -v node)")"
node_version="$("$node_bin" --version)"
# A tag that starts with a Node major (flowplane-node:24, :24-npm, :24-runner) promises that Node:
# infra/Dockerfile's images run on it, so it is never built from another node on PATH.
tag="${IMAGE##*:}"
if [[ "$IMAGE" == *:* && "$tag" =~ ^([0-9]+)(-|$) ]]; then
  wanted="${BASH_REMATCH[1]}"
  found="${node_version#v}"
  found="${found%%.*}"
  if [[ "$found" != "$wanted" ]]; then
    echo "$IMAGE must be built from Node $wanted, but the node on PATH ($node_bin) is $node_version;" \
      "put a Node $wanted first on PATH (.ci/run installs one)" >&2
    exit 1
  fi
fi
# The variant's contents are part of its label, so a change of what a variant carries rebuilds it.
COREPACK_VERSION=0.36.0
variant="$node_version${WITH_NPM:+-npm}${WITH_PULL_TOOLS:+-pull-tools-corepack-$COREPACK_VERSION}"
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
binaries=("$node_bin" /bin/sh /usr/bin/env)
if [[ -n "$WITH_PULL_TOOLS" ]]; then
  # git runs its built-in commands (fetch, archive, ls-remote...) from its one binary, reached through
  # the links in its exec path; http(s) remotes go through git-remote-http, the only helper that links
  # libcurl. The shell-script commands and the server side (daemon, http-backend) are left out.
  exec_path="$(git --exec-path)"
  mkdir -p "$rootfs$exec_path" "$rootfs/usr/share/git-core"
  cp "$(readlink -f "$(command -v git)")" "$rootfs/usr/bin/git"
  cp "$exec_path/git" "$exec_path/git-remote-http" "$rootfs$exec_path/"
  find "$exec_path" -maxdepth 1 -type l -exec cp -P {} "$rootfs$exec_path/" \;
  cp -r /usr/share/git-core/templates "$rootfs/usr/share/git-core/"
  # download_bundle extracts with `tar -xz`, which runs gzip.
  cp "$(readlink -f "$(command -v tar)")" "$rootfs/usr/bin/tar"
  cp "$(readlink -f "$(command -v gzip)")" "$rootfs/usr/bin/gzip"
  # Debian's Mozilla set only (not the host's /etc/ssl/certs, which may trust a local proxy), at the
  # path Debian's libcurl-gnutls reads by default.
  mkdir -p "$rootfs/etc/ssl/certs"
  cat /usr/share/ca-certificates/mozilla/*.crt >"$rootfs/etc/ssl/certs/ca-certificates.crt"
  binaries+=("$exec_path/git" "$exec_path/git-remote-http" /usr/bin/tar /usr/bin/gzip)
fi
# Every shared library these link against, at the path the dynamic loader looks for it (the loader
# itself is in the list as an absolute path).
for bin in "${binaries[@]}"; do
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
if [[ -n "$WITH_PULL_TOOLS" ]]; then
  # install_dependencies runs the project's own package manager; corepack's shims fetch the pnpm or
  # yarn version the project's packageManager field names on first use (what node's images offer).
  # From the npm registry at a known version, not the host's: an older corepack does not know the
  # keys current pnpm releases are signed with and refuses them ("No compatible signature found").
  corepack_prefix="$(mktemp -d)"
  npm install --global --prefix "$corepack_prefix" "corepack@$COREPACK_VERSION" --no-audit --no-fund >/dev/null
  cp -a "$corepack_prefix/lib/node_modules/corepack" "$rootfs/usr/local/lib/node_modules/corepack"
  rm -rf "$corepack_prefix"
  for shim in corepack pnpm pnpx yarn yarnpkg; do
    ln -s "../lib/node_modules/corepack/dist/$shim.js" "$rootfs/usr/local/bin/$shim"
  done
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
if [[ -n "$WITH_PULL_TOOLS" ]]; then
  # A missing helper makes git say "'remote-https' is not a git command"; an unresolvable host proves it ran.
  docker run --rm --network none "$IMAGE" sh -c 'git --version && tar --version >/dev/null && gzip --version >/dev/null && npm --version >/dev/null &&
    test -x /usr/local/bin/pnpm && out="$(git ls-remote https://flowplane.invalid/x 2>&1)";
    case "$out" in *"not a git command"*|"") echo "$out" >&2; exit 1 ;; esac'
fi
