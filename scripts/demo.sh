#!/usr/bin/env bash
# The demo: installs the JavaScript dependencies, builds, and runs examples/demo.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/ensure.sh
. scripts/lib/ensure.sh
ensure_pnpm
pnpm install --frozen-lockfile --reporter=silent
pnpm run build >/dev/null
exec pnpm exec tsx examples/demo.ts "$@"
