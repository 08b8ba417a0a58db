#!/usr/bin/env bash
# Builds the Flowplane images from the release tarballs (infra/Dockerfile):
#
#   bash infra/build-images.sh [TAG] [--release DIR] [--target worker|server]
#
#   TAG        default: the packages' version, also tagged latest
#   --release  use the tarballs `pnpm release:pack DIR` already wrote there instead of packing again
#   --target   build only flowplane/flowplane (worker) or only flowplane/server
#
# 1. `pnpm release:pack` writes the three tarballs into a temporary build context (or --release's are
#    copied there), with worker-package.json: the worker's third-party dependencies, which the
#    Dockerfile installs in a layer of their own so a change of our code alone does not reinstall them.
# 2. infra/docker/docker-node-image.sh builds the local Node 24 base images from the host's binaries: with
#    npm for the install stages, with the pull steps' tools (git, tar, npm, corepack) for the worker,
#    node alone for the server.
# 3. docker build, once per target: flowplane/flowplane:TAG (worker and flow runs; the docker, ECS and
#    Kubernetes pools' default image) and flowplane/server:TAG. The install stages fetch third-party
#    dependencies from the npm registry, so the build uses the host network.
#
# Each image is labelled flowplane.release-digest: a SHA-256 of what its tarballs contain
# (infra/build/release-digest.mjs) and of the base image it runs on. A TAG whose image already carries
# that digest is left as it is, so repeated builds of unchanged packages (test runs) cost nothing.
#
# FLOWPLANE_BASE_IMAGE_SUFFIX=-x names the base images flowplane-node:24-x, flowplane-node:24-npm-x
# and flowplane-node:24-runner-x,
# to try a change without replacing the base images others use.
set -euo pipefail
cd "$(dirname "$0")/.."

tags=()
release=""
targets=(worker server)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --release) release="$(realpath "${2:?--release DIR}")"; shift 2 ;;
    --target)
      [[ "${2:-}" == worker || "${2:-}" == server ]] || { echo "--target: expected worker or server" >&2; exit 2; }
      targets=("$2"); shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) tags+=("$1"); shift ;;
  esac
done
if [[ ${#tags[@]} -eq 0 ]]; then
  tags=("$(node -p 'require("./packages/cli/package.json").version')" latest)
fi
base_suffix="${FLOWPLANE_BASE_IMAGE_SUFFIX:-}"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT

if [[ -n "$release" ]]; then
  cp "$release"/flowplane-*.tgz "$context/"
else
  pnpm --silent release:pack "$context" >/dev/null
fi
# Where the registry is reached through a TLS-inspecting proxy, npm in the build needs its CA too.
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  cp "$NODE_EXTRA_CA_CERTS" "$context/extra-ca-certificates.crt"
else
  : >"$context/extra-ca-certificates.crt"
fi
# The third-party dependencies of the worker's packages (ours are bundled into them).
node - "$context" <<'EOF'
const { execFileSync } = require("node:child_process");
const { readdirSync, writeFileSync } = require("node:fs");
const path = require("node:path");
const dir = process.argv[2];
const dependencies = {};
for (const file of readdirSync(dir).filter((f) => /^flowplane-(\d|sdk-).*\.tgz$/.test(f)).sort()) {
  const manifest = JSON.parse(execFileSync("tar", ["-xzOf", path.join(dir, file), "package/package.json"]));
  Object.assign(dependencies, manifest.dependencies);
}
const pkg = { name: "flowplane-app", private: true, type: "module", dependencies };
writeFileSync(path.join(dir, "worker-package.json"), JSON.stringify(pkg, null, 2) + "\n");
EOF

# What a target's tarballs contain (infra/build/release-digest.mjs) and the id of the base image it runs
# on (a base with other tools makes another image), as one SHA-256.
digest_of() {
  local tarballs base
  if [[ "$1" == server ]]; then
    tarballs="$(node infra/build/release-digest.mjs "$context"/flowplane-*.tgz)"
    base="flowplane-node:24$base_suffix"
  else
    tarballs="$(node infra/build/release-digest.mjs "$context"/flowplane-[0-9]*.tgz "$context"/flowplane-sdk-*.tgz)"
    base="flowplane-node:24-runner$base_suffix"
  fi
  printf '%s %s' "$tarballs" "$(docker image inspect --format '{{.Id}}' "$base")" | sha256sum | cut -d' ' -f1
}

bash infra/docker/docker-node-image.sh "flowplane-node:24$base_suffix"
bash infra/docker/docker-node-image.sh "flowplane-node:24-npm$base_suffix" --with-npm
if [[ " ${targets[*]} " == *" worker "* ]]; then
  bash infra/docker/docker-node-image.sh "flowplane-node:24-runner$base_suffix" --with-pull-tools
fi

for target in "${targets[@]}"; do
  repository=$([[ $target == worker ]] && echo flowplane/flowplane || echo flowplane/server)
  digest="$(digest_of "$target")"
  missing=()
  for tag in "${tags[@]}"; do
    current="$(docker image inspect --format '{{ index .Config.Labels "flowplane.release-digest" }}' "$repository:$tag" 2>/dev/null || true)"
    [[ "$current" == "$digest" ]] || missing+=("$tag")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "$repository:${tags[0]} is up to date (release digest ${digest:0:12})" >&2
    continue
  fi
  docker build --network host -f infra/Dockerfile --target "$target" \
    --build-arg "NODE_IMAGE=flowplane-node:24$base_suffix" \
    --build-arg "NODE_BUILD_IMAGE=flowplane-node:24-npm$base_suffix" \
    --build-arg "NODE_RUNNER_IMAGE=flowplane-node:24-runner$base_suffix" \
    --label "flowplane.release-digest=$digest" \
    "${missing[@]/#/--tag=$repository:}" "$context" >&2
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^flowplane/(flowplane|server):${tags[0]} "
