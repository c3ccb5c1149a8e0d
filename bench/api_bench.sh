#!/usr/bin/env bash
# End-to-end cost of the HTTP API (`runbox serve`), in one run on the same machine:
#  1. latency: sequential POST /api/v1/runs of hello world in C (compile-cache hit after one
#     warm-up request) and Python 3, against the same program run bare (fork/exec of a gcc-built
#     binary; `/usr/bin/python3 hello.py`), interleaved, p50 and p99; overhead = p50(API) - p50(bare);
#  2. throughput: 2 x cores concurrent clients, REQUESTS requests per language, against the bare
#     program run with the same concurrency; ratio = API req/s / bare req/s;
#  3. the server's VmRSS right after start-up and after the runs settle.
# It starts its own server (127.0.0.1, port 0, temp data and cache dirs), stops it with SIGTERM
# and removes its temp dirs. The numbers go to bench/RESULTS.md by hand.
# Usage: bench/api_bench.sh [BUILD_DIR] [REQUESTS]
set -euo pipefail
build=${1:-build}
requests=${2:-100}
runbox="$build/src/cli/runbox"
here=$(cd "$(dirname "$0")/.." && pwd)
languages="$here/languages"
[ -x "$runbox" ] || { echo "bench: build runbox first (make build)" >&2; exit 1; }
[ -x /usr/bin/gcc ] || { echo "bench: /usr/bin/gcc is missing" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "bench: /usr/bin/python3 is missing" >&2; exit 1; }
case "$requests" in ''|*[!0-9]*) echo "bench: REQUESTS must be a number" >&2; exit 2;; esac

exec /usr/bin/python3 - "$runbox" "$languages" "$requests" <<'PY'
import http.client, json, os, select, shutil, signal, statistics, subprocess, sys, tempfile
import threading, time

runbox, languages, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
requests = max(10, min(requests, 2000))     # bounded
cores = os.cpu_count() or 1
clients = 2 * cores
slots = 2
deadline = time.monotonic() + 270           # whole run stays under ~5 minutes
HTTP_TIMEOUT = 60

C_SRC = '#include <stdio.h>\nint main(void) { puts("Hello, world!"); return 0; }\n'
PY_SRC = 'print("Hello, world!")\n'
EXPECTED = "Hello, world!\n"
LANGS = {"c": ("main.c", C_SRC), "python3": ("main.py", PY_SRC)}

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

def rss_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out

tmp_root = tempfile.mkdtemp(prefix="runbox-api-bench-")
data_dir = os.path.join(tmp_root, "data"); cache_dir = os.path.join(tmp_root, "cache")
bare_dir = os.path.join(tmp_root, "bare")
for d in (data_dir, cache_dir, bare_dir):
    os.mkdir(d)
log_path = os.path.join(tmp_root, "server.log")
server = None
errors = []

def fail(msg):
    raise SystemExit(f"bench: {msg}")

