#!/usr/bin/env bash
# The whole test suite: installs what it needs, then builds, lints, type-checks and runs
# every test (unit tests, integration tests against real docker-registry processes, and the published
# packages packed, installed with npm in a scratch project and type-checked: that needs the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ensure.sh
. scripts/lib/ensure.sh

started=$(date +%s)
ensure_pnpm
ensure_system_tools docker-registry:docker-registry skopeo:skopeo openssl:openssl script:bsdutils

echo "==> pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=append-only 2>&1 | tail -n 3
echo "==> standalone (no test, benchmark, example or script reads outside the repository)"
node scripts/check-standalone.mjs
echo "==> build"
pnpm run build
echo "==> lint"
pnpm run lint
echo "==> typecheck"
pnpm run typecheck
echo "==> structure (no source file over 450 lines of code without a reason in its header, no import cycle)"
node scripts/check-structure.mjs --strict
echo "==> test"
mkdir -p .vitest-results
rc=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results/results.json || rc=$?
node scripts/test-summary.mjs .vitest-results/results.json || rc=1
echo "==> benchmark smoke (small sizes, one run, no thresholds)"
bash scripts/bench.sh --smoke || rc=1
echo "==> done in $(( $(date +%s) - started ))s (exit $rc)"
exit "$rc"
