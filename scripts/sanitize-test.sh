#!/usr/bin/env bash
# Builds test targets with sanitizers in their own build directory and runs them with ctest;
# any sanitizer report fails its test (UBSan does not recover, ASan and TSan halt on the first).
#   scripts/sanitize-test.sh asan   ASan+UBSan (+LSan): every unit test (ctest label "unit",
#                                   server_test included), in build-asan
#   scripts/sanitize-test.sh tsan   TSan: the concurrency tests of the queue, engine, HTTP
#                                   server and interactive runs, in build-tsan
# Env: JOBS (default nproc), SANITIZE_BUILD (the build directory), CMAKE_FLAGS (extra).
#
# Not in the variants, and why:
# - the tests that run real boxes (ctest label "integration": sandbox, cli, engine, languages,
#   server_integration_test). Their box child runs between clone() and execve() with raw
#   syscalls (STYLE.md §5), where a sanitizer runtime's interceptors and allocator are not
#   async-signal-safe, and `runbox` itself is static-pie; they run in the plain build's ctest.
#   TODO(hunt): try server_integration_test against an ASan runbox-engine (not run yet).
set -euo pipefail
cd "$(dirname "$0")/.."

variant=${1:-}
jobs=${JOBS:-$(nproc)}
case "$variant" in
  asan)
    build=${SANITIZE_BUILD:-build-asan}
    sanitize=address,undefined
    # TODO(next stop): add server_test. Its ASan build never finished on the loaded machine of
    # the stop that wrote this, so it has never run under ASan; the five below ran with zero
    # reports. `make sanitize-test SANITIZE_SERVER=1` tries it.
    targets=(base_test lang_test store_test sandbox_unit_test engine_unit_test)
    if [ -n "${SANITIZE_SERVER:-}" ]; then
      targets+=(server_test)
    fi
    ctest_args=(-L unit)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
    ;;
  tsan)
    build=${SANITIZE_BUILD:-build-tsan}
    sanitize=thread
    targets=(server_test engine_unit_test)
    # server_test holds the queue (InProcessQueueTest), HTTP server (ServerFixture), interactive
    # run (InteractiveRunTest, NativeWsTest, PistonWsTest), timer and rate limiter tests; all of
    # it runs (the handler tests drive the same worker threads). engine_unit_test: the compile
    # cache and its concurrent users. Only these two are built here, and ctest skips the unit
    # tests of targets a build directory does not have (they carry no label).
    ctest_args=(-L unit)
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    ;;
  *)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
start=$(date +%s)
# shellcheck disable=SC2086  # CMAKE_FLAGS is a list of flags
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRUNBOX_SANITIZE="$sanitize" \
  "${launcher[@]}" ${CMAKE_FLAGS:-} >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
built=$(date +%s)
cd "$build"
ctest --output-on-failure -j "$jobs" "${ctest_args[@]}"
echo "sanitize-test $variant: build $((built - start)) s, tests $(($(date +%s) - built)) s"
