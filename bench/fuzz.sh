#!/usr/bin/env bash
# bench/fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer targets of tests/fuzz with clang
# (ASan+UBSan) in build-fuzz and runs each for SECONDS (default 20; all targets by default),
# after replaying its seed corpus. `make test` runs it with the default; give more time to hunt:
#   bench/fuzz.sh 3600 fuzz_router
# A crash, a sanitizer report or a FUZZ FINDING fails the run; the input is left in
# build-fuzz/fuzz/artifacts/ (reproduce: build-fuzz/tests/fuzz/TARGET FILE). What a run finds
# grows build-fuzz/fuzz/corpus/TARGET; the checked-in seeds (tests/fuzz/corpus) are never
# written. Env: JOBS (default nproc), FUZZ_BUILD (default build-fuzz), CXX_FUZZ (clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
all=(fuzz_router fuzz_decoders fuzz_ws fuzz_http fuzz_config fuzz_lang)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
build=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-$(nproc)}

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++-14}" -DRUNBOX_FUZZ=ON -DRUNBOX_FUZZ_SECONDS="$seconds" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
built=$(date +%s)
regex="^($(IFS='|'; echo "${targets[*]}"))\$"
cd "$build"
# One target at a time: each fuzzer uses its own worker threads (fuzz_env.h).
ctest --output-on-failure -j 1 -L fuzz -R "$regex"
echo "fuzz: build $((built - start)) s, ${#targets[@]} targets x ${seconds} s in $(($(date +%s) - built)) s"
