#!/usr/bin/env bash
# Configures and builds Flint into build/ (or $FLINT_BUILD_DIR). Extra arguments go to CMake's
# configure step, e.g. tools/build.sh -DFLINT_SANITIZE=ON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FLINT_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j "$(nproc)" ${FLINT_BUILD_TARGETS:+--target $FLINT_BUILD_TARGETS}
