#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite. Needs
# root (FUSE mounts, namespaces). Ends with "N passed, N failed, N skipped".
# Extra arguments select tests by name, e.g. scripts/test.sh mount-tree
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./tests/run "$@"
