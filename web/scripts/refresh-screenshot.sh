#!/usr/bin/env bash
# Refreshes the README's picture (docs/screenshot.png) from the end-to-end test's Python run.
# The tests themselves never write tracked files (their screenshots go to build/screenshots);
# this is the one explicit step that does. Usage, after `make build web browser`:
#   web/scripts/refresh-screenshot.sh [BUILD_DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
cd "$repo/web"
RUNBOX_BIN="$build/src/cli/runbox" RUNBOX_SERVE_ARGS="--languages $repo/languages" \
  RUNBOX_SCREENSHOT_DIR="$shots" \
  node --test --test-concurrency=1 --test-name-pattern='Python' test/e2e.test.mjs
cp "$shots/e2e-python-ok.png" "$repo/docs/screenshot.png"
echo "docs/screenshot.png refreshed"
