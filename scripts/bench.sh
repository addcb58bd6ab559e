#!/usr/bin/env bash
# The benchmark (issue 10): installs what it needs, builds, compiles the bench workers to plain JS and bundles each
# into one file with esbuild (as a tool built on the library ships; loading ~400 ES modules one by one costs Node
# about 0.5 s and 30 MiB), then runs bench/main.ts with tsx. Arguments go to bench/main.ts:
#   --smoke          small sizes, one run, no RESULTS.md (what CI runs)
#   --runs N         runs per side (default 5)
#   --rows 1,2,...   only these rows
#   --profile        node --cpu-prof of every "ours" worker that misses its target, summarised in RESULTS.md
#   --note TEXT      a note written into RESULTS.md
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ensure.sh
. scripts/lib/ensure.sh

ensure_pnpm
ensure_system_tools time:time curl:curl openssl:openssl skopeo:skopeo docker-registry:docker-registry

echo "==> pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | tail -n 3
echo "==> build"
pnpm run build
echo "==> compile bench workers"
rm -rf bench/.data/js
pnpm exec tsc bench/*.ts --outDir bench/.data/js --rootDir bench --module nodenext --moduleResolution nodenext \
  --target es2022 --lib es2022,dom --types node --strict --skipLibCheck --declaration false --sourceMap false
echo "==> bundle bench workers (esbuild)"
for js in bench/.data/js/*.js; do
  name=$(basename "$js" .js)
  case "$name" in main | profile | worker | accept) continue ;; esac
  node_modules/.bin/esbuild "$js" --bundle --platform=node --format=cjs --target=node20 \
    --outfile="bench/.data/js/$name.bundle.cjs" --log-level=warning
done
echo "==> bench $*"
# Bounded whatever happens: the harness has its own budget and per-child timeouts; this is the backstop.
limit=40m
for arg in "$@"; do [ "$arg" = "--smoke" ] && limit=10m; done
# (tsx from node_modules/.bin: `pnpm` may be a shell function, which `timeout` cannot run)
exec timeout --kill-after=30s "$limit" node_modules/.bin/tsx bench/main.ts "$@"
