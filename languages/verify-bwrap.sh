#!/usr/bin/env bash
# Developer tool, not a test: proves each catalog language works in a box-like environment built
# with bubblewrap, before (and independently of) runbox's own sandbox.
#
#   languages/verify-bwrap.sh [--full-etc] [--cold] [--keep] [--json FILE] [id...]
#
#   --full-etc  bind all of /etc instead of DefaultSystemBinds()' pieces
#   --cold      drop the page cache before each language, so that the memory cgroup is charged
#               for the toolchain's files as on a freshly booted host (the worst case; warm runs
#               are charged much less because other cgroups already paid for the cache)
#   --keep      keep the /box directories of the test runs ($TMPDIR/runbox-verify-<id>-*)
#   --json FILE write every step's measurements to FILE
#
# For each language (all, or the ids given) it checks, with the compile and the run step in
# separate bwrap invocations that share only the /box directory:
#   - test_program (compile, then run with test_stdin) prints exactly test_expected;
#   - compile_error_program fails to compile (compiled languages);
#   - runtime_error_program compiles and then exits non-zero;
#   - the template greets its input ("Hello, runbox!"), and (a note only) runs without input;
#   - version_command prints something.
# and measures CPU time, wall time, peak memory and peak task count of each step.
#
# The box mirrors runbox's defaults (src/sandbox/policy.cc): read-only /usr with the merged-/usr
# symlinks, only the /etc pieces of DefaultSystemBinds() (or all of /etc with --full-etc) plus
# the language's `binds`, a generated passwd/group, /proc, a minimal /dev, a private /tmp
# tmpfs, /box as the writable workdir and cwd, uid/gid 1000, no network, a fresh environment
# (DefaultEnvironment() plus the language's `env`). Limits are enforced where bwrap lets us: the
# step runs in its own memory and pids cgroup (v1 or v2, beneath this shell's own cgroup) with
# the catalog's limits (defaults 256 MiB / 64 tasks, raised by [compile_limits]/[run_limits]),
# /tmp has the disk size, and the wall time is enforced by killing the step.
#
# Needs root (cgroups), bubblewrap, and Debian's python3 (tomllib). Exit status: 0 when every
# checked language passes, 1 otherwise.
set -euo pipefail
exec /usr/bin/python3 - "$(cd "$(dirname "$0")" && pwd)" "$@" <<'PYTHON'
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

LANG_DIR = sys.argv[1]
argv = sys.argv[2:]
FULL_ETC = "--full-etc" in argv
KEEP = "--keep" in argv
COLD = "--cold" in argv
JSON_OUT = None
if "--json" in argv:
    JSON_OUT = argv[argv.index("--json") + 1]
    argv.remove(JSON_OUT)
ids = [a for a in argv if not a.startswith("--")]

# Keep in sync with DefaultSystemBinds() in src/sandbox/policy.cc (the /etc part).
ETC_PIECES = [
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
    "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/timezone",
    "/etc/locale.alias", "/etc/nsswitch.conf",
]
# Keep in sync with DefaultEnvironment() in src/sandbox/policy.cc.
DEFAULT_ENV = [
    "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/box", "LANG=C.UTF-8", "LC_ALL=C.UTF-8",
    "TMPDIR=/tmp", "TERM=dumb", "USER=runner", "LOGNAME=runner",
]
# Keep in sync with sandbox::Limits defaults.
DEFAULTS = {"memory": 256 << 20, "pids": 64, "cpu_time": 5.0, "wall_time": 10.0,
            "disk": 64 << 20, "output": 16 << 20}

SUFFIX = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20,
          "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


def size(v):
    if isinstance(v, int):
        return v
    s = v.strip().lower()
    num = s.rstrip("kmgib")
    return int(float(num) * SUFFIX[s[len(num):]])


def seconds(v):
    if isinstance(v, (int, float)):
        return float(v)
    s = v.strip()
    if s.endswith("ms"):
        return float(s[:-2]) / 1000
    return float(s.rstrip("s"))


def limits_for(spec, step):
    adj = spec.get(step + "_limits", {})
    out = dict(DEFAULTS)
    for key in ("memory", "disk", "output"):
        if key in adj:
            out[key] = max(out[key], size(adj[key]))
    for key in ("cpu_time", "wall_time"):
        if key in adj:
            out[key] = max(out[key], seconds(adj[key]))
    if "pids" in adj:
        out["pids"] = max(out["pids"], adj["pids"])
    return out


