#!/usr/bin/env bash
# Game day: drives a real flintd from build/ with mixed load while injecting faults in turn
# (full disk, locked database, missing worker binary, failing forks, SIGKILL/SIGSTOP of workers
# and of flintd), then checks the invariants and prints a table (docs/operations.md).
#   tools/gameday.sh [--minutes N] [--threads N] [--build DIR]   (default 10 minutes, 2, build/)
# Run as root for the full set: the disk faults mount a tmpfs of their own, the fork fault sets
# pids.max in that flintd's own cgroup; without root those two are left out. Exit 0 when every
# invariant held.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec python3 "$root/tools/gameday.py" "$@"
