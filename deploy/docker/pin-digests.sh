#!/usr/bin/env bash
# Fills the digest ARGs of every Dockerfile (FROM image:tag${X_DIGEST:+@}${X_DIGEST} -> ARG X_DIGEST=sha256:...) with
# the registry's digest of that tag (the multi-arch manifest list / OCI index, as `docker pull image:tag` resolves).
# Needs network access to Docker Hub (anonymous token); run it when a tag changes, commit the result.
#
#   deploy/docker/pin-digests.sh            # every Dockerfile of deploy/docker and deploy/osc
#   deploy/docker/pin-digests.sh FILE...
set -euo pipefail
cd "$(dirname "$0")/../.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(deploy/docker/*.Dockerfile deploy/osc/Dockerfile)
accept="application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.list.v2+json"
accept="$accept,application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"

digest() {  # image:tag (Docker Hub) -> sha256:...
  local ref=$1 repo tag token
  repo=${ref%%:*}; tag=${ref#*:}
  [[ $repo == */* ]] || repo="library/$repo"
  token=$(curl -fsS "https://auth.docker.io/token?service=registry.docker.io&scope=repository:${repo}:pull" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  curl -fsSI -H "Authorization: Bearer $token" -H "Accept: $accept" \
    "https://registry-1.docker.io/v2/${repo}/manifests/${tag}" |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}'
}

for f in "${files[@]}"; do
  # FROM image:tag${ARG:+@}${ARG} [AS name]
  sed -nE 's/^FROM ([^ $]+)\$\{([A-Z_]+):\+@\}\$\{\2\}.*/\1 \2/p' "$f" | sort -u | while read -r image arg; do
    d=$(digest "$image")
    [[ $d =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "$f: no digest for $image (got '$d')" >&2; exit 1; }
    sed -i -E "s/^ARG ${arg}=.*/ARG ${arg}=${d}/" "$f"
    echo "$f: $arg=$d ($image)"
  done
done
