#!/usr/bin/env bash
# Where a warm request's time goes, per process and per step: installs perf (linux-perf) and
# valgrind if missing (tools/setup.sh --profiling), builds (RelWithDebInfo, build/: symbols and
# line numbers), and runs tools/bench/profile.py. Arguments go to profile.py, e.g.
#   tools/bench/profile.sh perf --function hello --conns 50 --seconds 8 --concurrency 32
#   tools/bench/profile.sh callgrind --function hello-cpp --requests 2000
# perf needs root for isolation (it samples flintd and its workers); the folded stacks and
# flame graphs (SVG) land in --out (default: $TMPDIR/flint-profile).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/tools/setup.sh" --profiling
FLINT_BUILD_DIR="$root/build" FLINT_BUILD_TARGETS="flintd flint-worker flint" \
  bash "$root/tools/build.sh" -DCMAKE_BUILD_TYPE=RelWithDebInfo
exec python3 "$root/tools/bench/profile.py" "$@" --build "$root/build"
