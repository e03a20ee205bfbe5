#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ with clang, ASan and UBSan (build-fuzz/), then
# runs each one for a bounded time, starting from its committed seed corpus.
#
#   tools/fuzz.sh                        every harness, FLINT_FUZZ_SECONDS (default 10) each
#   tools/fuzz.sh http_request cron      only these harnesses
#   FLINT_FUZZ_SECONDS=3600 tools/fuzz.sh cron            a longer run
#   FLINT_FUZZ_RUNS=10000000 tools/fuzz.sh cron           a number of executions instead
#   FLINT_FUZZ_JOBS=1 tools/fuzz.sh      harnesses run at once (default: the number of CPUs)
#
# Inputs that reach new code are kept in build-fuzz/corpus/NAME/ (not the committed seeds; copy
# the interesting ones into tests/fuzz/NAME/corpus/). A crash, a sanitizer report, a timeout or
# a failed FUZZ_CHECK stops that harness, leaves the input in build-fuzz/artifacts/NAME/ and
# makes the script fail: fix the code, add the input to the harness's corpus/ (the ordinary test
# suite replays it) and a unit test. Each run's log is build-fuzz/logs/NAME.log; the summary
# gives executions, executions per second and coverage (libFuzzer's edges "cov" and features
# "ft").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FLINT_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FLINT_FUZZ_SECONDS:-10}"
runs="${FLINT_FUZZ_RUNS:-}"
jobs="${FLINT_FUZZ_JOBS:-$(nproc)}"
cc="${FLINT_FUZZ_CC:-clang-14}"
cxx="${FLINT_FUZZ_CXX:-clang++-14}"

if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (tools/setup.sh installs clang-14 and libclang-rt-14-dev)" >&2
  exit 1
fi

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for dir in "$root"/tests/fuzz/*/; do
    [ -f "$dir/fuzzer.cc" ] && names+=("$(basename "$dir")")
  done
fi

cmake -S "$root" -B "$build" -G Ninja -DFLINT_FUZZ=ON -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
targets=()
for name in "${names[@]}"; do targets+=("fuzz_$name"); done
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

mkdir -p "$build/logs"
run_one() {
  local name="$1" seeds="$root/tests/fuzz/$1"
  local corpus="$build/corpus/$name" artifacts="$build/artifacts/$name/"
  mkdir -p "$corpus" "$artifacts"
  local args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts")
  if [ -n "$runs" ]; then args+=(-runs="$runs"); else args+=(-max_total_time="$seconds"); fi
  [ -f "$seeds/dict" ] && args+=(-dict="$seeds/dict")
  "$build/tests/fuzz/$name/fuzz_$name" "${args[@]}" "$corpus" "$seeds/corpus" \
    >"$build/logs/$name.log" 2>&1
}

# The figures of a finished run: "executions exec/s edges features".
summary() {
  local log="$1"
  local runs_done speed cov ft
  runs_done="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  ft="$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
  echo "${runs_done:-?} ${speed:-?} ${cov:-?} ${ft:-?}"
}

failed=()
pids=()
pid_names=()
wait_one() {
  local pid="${pids[0]}" name="${pid_names[0]}"
  pids=("${pids[@]:1}")
  pid_names=("${pid_names[@]:1}")
  if wait "$pid"; then
    read -r n speed cov ft < <(summary "$build/logs/$name.log")
    printf 'fuzz %-14s ok    %12s runs %8s exec/s  cov %6s  ft %7s\n' "$name" "$n" "$speed" \
      "$cov" "$ft"
  else
    failed+=("$name")
    printf 'fuzz %-14s FAILED: see %s and %s\n' "$name" "$build/logs/$name.log" \
      "$build/artifacts/$name/"
    grep -E 'ERROR|FUZZ_CHECK|runtime error|Test unit written' "$build/logs/$name.log" | head -5
  fi
}
for name in "${names[@]}"; do
  run_one "$name" &
  pids+=($!)
  pid_names+=("$name")
  if [ ${#pids[@]} -ge "$jobs" ]; then wait_one; fi
done
while [ ${#pids[@]} -gt 0 ]; do wait_one; done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed" >&2
  exit 1
fi
