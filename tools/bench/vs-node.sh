#!/usr/bin/env bash
# Flint's warm path against Node.js http and a libuv floor, in one run: builds Flint (Release,
# into build-release/), installs what is missing, and runs tools/bench/vs_node.py, which prints
# req/s, p50, p99 and p99.9 at 50 and 1 connections for hello and a JSON transform, the ratios
# to Node.js, unpinned and with each server confined to one CPU. Run as root for isolation.
# Arguments go to vs_node.py (see --help), e.g. tools/bench/vs-node.sh --duration 3 --reps 1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/tools/setup.sh"
for p in wrk python3 node; do
  command -v "$p" >/dev/null || { echo "vs-node.sh: needs $p (tools/setup.sh installs wrk; Node.js 20+ for the baseline)" >&2; exit 2; }
done
FLINT_BUILD_DIR="$root/build-release" FLINT_BUILD_TARGETS="flintd flint-worker flint" \
  bash "$root/tools/build.sh" -DCMAKE_BUILD_TYPE=Release -DFLINT_BUILD_TESTS=OFF
exec python3 "$root/tools/bench/vs_node.py" --build "$root/build-release" "$@"
