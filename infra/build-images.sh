#!/usr/bin/env bash
# Builds the Flowplane images from the release tarballs (infra/Dockerfile):
#
#   bash infra/build-images.sh [TAG]    # default: the packages' version, also tagged latest
#
# 1. `pnpm release:pack` writes the three tarballs into a temporary build context.
# 2. scripts/docker-node-image.sh builds the local Node 24 base images (with npm for the install
#    stage, without for the runtime stages) from the host's node binary.
# 3. docker build, once per target: flowplane/flowplane:TAG (worker and flow runs; the docker, ECS and
#    Kubernetes pools' default image) and flowplane/server:TAG. The install stages fetch third-party
#    dependencies from the npm registry, so the build uses the host network.
#
# FLOWPLANE_BASE_IMAGE_SUFFIX=-x names the base images flowplane-node:24-x and flowplane-node:24-npm-x,
# to try a change without replacing the base images others use.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(node -p 'require("./packages/cli/package.json").version')"
tags=("${1:-$version}")
[[ $# -eq 0 ]] && tags+=(latest)
base_suffix="${FLOWPLANE_BASE_IMAGE_SUFFIX:-}"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT

pnpm --silent release:pack "$context" >/dev/null
# Where the registry is reached through a TLS-inspecting proxy, npm in the build needs its CA too.
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  cp "$NODE_EXTRA_CA_CERTS" "$context/extra-ca-certificates.crt"
else
  : >"$context/extra-ca-certificates.crt"
fi
bash scripts/docker-node-image.sh "flowplane-node:24$base_suffix"
bash scripts/docker-node-image.sh "flowplane-node:24-npm$base_suffix" --with-npm

for target in worker server; do
  repository=$([[ $target == worker ]] && echo flowplane/flowplane || echo flowplane/server)
  docker build --network host -f infra/Dockerfile --target "$target" \
    --build-arg "NODE_IMAGE=flowplane-node:24$base_suffix" \
    --build-arg "NODE_BUILD_IMAGE=flowplane-node:24-npm$base_suffix" \
    "${tags[@]/#/--tag=$repository:}" "$context"
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^flowplane/(flowplane|server):${tags[0]} "
