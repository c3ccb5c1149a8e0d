#!/usr/bin/env bash
# Runs the cgroup-dependent tests again on a pure cgroup v2 kernel: this host (and CI) has the
# v1 hybrid layout, so shared/vm/cgroup2-vm boots a throwaway cgroup-v2-only VM for them.
# Usage: scripts/vm-test.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$root" && realpath "${1:-build}")
vm="$root/../shared/vm/cgroup2-vm"
if [ ! -x "$vm" ]; then
  echo "vm-test: $vm is missing: the cgroup v2 tests cannot run" >&2
  exit 1
fi
echo "vm-test: running the cgroup v2 tests in a cgroup-v2-only VM (software-emulated: slow)"
exec "$vm" --share "$root" --timeout 1500 --mem 2G --env "CI=${CI:-}" -- \
  "$root/scripts/vm-inner.sh" "$build"
