#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit and integration tests,
# then the same tests built with AddressSanitizer and UndefinedBehaviorSanitizer, then a short
# run of every fuzz harness (tools/fuzz.sh: clang, libFuzzer).
#   FLINT_SKIP_SANITIZE=1 tools/test.sh      skip the sanitizer pass
#   FLINT_SKIP_FUZZ=1 tools/test.sh          skip the fuzz step
#   FLINT_FUZZ_SECONDS=N tools/test.sh       fuzz each harness N seconds (default 10)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup.sh
jobs="$(nproc)"

echo "== build"
FLINT_BUILD_DIR="$root/build" bash tools/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests"
# The tests that check /metrics with promtool fail rather than skip without it (setup installs it).
export FLINT_REQUIRE_PROMTOOL=1
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

if [ -z "${FLINT_SKIP_SANITIZE:-}" ]; then
  echo "== build (ASan + UBSan)"
  FLINT_BUILD_DIR="$root/build-asan" bash tools/build.sh -DCMAKE_BUILD_TYPE=Debug -DFLINT_SANITIZE=ON
  echo "== tests (ASan + UBSan)"
  # Functions crash on purpose in the tests (SIGSEGV, abort): let the signal end the worker as
  # in production instead of ASan's handler turning it into "exit code 1".
  ASAN_OPTIONS="handle_segv=0:handle_sigbus=0:handle_abort=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs"
fi

if [ -z "${FLINT_SKIP_FUZZ:-}" ]; then
  echo "== fuzz (libFuzzer + ASan + UBSan, ${FLINT_FUZZ_SECONDS:-10} s per harness)"
  bash tools/fuzz.sh
fi
