#!/usr/bin/env bash
# Autoscaling and cold starts, in one run:
#   1. cold-start latency p50/p99/p99.9 of a JS and a C++ function (pool at zero, one request,
#      --samples each, default 200), with the pre-warmed generic pool and without it (spawn);
#   2. churn: 300 functions of 128 MB under --memory-budget 4G, called round-robin twice by one
#      client, then a burst of 50 distinct cold functions at once, default flags: cold-start
#      p50/p99/max, and their ratios to a settled cold start measured in the same run;
#   3. the keep-alive policies in the model on every family of generated days (fixed 10 min,
#      fixed 1 min, adaptive, hybrid histogram; ratios against fixed 10 minutes);
#   4. a live replay of one family (the first --functions functions of a periodic day, a day in
#      10 minutes, isolation on) against flintd, next to the model of the same calls.
# Each script prints the load average with its figures. Builds Flint (Release, into
# build-release/ unless FLINT_BUILD_DIR says otherwise) first. About 1.5 hours on 2 vCPUs (the
# live replay: ~11 minutes per policy; the model: ~10 minutes). Arguments:
#   --samples N        cold-start samples per case (default 200)
#   --functions N      functions of the live replay (default 40)
#   --family NAME      family of the live replay (default periodic)
#   --compress X       time compression of the live replay (default 144: a day in 10 minutes)
#   --skip-live        everything but the live replay
#   --json DIR         also write coldstart.json, churn.json, model.json and live.json there
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
samples=200 functions=40 family=periodic compress=144 json="" live=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --samples) samples="$2"; shift 2 ;;
    --functions) functions="$2"; shift 2 ;;
    --family) family="$2"; shift 2 ;;
    --compress) compress="$2"; shift 2 ;;
    --skip-live) live=0; shift ;;
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
echo "== Cold starts under churn (default flags, --memory-budget 4G)"
python3 "$root/tools/bench/churn.py" --build "$build" ${json:+--json "$json/churn.json"}

echo
echo "== Keep-alive policies, the model on every family"
python3 "$root/tools/bench/trace_replay.py" --build "$build" --simulate-only \
  ${json:+--json "$json/model.json"}

if [[ "$live" == 1 ]]; then
  echo
  echo "== Live replay (isolation on) against the model"
  python3 "$root/tools/bench/trace_replay.py" --build "$build" --live --family "$family" \
    --seed 1 --functions "$functions" --compress "$compress" ${json:+--json "$json/live.json"}
fi
