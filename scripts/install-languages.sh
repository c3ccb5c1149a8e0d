#!/usr/bin/env bash
# Installs the Debian packages of runbox's language catalog (languages/*.toml): of every
# language, or of the ids given. Idempotent and quiet when everything is already installed;
# otherwise one `apt-get update`, then one `apt-get install --no-install-recommends`.
#
#   scripts/install-languages.sh [--dry-run] [id...]
#
#   --dry-run   print the missing packages (one per line) and exit 1 if there are any
#
# All of them come to ~424 packages, ~4.7 GB, a few minutes on a fast mirror. Each file's
# `packages = [...]` must stay on one line (lang_test checks this), so that this script needs
# nothing but sed on a fresh machine.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${RUNBOX_LANGUAGES_DIR:-$root/languages}"

dry_run=0
ids=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install-languages.sh: unknown option $arg" >&2; exit 2 ;;
    *) ids+=("$arg") ;;
  esac
done

files=()
if [ ${#ids[@]} -eq 0 ]; then
  for f in "$dir"/*.toml; do
    [ -f "$f" ] && files+=("$f")
  done
  if [ ${#files[@]} -eq 0 ]; then
    echo "install-languages.sh: no language files in $dir" >&2
    exit 1
  fi
else
  for id in "${ids[@]}"; do
    if [ ! -f "$dir/$id.toml" ]; then
      echo "install-languages.sh: unknown language '$id' (no $dir/$id.toml)" >&2
      exit 2
    fi
    files+=("$dir/$id.toml")
  done
fi

want=()
for f in "${files[@]}"; do
  line="$(sed -n 's/^packages[[:space:]]*=[[:space:]]*\[\(.*\)\][[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$f")"
  if [ -z "$line" ]; then
    echo "install-languages.sh: $f: no one-line 'packages = [...]'" >&2
    exit 1
  fi
  for p in $(printf '%s\n' "$line" | tr ',' '\n' | tr -d ' \t"'); do
    want+=("$p")
  done
done

# One dpkg-query for all: the installed ones, then everything else is missing.
mapfile -t unique < <(printf '%s\n' "${want[@]}" | sort -u)
installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${unique[@]}" 2>/dev/null |
  awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)"
missing=()
for p in "${unique[@]}"; do
  if ! grep -qxF "$p" <<<"$installed"; then
    missing+=("$p")
  fi
done

if [ "$dry_run" -eq 1 ]; then
  [ ${#missing[@]} -eq 0 ] && exit 0
  printf '%s\n' "${missing[@]}"
  exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "runbox: missing language packages: ${missing[*]}" >&2
  echo "runbox: run as root (or: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 1
fi
echo "runbox: installing ${#missing[@]} language packages (and their dependencies):" \
  "${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
