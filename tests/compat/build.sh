#!/usr/bin/env bash
# Rebuilds the compatibility handlers from npm, the way Lambda and Workers users build them:
#   - src/X.js -> handlers/X-cjs/index.js   esbuild --bundle --platform=node --format=cjs
#                                            (the AWS CDK NodejsFunction default)
#   - src/X.js -> handlers/X-esm/index.mjs  esbuild --bundle --platform=node --format=esm, with
#                                            the createRequire banner where a CommonJS
#                                            dependency requires built-ins
#   - handlers/*/package-lock.json               `npm ci --omit=dev` into that folder's
#                                                  node_modules/ (unbundled functions)
# Versions are pinned in package.json and package-lock.json (npm checks their integrity).
# Needs npm and the npm registry; not run by the tests or CI, which use the committed output.
#   bash tests/compat/build.sh [WORK_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:-$(mktemp -d /tmp/flint-compat-build.XXXXXX)}"
mkdir -p "$work"
cp "$here/package.json" "$work/"
[ -e "$here/package-lock.json" ] && cp "$here/package-lock.json" "$work/"
cp -r "$here/src" "$work/"
cd "$work"
if [ -e package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund && cp package-lock.json "$here/"
fi
esbuild="$work/node_modules/.bin/esbuild"
banner="import { createRequire } from 'module';const require = createRequire(import.meta.url);"

bundle() {  # cjs|esm SOURCE HANDLER [extra esbuild flags...]
  local format="$1" source="$2" name="$3"; shift 3
  local out="$here/handlers/$name/index.js" flags=()
  if [ "$format" = esm ]; then out="$here/handlers/$name/index.mjs"; flags=(--main-fields=module,main); fi
  rm -rf "$here/handlers/$name"
  mkdir -p "$here/handlers/$name"
  "$esbuild" "src/$source.js" --bundle --platform=node --target=node22 --format="$format" \
    --outfile="$out" --log-level=warning "${flags[@]}" "$@"
}

bundle cjs jwt jwt-cjs
bundle cjs bcrypt bcrypt-cjs
bundle cjs middy middy-cjs
bundle cjs papaparse papaparse-cjs
bundle cjs cheerio cheerio-cjs --minify
bundle cjs sanitize sanitize-cjs --minify
bundle cjs cookies cookies-cjs
bundle cjs zod zod-cjs --minify
bundle cjs ajv ajv-cjs --minify
bundle cjs lodash lodash-cjs --minify
bundle cjs hono-lambda hono-lambda-cjs
bundle cjs markdown markdown-cjs --minify
bundle esm jose jose-esm
bundle esm uuid uuid-esm
bundle esm datefns datefns-esm
bundle esm nanoid nanoid-esm
bundle esm hono-fetch hono-fetch-esm
bundle esm itty itty-esm
bundle esm jwt-esm jwt-esm --banner:js="$banner"
bundle esm yaml-xml yaml-xml-esm --banner:js="$banner"

# Unbundled functions: their own package.json and package-lock.json, node_modules/ from npm.
for dir in "$here"/handlers/*/; do
  [ -e "$dir/package.json" ] && grep -q '"dependencies"' "$dir/package.json" || continue
  name="$(basename "$dir")"
  rm -rf "$work/unbundled/$name"
  mkdir -p "$work/unbundled/$name"
  cp "$dir/package.json" "$work/unbundled/$name/"
  [ -e "$dir/package-lock.json" ] && cp "$dir/package-lock.json" "$work/unbundled/$name/"
  (cd "$work/unbundled/$name" &&
   if [ -e package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund;
   else npm install --omit=dev --no-audit --no-fund; fi)
  cp "$work/unbundled/$name/package-lock.json" "$dir/"
  rm -rf "$dir/node_modules"
  cp -r "$work/unbundled/$name/node_modules" "$dir/"
  rm -rf "$dir/node_modules/.package-lock.json" "$dir/node_modules/.bin"
done
du -sk "$here"/handlers/* | sort -n
echo "built in $work"
