#!/usr/bin/env bash
# Per-language overhead of `runbox run` over running the same program bare (no sandbox), and the
# total time of a C++ compile-cache hit.
#
#   bench/lang_bench.sh BUILD_DIR [REPS] [LANG...]     (as root; default REPS 3, all languages)
#
# For each language of the catalog: its test_program (reads stdin, prints a greeting and a sum)
#   bare        the catalog's compile and run commands executed directly on the host (temp dir)
#   runbox      `runbox run --quiet` with an empty compile cache (compile box + run box)
#   overhead    runbox - bare: what the boxes (and the runbox process) add
#   again       `runbox run --quiet` once more: compiled languages hit the compile cache
# Medians of REPS runs, each with a fresh compile cache. Prints a Markdown table.
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR [REPS] [LANG...]}
reps=${2:-3}
shift $(( $# >= 2 ? 2 : $# ))
root=$(cd "$(dirname "$0")/.." && pwd)
exec python3 - "$build/src/cli/runbox" "$root/languages" "$reps" "$@" <<'PY'
import os, shutil, statistics, subprocess, sys, tempfile, time, tomllib

runbox, langdir, reps, only = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
specs = []
for f in sorted(os.listdir(langdir)):
    if f.endswith(".toml"):
        with open(os.path.join(langdir, f), "rb") as fh:
            s = tomllib.load(fh)
        if not only or s["id"] in only:
            specs.append(s)

def expand(argv, main):
    out = []
    for w in argv:
        if w in ("{options}", "{args}"):
            continue
        out.append(w.replace("{main}", main))
    return out

def timed(fn):
    t = time.perf_counter()
    ok = fn()
    return (time.perf_counter() - t) * 1000, ok

def bare(spec):
    d = tempfile.mkdtemp(prefix="bench-bare-")
    tmp = os.path.join(d, "tmp"); os.mkdir(tmp); box = os.path.join(d, "box"); os.mkdir(box)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8"}
    for e in spec.get("env", []):
        k, v = e.split("=", 1)
        env[k] = v.replace("/tmp", tmp)
    main = spec["main_file"]
    with open(os.path.join(box, main), "w") as fh:
        fh.write(spec["test_program"])
    def go():
        if spec.get("compile"):
            r = subprocess.run(expand(spec["compile"], main), cwd=box, env=env,
                               capture_output=True)
            if r.returncode != 0:
                return False
        r = subprocess.run(expand(spec["run"], main), cwd=box, env=env, capture_output=True,
                           input=spec.get("test_stdin", "").encode())
        return r.stdout.decode(errors="replace") == spec["test_expected"]
    try:
        return timed(go)
    finally:
        shutil.rmtree(d, ignore_errors=True)

def via_runbox(spec, cache):
    d = tempfile.mkdtemp(prefix="bench-rb-")
    src = os.path.join(d, spec["main_file"])
    with open(src, "w") as fh:
        fh.write(spec["test_program"])
    def go():
        r = subprocess.run([runbox, "run", "--quiet", "--lang", spec["id"], "--cache-dir", cache,
                            "--languages-dir", langdir, src], capture_output=True,
                           input=spec.get("test_stdin", "").encode())
        return r.stdout.decode(errors="replace") == spec["test_expected"]
    try:
        return timed(go)
    finally:
        shutil.rmtree(d, ignore_errors=True)

seed = tempfile.mkdtemp(prefix="bench-seed-")  # version answers, kept across fresh caches
# One box per language for its version, once: as on any host after the first `runbox languages`.
subprocess.run([runbox, "languages", "--cache-dir", seed, "--languages-dir", langdir],
               capture_output=True)
print("| language | bare ms | runbox ms | overhead ms | runbox again ms | note |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for spec in specs:
    b, c, w, note = [], [], [], []
    for _ in range(reps):
        cache = tempfile.mkdtemp(prefix="bench-cache-")
        # Only the compile cache starts empty: the version answers (one box per language per
        # host, cached on disk) are copied in, as on any host after the first use.
        if os.path.isdir(os.path.join(seed, "versions")):
            shutil.copytree(os.path.join(seed, "versions"), os.path.join(cache, "versions"))
        t, ok = bare(spec); b.append(t); note += [] if ok else ["bare output differs"]
        t, ok = via_runbox(spec, cache); c.append(t); note += [] if ok else ["runbox output differs"]
        t, ok = via_runbox(spec, cache); w.append(t)
        if os.path.isdir(os.path.join(cache, "versions")):
            shutil.copytree(os.path.join(cache, "versions"), os.path.join(seed, "versions"),
                            dirs_exist_ok=True)
        shutil.rmtree(cache, ignore_errors=True)
    mb, mc, mw = statistics.median(b), statistics.median(c), statistics.median(w)
    n = "; ".join(sorted(set(note)))
    if spec.get("compile"):
        n = ("compiled: again = compile cache hit" + ("; " + n if n else ""))
    print(f"| {spec['id']} | {mb:.0f} | {mc:.0f} | {mc - mb:+.0f} | {mw:.0f} | {n} |", flush=True)

# C++: total time of `runbox run` when the compile cache hits, against a cold compile.
cpp = [s for s in specs if s["id"] == "cpp"]
if cpp:
    cache = tempfile.mkdtemp(prefix="bench-cache-")
    if os.path.isdir(os.path.join(seed, "versions")):
        shutil.copytree(os.path.join(seed, "versions"), os.path.join(cache, "versions"))
    cold, _ = via_runbox(cpp[0], cache)
    hits = [via_runbox(cpp[0], cache)[0] for _ in range(max(10, reps))]
    bare_run = []
    print()
    print(f"C++ `runbox run` of the test program: cold (compile box + run box) {cold:.0f} ms; "
          f"compile-cache hit, total: median {statistics.median(hits):.0f} ms, "
          f"min {min(hits):.0f} ms, max {max(hits):.0f} ms over {len(hits)} runs.")
    shutil.rmtree(cache, ignore_errors=True)
shutil.rmtree(seed, ignore_errors=True)
PY
