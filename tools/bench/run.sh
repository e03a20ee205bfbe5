#!/usr/bin/env bash
# Builds Flint (Release, into build-release/), installs wrk and python3 if missing, and runs
# the benchmark. Arguments go to bench.py (see --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/tools/setup.sh"
for p in wrk python3; do
  command -v "$p" >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends "$p"; }
done
FLINT_BUILD_DIR="$root/build-release" FLINT_BUILD_TARGETS="flintd flint-worker flint" \
  bash "$root/tools/build.sh" -DCMAKE_BUILD_TYPE=Release -DFLINT_BUILD_TESTS=OFF
exec python3 "$root/tools/bench/bench.py" --build "$root/build-release" "$@"
