#!/usr/bin/env bash
# Installs what is needed, builds, starts the bundled demo pod and mounts
# its root file system read-only on /mnt/mirror-demo (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mnt=${1:-/mnt/mirror-demo}
mkdir -p "$mnt"
ctl=$PWD/mirrorctl/mirrorctl
if grep -q " $mnt fuse.mirror" /proc/mounts; then
	echo "demo: $mnt is mounted already"
else
	"$ctl" mount demo "$mnt"
fi
cat <<EOT

The demo pod's root is mounted on $mnt. Try:
  ls $mnt
  cat $mnt/app/config.yaml
  cat $mnt/var/run/secrets/kubernetes.io/serviceaccount/namespace
  tr '\\0' '\\n' < $mnt/proc/1/environ     # the pod's environment
  $ctl status
When done:
  $ctl umount $mnt && $ctl demo down
EOT
