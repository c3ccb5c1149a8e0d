#!/usr/bin/env bash
# clang-tidy with .clang-tidy's checks over every runbox translation unit of a build (its
# compile_commands.json; the build must exist: `make build`). Prints each warning and a count;
# exits 1 when there is any. Usage: scripts/lint.sh [BUILD_DIR] [FILE_REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
filter=${2:-'src/.*\.cc$'}
db="$build/compile_commands.json"
[ -f "$db" ] || { echo "lint: $db is missing: run make build first" >&2; exit 2; }
mapfile -t units < <(python3 -c '
import json, re, sys
seen = set()
for e in json.load(open(sys.argv[1])):
    f = e["file"]
    if re.search(sys.argv[2], f) and "/build" not in f and f not in seen:
        seen.add(f); print(f)' "$db" "$filter")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for u in "${units[@]}"; do
  clang-tidy --quiet -p "$build" "$u" 2>/dev/null >>"$out" || status=1
done
n=$(grep -c 'warning:' "$out" || true)
grep -E 'warning:|error:' "$out" | sort -u || true
echo "lint: ${#units[@]} files, $n warnings"
[ "$n" -eq 0 ] && [ "$status" -eq 0 ]