def own_cgroup(controller):
    """Path of this process's cgroup for a v1 controller, or the v2 group ("" controller)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller and controller in ctrls.split(","):
                return "/sys/fs/cgroup/" + controller + path
            if not controller and ctrls == "":
                return "/sys/fs/cgroup/unified" + path if os.path.isdir(
                    "/sys/fs/cgroup/unified") else "/sys/fs/cgroup" + path
    return None


class StepCgroup:
    """A memory + pids cgroup for one step, beneath our own, with the step's limits."""

    def __init__(self, name, limits):
        self.dirs = []
        mem_parent = own_cgroup("memory")
        if mem_parent and os.path.isdir(mem_parent):  # cgroup v1 (the dev machines)
            self.v2 = False
            self.mem = os.path.join(mem_parent, name)
            self.pids = os.path.join(own_cgroup("pids"), name)
            self.cpu = os.path.join(own_cgroup("cpuacct"), name)
            for d in (self.mem, self.pids, self.cpu):
                os.mkdir(d)
                self.dirs.append(d)
            self._write(self.mem, "memory.limit_in_bytes", limits["memory"])
            try:  # swap counted, as runbox does
                self._write(self.mem, "memory.memsw.limit_in_bytes", limits["memory"])
            except OSError:
                pass
            self._write(self.pids, "pids.max", limits["pids"])
        else:  # cgroup v2
            self.v2 = True
            self.mem = self.pids = self.cpu = os.path.join(own_cgroup(""), name)
            os.mkdir(self.mem)
            self.dirs.append(self.mem)
            self._write(self.mem, "memory.max", limits["memory"])
            self._write(self.mem, "memory.swap.max", 0)
            self._write(self.mem, "pids.max", limits["pids"])

    @staticmethod
    def _write(d, f, v):
        with open(os.path.join(d, f), "w") as fh:
            fh.write(str(v))

    @staticmethod
    def _read(d, f):
        try:
            with open(os.path.join(d, f)) as fh:
                return fh.read()
        except OSError:
            return ""

    def enter_command(self):
        """Shell prefix that moves the shell into the groups before exec."""
        files = [os.path.join(d, "cgroup.procs") for d in self.dirs]
        return " ".join(f"echo $$ > {f};" for f in files)

    def peak_memory(self):
        f = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        v = self._read(self.mem, f).strip()
        return int(v) if v else None

    def cpu_seconds(self):
        if self.v2:
            for line in self._read(self.cpu, "cpu.stat").splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            return None
        v = self._read(self.cpu, "cpuacct.usage").strip()
        return int(v) / 1e9 if v else None

    def peak_pids(self):
        v = self._read(self.pids, "pids.peak").strip()
        return int(v) if v else None

    def oom(self):
        if self.v2:
            return "oom_kill 0" not in self._read(self.mem, "memory.events")
        return "oom_kill 0" not in self._read(self.mem, "memory.oom_control") or \
            int(self._read(self.mem, "memory.failcnt").strip() or 0) > 0

    def pids_refused(self):
        return "max 0" not in self._read(self.pids, "pids.events")

    def kill_and_remove(self):
        for d in self.dirs:
            for _ in range(100):
                pids = self._read(d, "cgroup.procs").split()
                if not pids:
                    break
                for p in pids:
                    try:
                        os.kill(int(p), 9)
                    except OSError:
                        pass
                time.sleep(0.02)
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.05)


def bwrap_argv(spec, box, etc_files, limits):
    a = ["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",
         "--hostname", "runbox",
         "--ro-bind", "/usr", "/usr",
         "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
         "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"]
    if FULL_ETC:
        a += ["--ro-bind", "/etc", "/etc"]
    else:
        for p in ETC_PIECES:
            a += ["--ro-bind-try", p, p]
        a += ["--ro-bind", etc_files["passwd"], "/etc/passwd",
              "--ro-bind", etc_files["group"], "/etc/group"]
    for p in spec.get("binds", []):
        a += ["--ro-bind-try", p, p]
    a += ["--proc", "/proc", "--dev", "/dev",
          "--size", str(limits["disk"]), "--tmpfs", "/tmp",
          "--bind", box, "/box", "--chdir", "/box",
          "--uid", "1000", "--gid", "1000", "--clearenv"]
    env = {}
    for e in DEFAULT_ENV + spec.get("env", []):
        k, v = e.split("=", 1)
        env[k] = v
    for k, v in env.items():
        a += ["--setenv", k, v]
    return a + ["--"]


def expand(argv, main, options=(), args=()):
    out = []
    for w in argv:
        if w == "{options}":
            out += list(options)
        elif w == "{args}":
            out += list(args)
        else:
            out.append(w.replace("{main}", main))
    return out


