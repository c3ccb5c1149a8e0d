#!/usr/bin/env bash
# Installs Debian's Chromium for the page's browser tests (playwright-core drives it; no browser
# is downloaded from anywhere else). Idempotent and quiet when it is already there. Run as root.
set -euo pipefail

pkgs=(chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ] && [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "runbox web: missing Debian packages: ${missing[*]}" >&2
  echo "runbox web: run as root (or: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
  exit 1
fi
echo "runbox web: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
/usr/bin/chromium --version >&2
