#!/usr/bin/env bash
# The API docs: builds the packages (TypeDoc reads each package's sources, and their imports of the other
# workspace packages through those packages' dist/*.d.ts), then runs TypeDoc with typedoc.json: the five
# published packages (core, node, signing, testing, cli; not the private test-infra), each from src/index.ts
# (plus core's PortableHash and testing's ContractSuite subpaths), into docs/api (gitignored). Arguments go to
# TypeDoc. Warnings (undocumented or unexported types) do not fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> build"
pnpm run build
echo "==> typedoc"
pnpm exec typedoc "$@"
echo "==> written: docs/api/index.html"
