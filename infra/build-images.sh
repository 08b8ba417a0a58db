#!/usr/bin/env bash
# Builds the Flowplane images from the release tarballs (infra/Dockerfile):
#
#   bash infra/build-images.sh [TAG]        # default TAG: the packages' version
#
# 1. `pnpm release:pack` writes the three tarballs into a temporary build context.
# 2. scripts/docker-node-image.sh builds the local Node 24 base images (with npm for the install
#    stage, without for the runtime stages) from the host's node binary.
# 3. docker build, once per target: flowplane/worker:TAG and flowplane/server:TAG. The install stages
#    fetch third-party dependencies from the npm registry, so the build uses the host network.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(node -p 'require("./packages/cli/package.json").version')"
tag="${1:-$version}"
base_suffix="${FLOWPLANE_BASE_IMAGE_SUFFIX:-}"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT

pnpm --silent release:pack "$context" >/dev/null
bash scripts/docker-node-image.sh "flowplane-node:24$base_suffix"
bash scripts/docker-node-image.sh "flowplane-node:24-npm$base_suffix" --with-npm

for target in worker server; do
  docker build --network host -f infra/Dockerfile --target "$target" \
    --build-arg "NODE_IMAGE=flowplane-node:24$base_suffix" \
    --build-arg "NODE_BUILD_IMAGE=flowplane-node:24-npm$base_suffix" \
    -t "flowplane/$target:$tag" "$context"
done
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^flowplane/(worker|server):$tag "
