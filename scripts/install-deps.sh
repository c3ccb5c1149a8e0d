#!/usr/bin/env bash
# Installs what runbox needs to build and test, from Debian's packages only.
# Idempotent and quiet when everything is already there. Usage:
#   scripts/install-deps.sh build    # compiler, libraries, test tools
#   scripts/install-deps.sh test     # build + what the tests need (bubblewrap, qemu for the v2 VM,
#                                    # clang for the fuzz targets)
set -euo pipefail

build_pkgs=(
  g++ cmake make pkg-config git
  libseccomp-dev libboost-dev libboost-system-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libsqlite3-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev nettle-dev
)
test_pkgs=(
  bubblewrap hyperfine procps iproute2 python3 xz-utils qemu-system-x86
  # The fuzz targets (bench/fuzz.sh): clang 14 with libFuzzer and the sanitizer runtimes
  # (libclang_rt.fuzzer-x86_64.a is in libclang-rt-14-dev), llvm-symbolizer for their stacks.
  # g++'s own ASan, UBSan and TSan runtimes (scripts/sanitize-test.sh) come with g++.
  clang-14 libclang-rt-14-dev llvm-14
)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

# The page and the API client tests need node and npm. The machine image may bring them from
# elsewhere (nodesource's nodejs includes npm); Debian's packages come only when they are absent.
if ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "runbox: missing Debian packages: ${missing[*]}" >&2
  echo "runbox: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "runbox: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; update once, then install.
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
