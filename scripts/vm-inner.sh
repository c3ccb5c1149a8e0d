#!/bin/sh
# Inside the cgroup2 VM (see scripts/vm-test.sh). The command starts in /sys/fs/cgroup/job; this
# script sets up delegation the way systemd's Delegate=yes does: it moves itself into a leaf,
# enables the controllers in job, and hands runbox the empty cgroup job/boxes as its parent.
set -eu
build=$1
cg=/sys/fs/cgroup/job
grep -q cgroup2 /proc/mounts || { echo "vm-inner: not a cgroup2 host"; exit 1; }
mkdir -p "$cg/runner" "$cg/boxes"
echo $$ > "$cg/runner/cgroup.procs"
echo "+memory +pids +cpu" > "$cg/cgroup.subtree_control"
export RUNBOX_CGROUP_PARENT=/job/boxes
fail=0
"$build/tests/integration/sandbox_integration_test" \
  --gtest_filter='Limits*:Accounting*:Cleanup*:Isolation*:CopyOut*' || fail=1
"$build/tests/integration/cli_integration_test" || fail=1

# Without a configured parent, runbox alone in its cgroup moves itself into a leaf and enables
# the controllers (the delegation pattern); with other processes there it must say what to do.
mkdir -p "$cg/solo"
unset RUNBOX_CGROUP_PARENT
if sh -c "echo \$\$ > $cg/solo/cgroup.procs; exec $build/src/cli/runbox exec -- /bin/true" &&
   [ -d "$cg/solo/runbox-supervisor" ]; then
  echo "[       OK ] v2 self-delegation: runbox alone in its cgroup runs a box"
else
  echo "[  FAILED  ] v2 self-delegation"; fail=1
fi
out=$(sh -c "echo \$\$ > $cg/runner/cgroup.procs; $build/src/cli/runbox exec -- /bin/true" 2>&1) && rc=0 || rc=$?
if [ "$rc" = 125 ] && echo "$out" | grep -q "holds other processes"; then
  echo "[       OK ] v2 shared cgroup: clear error, exit 125"
else
  echo "[  FAILED  ] v2 shared cgroup: rc=$rc: $out"; fail=1
fi
exit $fail
