#!/usr/bin/env bash
# Builds the agent's container image: the statically linked agent
# (make mirror-agent-static), stripped, in an image FROM scratch
# (agent/Containerfile). The build context is a temporary directory that
# holds only the image's files, so the tree is not sent to the builder.
# Usage: scripts/agent-image.sh [IMAGE]
#   IMAGE defaults to agent.image in the built conf/mirror.conf
#   (localhost/mirror-agent:VERSION). Set MIRROR_BUILDDIR to build in an
#   out-of-tree build directory. Push the image where the cluster can pull
#   it (podman push IMAGE REGISTRY/...).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
builddir=${MIRROR_BUILDDIR:-$src}

case ${1:-} in
-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
-*) echo "agent-image: unknown option $1 (see --help)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "agent-image: one IMAGE at most (see --help)" >&2; exit 2; }

image=${1:-}
if [ -z "$image" ]; then
	# configure makes conf/mirror.conf, with the package's version in
	# the tag.
	conf=$builddir/conf/mirror.conf
	[ -f "$conf" ] || { echo "agent-image: no $conf: run ./configure first" >&2; exit 1; }
	image=$(sed -n 's/^[[:space:]]*image[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' \
		"$conf" | head -n 1)
	[ -n "$image" ] || { echo "agent-image: no agent.image in $conf" >&2; exit 1; }
fi
command -v podman >/dev/null || { echo "agent-image: no podman (apt-get install podman)" >&2; exit 1; }

echo "agent-image: make mirror-agent-static"
# Static glibc's warnings about name-service calls are expected (see
# Makefile.am); everything else make says still shows.
set +e
make -s -C "$builddir" mirror-agent-static 2>&1 >/dev/null |
	grep -v -e 'in statically linked applications requires at runtime' \
		-e '\.a(.*): in function' >&2
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { echo "agent-image: make mirror-agent-static failed" >&2; exit 1; }

ctx=$(mktemp -d /tmp/mirror-agent-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
# The context is the image's file tree (agent/Containerfile copies it all).
mkdir -p "$ctx/usr/bin" "$ctx/tmp"
chmod 1777 "$ctx/tmp"
strip -o "$ctx/usr/bin/mirror-agent" "$builddir/mirror-agent-static"
# A rebuild moves the tag: the image it leaves untagged goes.
old=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
echo "agent-image: podman build -t $image"
podman build -q -f "$src/agent/Containerfile" -t "$image" "$ctx" >/dev/null
new=$(podman image inspect --format '{{.Id}}' "$image")
if [ -n "$old" ] && [ "$old" != "$new" ] &&
	[ "$(podman image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ]; then
	podman rmi "$old" >/dev/null 2>&1 || true
fi

size=$(podman image inspect --format '{{.Size}}' "$image")
bin=$(stat -c %s "$ctx/usr/bin/mirror-agent")
echo "agent-image: built $image: $size bytes ($((size / 1024)) KiB); the agent is $bin bytes"
