#!/usr/bin/env bash
# Installs everything Flint needs to build and run on Debian 12 (bookworm), as root.
# Idempotent: when everything is present it only checks and returns within a second or two.
#
# V8 comes from Debian's libnode108 + libnode-dev packages, unpacked into a project-local prefix
# (third_party/libnode) because apt cannot install them beside the NodeSource nodejs that some
# machines ship. Never add /usr/include/node to an include path: it may hold another V8's headers.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${LIBNODE_PREFIX:-$root/third_party/libnode}"

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl procps
  libuv1-dev libboost1.74-dev libboost-filesystem1.74-dev libsqlite3-dev
  libcgroup-dev cgroup-tools catch2 nlohmann-json3-dev libseccomp-dev libcap-dev
  node-llhttp libcli11-dev libspdlog-dev libfmt-dev libssl-dev
  libbrotli1 libc-ares2 libicu72 libnghttp2-14 libssl3 libuv1 zlib1g
  wrk slirp4netns
  clang-14 libclang-rt-14-dev
)
# tools/setup.sh --profiling: also what tools/bench/profile.sh uses (perf for sampling and
# flame graphs, valgrind's callgrind for instruction counts).
if [ "${1:-}" = "--profiling" ]; then
  packages+=(linux-perf valgrind)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -e "$prefix/usr/lib/x86_64-linux-gnu/libnode.so.108" ] || [ ! -e "$prefix/usr/include/node/v8.h" ]; then
  echo "setup: fetching V8 (libnode108, libnode-dev) into $prefix"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp"   # apt's _apt user must be able to write the download here
  (cd "$tmp" && apt-get download -q libnode108 libnode-dev)
  mkdir -p "$prefix"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$prefix"; done
fi
echo "setup: ok"
