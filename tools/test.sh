#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit and integration tests,
# then the same tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
#   FLINT_SKIP_SANITIZE=1 tools/test.sh      skip the sanitizer pass
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup.sh
jobs="$(nproc)"

echo "== build"
FLINT_BUILD_DIR="$root/build" bash tools/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests"
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
