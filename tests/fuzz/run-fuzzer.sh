#!/bin/sh
# run-fuzzer.sh FUZZER WORK_CORPUS ARTIFACT_DIR ARG...: makes the fuzzer's writable corpus and
# artifact directories, then runs FUZZER ARG... with the sanitizer options every target uses.
set -eu
fuzzer=$1 work=$2 artifacts=$3
shift 3
mkdir -p "$work" "$artifacts"
# halt_on_error and a non-zero exit for every report; leaks are findings too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
exec "$fuzzer" "$@"
