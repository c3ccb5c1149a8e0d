#!/usr/bin/env bash
# Start-up cost of one box: `runbox exec /bin/true` with full isolation against bare fork/exec of
# /bin/true and against bubblewrap with comparable binds, in one run on the same machine.
# A fourth contender, "namespaces only" (bench/ns_floor.c), enters the seven namespaces of a box
# and nothing else: the part of "runbox - bare" that no sandbox with these namespaces can avoid.
# Prints p50/p99 per contender and the ratios, then the CPU each contender costs per run (the
# whole machine's busy time from /proc/stat, so the kernel's deferred namespace cleanup counts):
# that bounds the throughput of any server that starts one box per run.
# The numbers go to bench/RESULTS.md by hand.
# Usage: bench/exec_bench.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-300}
runbox="$build/src/cli/runbox"
command -v bwrap >/dev/null || { echo "bench: bubblewrap is missing (make test-deps)" >&2; exit 1; }
[ -x "$runbox" ] || { echo "bench: build runbox first (make build)" >&2; exit 1; }
floor_dir=$(mktemp -d)
trap 'rm -rf "$floor_dir"' EXIT
cc -O2 -o "$floor_dir/ns_floor" "$(dirname "$0")/ns_floor.c"

# bwrap doing what a runbox box does at the file-system and namespace level: the same read-only
# system binds, /proc, /dev, tmpfs /tmp and a workdir, every namespace, a new session. It does
# no cgroups, no seccomp and no limits, so it does less than runbox.
bwrap_args=(--unshare-all --die-with-parent --new-session --uid 1000 --gid 1000
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib
  --symlink usr/lib64 /lib64)
for f in /etc/ld.so.cache /etc/alternatives /etc/ssl /etc/localtime /etc/nsswitch.conf; do
  [ -e "$f" ] && bwrap_args+=(--ro-bind "$f" "$f")
done
bwrap_args+=(--proc /proc --dev /dev --tmpfs /tmp --tmpfs /box --chdir /box --clearenv
  --setenv PATH /usr/bin:/bin --hostname runbox)

python3 - "$runs" "$runbox" "$floor_dir/ns_floor" "${bwrap_args[@]}" <<'PY'
import os, subprocess, sys, time
runs = int(sys.argv[1]); runbox = sys.argv[2]; floor = sys.argv[3]; bwrap_args = sys.argv[4:]
contenders = {
    "bare fork/exec": ["/bin/true"],
    "namespaces only": [floor, "/bin/true"],
    "bwrap": ["bwrap", *bwrap_args, "/bin/true"],
    "runbox exec": [runbox, "exec", "--", "/bin/true"],
}
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
times = {k: [] for k in contenders}
for k, argv in contenders.items():           # warm-up: page cache, seccomp compile paths
    for _ in range(10):
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
for i in range(runs):                        # interleaved, so machine noise hits all alike
    for k, argv in contenders.items():
        t = time.perf_counter_ns()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
        times[k].append((time.perf_counter_ns() - t) / 1e6)
p50 = {k: pct(v, 50) for k, v in times.items()}
p99 = {k: pct(v, 99) for k, v in times.items()}
print(f"runs per contender: {runs} (interleaved), {os.cpu_count()} cores")
print(f"{'contender':<18}{'p50 ms':>10}{'p99 ms':>10}")
for k in contenders:
    print(f"{k:<18}{p50[k]:>10.2f}{p99[k]:>10.2f}")
r, b, bare = p50["runbox exec"], p50["bwrap"], p50["bare fork/exec"]
print(f"runbox/bwrap p50 ratio: {r / b:.2f} (target <= 1.0)")
print(f"runbox/bwrap p99 ratio: {p99['runbox exec'] / p99['bwrap']:.2f}")
print(f"runbox - bare p50: {r - bare:.2f} ms (target <= 2 ms)")
print(f"namespaces only - bare p50: {p50['namespaces only'] - bare:.2f} ms "
      f"(the kernel's part of any box's cost)")

def busy_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6]   # user nice system irq softirq: not idle/iowait/steal
hz = os.sysconf("SC_CLK_TCK")
cpu = {}
for k, argv in contenders.items():          # sequential, one contender at a time
    b = busy_ticks()
    for _ in range(runs):
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    time.sleep(0.5)                          # let the kernel finish tearing the namespaces down
    cpu[k] = (busy_ticks() - b) * 1000 / hz / runs
print(f"CPU per run, whole machine, {runs} sequential runs each (includes the Python launcher):")
for k in contenders:
    print(f"  {k:<18}{cpu[k]:>8.2f} ms")
print(f"bare / namespaces only CPU: {cpu['bare fork/exec'] / cpu['namespaces only']:.0%} "
      f"(the most of the bare loop's throughput that one box per run can keep)")
PY