try:
    # ---- bare contenders -----------------------------------------------------------------
    with open(os.path.join(bare_dir, "hello.c"), "w") as f: f.write(C_SRC)
    with open(os.path.join(bare_dir, "hello.py"), "w") as f: f.write(PY_SRC)
    subprocess.run(["/usr/bin/gcc", "-std=gnu17", "-O2", "-pipe", "-o",
                    os.path.join(bare_dir, "hello"), os.path.join(bare_dir, "hello.c")],
                   check=True, timeout=60)
    BARE = {"c": [os.path.join(bare_dir, "hello")],
            "python3": ["/usr/bin/python3", os.path.join(bare_dir, "hello.py")]}

    def bare_run(lang):
        r = subprocess.run(BARE[lang], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           cwd=bare_dir, timeout=30)
        if r.returncode != 0 or r.stdout.decode() != EXPECTED:
            raise RuntimeError(f"bare {lang}: rc={r.returncode} out={r.stdout[:80]!r}")

    # ---- server ----------------------------------------------------------------------------
    log = open(log_path, "wb")
    server = subprocess.Popen([runbox, "serve", "--listen", "127.0.0.1:0", "--languages", languages,
                               "--data-dir", data_dir, "--cache-dir", cache_dir,
                               "--slots", str(slots), "--log-level", "warn"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
    t_start = time.monotonic()
    line = b""
    while not line.endswith(b"\n"):
        left = 30 - (time.monotonic() - t_start)
        if left <= 0 or server.poll() is not None:
            fail(f"server did not start (see {log_path}): {line!r}")
        r, _, _ = select.select([server.stdout], [], [], left)
        if r:
            ch = os.read(server.stdout.fileno(), 256)
            if not ch: fail(f"server closed stdout: {line!r}")
            line += ch
    startup_ms = (time.monotonic() - t_start) * 1000
    rss_start = rss_kib(server.pid)
    url = line.decode().strip().split()[-1]
    assert url.startswith("http://127.0.0.1:"), url
    host, port = url[len("http://"):].split(":")
    port = int(port)

    def api(path, body=None, method=None):
        conn = http.client.HTTPConnection(host, port, timeout=HTTP_TIMEOUT)
        try:
            if body is None:
                conn.request(method or "GET", path)
            else:
                conn.request(method or "POST", path, body=body,
                             headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    BODIES = {lang: json.dumps({"language": lang, "files": [{"name": n, "content": s}],
                                "stdin": ""}).encode() for lang, (n, s) in LANGS.items()}

    def api_run(lang):
        status, raw = api("/api/v1/runs", BODIES[lang])
        if status != 200:
            raise RuntimeError(f"API {lang}: HTTP {status} {raw[:200]!r}")
        j = json.loads(raw)
        res = j["cases"][0]["result"]
        if j.get("status") != "OK" or res.get("stdout") != EXPECTED:
            raise RuntimeError(f"API {lang}: {j.get('status')} {raw[:300]!r}")
        return j

    # warm-up: one request per language (C: fills the compile cache), a few bare runs
    warm = {}
    for lang in LANGS:
        j = api_run(lang)
        warm[lang] = (j.get("compile_cached"), j["cases"][0]["result"].get("wall_time_ms"))
        for _ in range(3): bare_run(lang)
    second_c = api_run("c")
    if not second_c.get("compile_cached"):
        errors.append("second C request did not hit the compile cache")

    # ---- 1. sequential latency, interleaved -----------------------------------------------
    lat = {(k, lang): [] for k in ("api", "bare") for lang in LANGS}
    box_wall = {lang: [] for lang in LANGS}
    seq_deadline = time.monotonic() + 150
    for i in range(requests):
        if time.monotonic() > seq_deadline:
            errors.append(f"latency phase cut at {i} of {requests} (time budget)"); break
        for lang in LANGS:
            t = time.perf_counter_ns(); j = api_run(lang)
            lat[("api", lang)].append((time.perf_counter_ns() - t) / 1e6)
            box_wall[lang].append(j["cases"][0]["result"].get("wall_time_ms", 0))
            t = time.perf_counter_ns(); bare_run(lang)
            lat[("bare", lang)].append((time.perf_counter_ns() - t) / 1e6)

    # ---- 2. throughput with 2 x cores clients ----------------------------------------------
    def throughput(fn, lang, n):
        lock = threading.Lock(); state = {"next": 0, "done": 0, "err": None}
        tp_deadline = time.monotonic() + 60
        def worker():
            while True:
                with lock:
                    if state["next"] >= n or state["err"] or time.monotonic() > tp_deadline:
                        return
                    state["next"] += 1
                try:
                    fn(lang)
                except Exception as e:              # record, stop everyone
                    with lock: state["err"] = repr(e)
                    return
                with lock: state["done"] += 1
        ts = [threading.Thread(target=worker) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in ts: t.start()
        for t in ts: t.join(timeout=120)
        el = time.perf_counter() - t0
        if state["err"]: errors.append(f"throughput {lang}: {state['err']}")
        if state["done"] < n: errors.append(f"throughput {lang}: only {state['done']} of {n} done")
        return state["done"] / el, state["done"], el

    tput = {}
    for lang in LANGS:                          # bare, API, bare, API would double the time;
        tput[("bare", lang)] = throughput(bare_run, lang, requests)   # one each, back to back
        tput[("api", lang)] = throughput(api_run, lang, requests)

    # ---- 3. settle, RSS ----------------------------------------------------------------------
    for _ in range(50):                         # at most ~10 s for the queue to drain
        st, raw = api("/healthz")
        h = json.loads(raw)
        if h.get("queue_depth") == 0 and h.get("slots_busy") == 0: break
        time.sleep(0.2)
    time.sleep(2)
    rss_end = rss_kib(server.pid)
    health = h

    # ---- report ----------------------------------------------------------------------------
    try: load = open("/proc/loadavg").read().split()[:3]
    except OSError: load = ["?"] * 3
    n_seq = len(lat[("api", "c")])
    print(f"runbox API bench: {cores} cores, server --slots {slots}, {clients} clients, "
          f"{n_seq} sequential runs per contender (interleaved), {requests} per throughput phase; "
          f"load average {' '.join(load)}")
    print(f"server start-up to 'listening': {startup_ms:.0f} ms; warm-up: C compile_cached="
          f"{warm['c'][0]} then {second_c.get('compile_cached')}")
    print()
    print(f"{'latency (sequential)':<28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for lang in LANGS:
        for k, label in (("api", "API POST /api/v1/runs"), ("bare", "bare")):
            xs = lat[(k, lang)]
            print(f"{lang + ' ' + label:<28}{pct(xs, 50):>9.2f}{pct(xs, 99):>9.2f}"
                  f"{statistics.mean(xs):>9.2f}")
        print(f"{lang + ' box wall_time_ms':<28}{pct(box_wall[lang], 50):>9.2f}"
              f"{pct(box_wall[lang], 99):>9.2f}{statistics.mean(box_wall[lang]):>9.2f}")
    print()
    print(f"{'throughput (' + str(clients) + ' clients)':<28}{'req/s':>9}{'done':>9}{'secs':>9}")
    for lang in LANGS:
        for k, label in (("api", "API"), ("bare", "bare")):
            rps, done, el = tput[(k, lang)]
            print(f"{lang + ' ' + label:<28}{rps:>9.1f}{done:>9}{el:>9.2f}")
    print()
    print(f"server VmRSS: start-up {rss_start.get('VmRSS', 0) / 1024:.1f} MiB, after the runs "
          f"settled {rss_end.get('VmRSS', 0) / 1024:.1f} MiB (peak VmHWM "
          f"{rss_end.get('VmHWM', 0) / 1024:.1f} MiB); healthz {json.dumps(health)}")
    print()
    print("targets:")
    def verdict(ok): return "met" if ok else "NOT met"
    for lang in LANGS:
        ov = pct(lat[("api", lang)], 50) - pct(lat[("bare", lang)], 50)
        print(f"  {lang}: p50(API) - p50(bare) = {ov:.2f} ms (target <= 5 ms): {verdict(ov <= 5)}")
    for lang in LANGS:
        ratio = tput[("api", lang)][0] / tput[("bare", lang)][0]
        print(f"  {lang}: throughput API/bare = {ratio * 100:.1f}% (target >= 80%): "
              f"{verdict(ratio >= 0.8)}")
    for label, r in (("start-up", rss_start), ("settled", rss_end)):
        mib = r.get("VmRSS", 0) / 1024
        print(f"  idle RSS {label}: {mib:.1f} MiB (target < 30 MB): {verdict(mib < 30)}")
    if errors:
        print("problems:"); [print("  " + e) for e in errors]
finally:
    if server is not None and server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=30)
            print(f"server stopped with SIGTERM, exit code {rc}")
        except subprocess.TimeoutExpired:
            server.kill(); server.wait(timeout=10)
            print("server did not stop within 30 s of SIGTERM; killed")
    if server is not None and server.returncode not in (0, None) and os.path.exists(log_path):
        sys.stderr.write(open(log_path, errors="replace").read()[-2000:])
    shutil.rmtree(tmp_root, ignore_errors=True)
    if os.path.exists(tmp_root):
        print(f"bench: could not remove {tmp_root}", file=sys.stderr)
PY
