#!/usr/bin/env bash
# A local Docker engine for the docker work pool's tests, and the plain Node image of the worker's
# docker infrastructure tests (packages/worker). The e2e docker tests run flows in flowplane/flowplane,
# built from the release tarballs once per test run (e2e/support/release.ts, infra/build-images.sh).
#
#   bash infra/docker/docker-engine.sh        # idempotent: installs, starts and builds only what is missing
#
# 1. Installs docker.io from Debian when dockerd is missing.
# 2. Starts dockerd with --bridge=none --iptables=false when no engine answers: containers use host
#    networking, so no test traffic leaves loopback and the host's firewall is left alone.
# 3. Builds `flowplane-node:test` with `docker import` (no registry is reachable; see
#    infra/docker/docker-node-image.sh, which also builds infra/Dockerfile's base images): a rootfs holding
#    the host's node binary, sh, env and the libraries `ldd` lists. It runs the repository's runner
#    when the repository is bind-mounted at its own path and the container uses the host network. The
#    image is rebuilt when the host's node changes (its version is a label on the image).
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
bash "$(dirname "$0")/docker-node-image.sh" "$IMAGE"
