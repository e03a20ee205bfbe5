#!/usr/bin/env bash
# Issue-level report for autoscaling and cold starts, in one run:
#   1. cold-start latency p50/p99/p99.9 of a JS and a C++ function (pool at zero, one request,
#      --samples each, default 200), with the pre-warmed generic pool and without it (spawn);
#   2. the trace replay: cold-start percentage and idle worker-seconds of the fixed 10-minute
#      keep-alive, the fixed 1-minute one and the adaptive policy, live against flintd, with the
#      model's figures beside them (ratios against fixed 10 minutes in the same run).
# Builds Flint (Release, into build-release/ unless FLINT_BUILD_DIR says otherwise) first.
# Takes about 40 minutes on 2 vCPUs (the replay: ~11 minutes per policy). Arguments:
#   --samples N        cold-start samples per case (default 200)
#   --functions N      functions in the replayed day (default 50; see docs/benchmarks.md)
#   --compress X       time compression of the replay (default 144: a day in 10 minutes)
#   --json DIR         also write coldstart.json and replay.json there
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
samples=200 functions=50 compress=144 json=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --samples) samples="$2"; shift 2 ;;
    --functions) functions="$2"; shift 2 ;;
    --compress) compress="$2"; shift 2 ;;
    --json) json="$2"; mkdir -p "$json"; shift 2 ;;
    *) echo "autoscale.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
build="${FLINT_BUILD_DIR:-$root/build-release}"
bash "$root/tools/setup.sh"
FLINT_BUILD_DIR="$build" \
  FLINT_BUILD_TARGETS="flintd flint-worker flint keep_alive_sim" \
  bash "$root/tools/build.sh" -DCMAKE_BUILD_TYPE=Release -DFLINT_BUILD_TESTS=ON

echo "== Cold starts (isolation on, the default)"
python3 "$root/tools/bench/coldstart.py" --build "$build" --samples "$samples" \
  ${json:+--json "$json/coldstart.json"}

echo
echo "== Trace replay (live, then the model)"
python3 "$root/tools/bench/trace_replay.py" --build "$build" --functions "$functions" \
  --compress "$compress" --prewarm 8 --flintd-arg=--no-isolation \
  --policies fixed-10m,fixed-1m,adaptive --simulate ${json:+--json "$json/replay.json"}