def run_step(spec, box, etc_files, step, command, stdin_data=""):
    limits = limits_for(spec, step)
    name = f"runbox-verify-{os.getpid()}-{spec['id']}-{step}-{time.monotonic_ns()}"
    cg = StepCgroup(name, limits)
    inner = bwrap_argv(spec, box, etc_files, limits) + command
    sh = cg.enter_command() + ' exec "$@"'
    start = time.monotonic()
    proc = subprocess.Popen(["/bin/sh", "-c", sh, "sh"] + inner, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(stdin_data.encode(), timeout=limits["wall_time"])
    except subprocess.TimeoutExpired:
        timed_out = True
        for d in cg.dirs:
            for p in cg._read(d, "cgroup.procs").split():
                try:
                    os.kill(int(p), 9)
                except OSError:
                    pass
        out, err = proc.communicate()
    wall = time.monotonic() - start
    cpu = cg.cpu_seconds()
    result = {
        "exit": proc.returncode, "stdout": out.decode(errors="replace"),
        "stderr": err.decode(errors="replace"), "wall": wall, "cpu": cpu,
        "memory": cg.peak_memory(), "pids": cg.peak_pids(), "timed_out": timed_out,
        "oom": cg.oom(), "pids_refused": cg.pids_refused(),
        "cpu_over": cpu is not None and cpu > limits["cpu_time"],
        "limits": limits,
    }
    cg.kill_and_remove()
    return result


def fresh_box(spec, program):
    box = tempfile.mkdtemp(prefix=f"runbox-verify-{spec['id']}-")
    os.chmod(box, 0o755)
    with open(os.path.join(box, spec["main_file"]), "w") as f:
        f.write(program)
    return box


def describe(r):
    why = []
    if r["timed_out"]:
        why.append(f"wall time limit {r['limits']['wall_time']} s")
    if r["oom"]:
        why.append("memory limit")
    if r["pids_refused"]:
        why.append(f"pids limit {r['limits']['pids']} refused a fork")
    if r["cpu_over"]:
        why.append(f"cpu {r['cpu']:.2f} s over {r['limits']['cpu_time']} s")
    tail = (r["stderr"] or r["stdout"]).strip().splitlines()[-3:]
    return f"exit {r['exit']}" + (f" ({', '.join(why)})" if why else "") + \
        (": " + " | ".join(tail) if tail else "")


def check_language(spec, etc_files):
    main = spec["main_file"]
    compiled = bool(spec.get("compile"))
    res = {"id": spec["id"], "problems": [], "warnings": [], "steps": {}}

    def build_and_run(program, stdin_data, label):
        box = fresh_box(spec, program)
        try:
            comp = None
            if compiled:
                comp = run_step(spec, box, etc_files, "compile", expand(spec["compile"], main))
                res["steps"][label + ".compile"] = comp
                if comp["exit"] != 0 or comp["timed_out"]:
                    return comp, None
            run = run_step(spec, box, etc_files, "run", expand(spec["run"], main), stdin_data)
            res["steps"][label + ".run"] = run
            return comp, run
        finally:
            if not KEEP:
                shutil.rmtree(box, ignore_errors=True)

    # Version.
    box = fresh_box(spec, "")
    try:
        v = run_step(spec, box, etc_files, "run", spec["version_command"])
    finally:
        shutil.rmtree(box, ignore_errors=True)
    lines = [l.strip() for l in (v["stdout"] + "\n" + v["stderr"]).splitlines() if l.strip()]
    res["version"] = lines[0] if lines else ""
    if v["exit"] != 0 or not lines:
        res["problems"].append("version_command: " + describe(v))

    # The test program.
    comp, run = build_and_run(spec["test_program"], spec.get("test_stdin", ""), "test")
    if run is None:
        res["problems"].append("test_program does not compile: " + describe(comp))
    elif run["stdout"] != spec["test_expected"] or run["exit"] != 0 or run["timed_out"]:
        res["problems"].append(f"test_program: expected {spec['test_expected']!r}, got "
                               f"{run['stdout']!r}; " + describe(run))
    else:
        if run["stderr"].strip():
            res["warnings"].append("test run stderr: " + run["stderr"].strip()[:200])
        if comp and comp["stderr"].strip():
            res["warnings"].append("test compile stderr: " + comp["stderr"].strip()[:200])
        if run["cpu_over"]:
            res["problems"].append("test_program: " + describe(run))

    # The compile error program.
    if compiled:
        box = fresh_box(spec, spec["compile_error_program"])
        try:
            ce = run_step(spec, box, etc_files, "compile", expand(spec["compile"], main))
        finally:
            shutil.rmtree(box, ignore_errors=True)
        res["steps"]["ce.compile"] = ce
        if ce["exit"] == 0:
            res["problems"].append("compile_error_program compiled")
        elif ce["timed_out"] or ce["oom"] or ce["pids_refused"]:
            res["problems"].append("compile_error_program failed for a wrong reason: " +
                                   describe(ce))
        elif not (ce["stderr"] + ce["stdout"]).strip():
            res["warnings"].append("compile error printed nothing")

    # The template shown in the editor: it must greet the first line, and should also work when
    # the user runs it without any input.
    # Languages whose test input is not "name\n..." (bc, jq) get their test input instead.
    test_stdin = spec.get("test_stdin", "")
    greeting_input = "runbox\n" if test_stdin.startswith("runbox\n") else test_stdin
    for stdin_data, label in ((greeting_input, "template"), ("", "template-empty")):
        comp, run = build_and_run(spec["template"], stdin_data, label)
        if run is None:
            res["problems"].append("template does not compile: " + describe(comp))
            break
        want = "Hello, runbox!" if greeting_input == "runbox\n" else "Hello"
        if label == "template" and (run["exit"] != 0 or want not in run["stdout"]):
            res["problems"].append(f"template with input 'runbox': got {run['stdout']!r}; " +
                                   describe(run))
        if label == "template-empty" and (run["exit"] != 0 or "Hello" not in run["stdout"]):
            res["warnings"].append(f"template without input: got {run['stdout']!r}; " +
                                   describe(run))

    # The runtime error program.
    comp, run = build_and_run(spec["runtime_error_program"], spec.get("test_stdin", ""), "re")
    if run is None:
        res["problems"].append("runtime_error_program does not compile: " + describe(comp))
    elif run["exit"] == 0:
        res["problems"].append("runtime_error_program exited 0")
    elif 128 < run["exit"] < 160:  # bwrap reports death by signal N as 128+N
        res["warnings"].append(f"runtime_error_program exited {run['exit']}: killed by a signal?")
    elif run["timed_out"] or run["oom"] or run["pids_refused"]:
        res["problems"].append("runtime_error_program failed for a wrong reason: " +
                               describe(run))
    return res


def fmt_step(r):
    if r is None:
        return "-"
    cpu = f"{r['cpu']:.2f}" if r["cpu"] is not None else "?"
    mem = f"{r['memory'] / (1 << 20):.0f}M" if r["memory"] else "?"
    return f"{r['wall']:.2f}s wall {cpu}s cpu {mem} {r['pids'] or '?'}t"


def main():
    if os.geteuid() != 0:
        sys.exit("verify-bwrap.sh: run as root (it creates cgroups)")
    files = sorted(f for f in os.listdir(LANG_DIR) if f.endswith(".toml"))
    specs = []
    for f in files:
        with open(os.path.join(LANG_DIR, f), "rb") as fh:
            spec = tomllib.load(fh)
        if not ids or spec["id"] in ids:
            specs.append(spec)
    unknown = set(ids) - {s["id"] for s in specs}
    if unknown:
        sys.exit("verify-bwrap.sh: unknown language id(s): " + " ".join(sorted(unknown)))

    etc_dir = tempfile.mkdtemp(prefix="runbox-verify-etc-")
    os.chmod(etc_dir, 0o755)
    etc_files = {"dir": etc_dir, "passwd": os.path.join(etc_dir, "passwd"),
                 "group": os.path.join(etc_dir, "group")}
    with open(etc_files["passwd"], "w") as f:
        f.write("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                "runner:x:1000:1000:runner:/box:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    with open(etc_files["group"], "w") as f:
        f.write("root:x:0:\nrunner:x:1000:\nnogroup:x:65534:\n")

    results = []
    failed = 0
    print(f"{'id':<14} {'status':<6} {'compile (test)':<36} {'run (test)':<36} version")
    for spec in specs:
        if COLD:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3")
        r = check_language(spec, etc_files)
        results.append(r)
        ok = not r["problems"]
        failed += not ok
        steps = r["steps"]
        print(f"{r['id']:<14} {'PASS' if ok else 'FAIL':<6} "
              f"{fmt_step(steps.get('test.compile')):<36} {fmt_step(steps.get('test.run')):<36} "
              f"{r['version'][:60]}", flush=True)
        for p in r["problems"]:
            print(f"    problem: {p}", flush=True)
        for w in r["warnings"]:
            print(f"    note: {w}", flush=True)
    shutil.rmtree(etc_dir, ignore_errors=True)
    if JSON_OUT:
        slim = []
        for r in results:
            steps = {k: {f: v[f] for f in ("exit", "wall", "cpu", "memory", "pids")}
                     for k, v in r["steps"].items()}
            slim.append({"id": r["id"], "version": r["version"], "problems": r["problems"],
                         "warnings": r["warnings"], "steps": steps})
        with open(JSON_OUT, "w") as f:
            json.dump(slim, f, indent=1)
    print(f"{len(specs) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
PYTHON
