#!/usr/bin/env bash
# Installs what is missing, builds, and runs flintd in the foreground on 127.0.0.1:8080 with the
# example functions in functions/ deployed. Ctrl-C stops it (gracefully).
#   FLINT_LISTEN=127.0.0.1:9090 tools/up.sh      another address
#   FLINT_DATA_DIR=/tmp/flint tools/up.sh        another data directory
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/setup.sh
FLINT_BUILD_TARGETS="flintd flint-worker flint" bash tools/build.sh -DCMAKE_BUILD_TYPE=Release

export FLINT_DATA_DIR="${FLINT_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/flint}"
listen="${FLINT_LISTEN:-127.0.0.1:8080}"
flint="$root/build/tools/cli/flint"
mkdir -p "$FLINT_DATA_DIR"
rm -f "$FLINT_DATA_DIR/flintd.url"

"$root/build/scheduler/flintd" --listen "$listen" --data-dir "$FLINT_DATA_DIR" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 1 200); do
  [ -s "$FLINT_DATA_DIR/flintd.url" ] && break
  kill -0 $pid 2>/dev/null || { wait $pid; exit 1; }
  sleep 0.05
done
url="$(cat "$FLINT_DATA_DIR/flintd.url")"

for dir in "$root"/functions/*/; do
  name="$(basename "$dir")"
  # JavaScript: index.mjs or index.js. C++: index.cc (flintd compiles the folder's .cc files).
  args=()
  if [ -e "$dir/index.mjs" ] || [ -e "$dir/index.js" ]; then
    args=("$dir")
  elif [ -e "$dir/index.cc" ]; then
    args=("$dir" --entry index.cc)
  else
    continue
  fi
  if ! "$flint" describe "$name" >/dev/null 2>&1; then
    "$flint" deploy "$name" "${args[@]}"
  fi
done

cat <<MSG

Flint is running at $url (data in $FLINT_DATA_DIR). Try:
  curl '$url/fn/hello?name=Ada'
  curl -X POST $url/fn/json-transform --data @functions/json-transform/sample.json
  curl '$url/fn/hello-cpp?name=Ada'        (C++: functions/hello-cpp/index.cc)
  $flint ls
  $flint deploy my-fn path/to/index.mjs && curl $url/fn/my-fn
(the CLI is $flint; add build/tools/cli to PATH). Ctrl-C stops flintd.
MSG
wait $pid
