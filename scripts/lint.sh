#!/usr/bin/env bash
# `npm run lint`: lint + format check (Biome), dependency rules (dependency-cruiser, the rules of
# docs/ARCHITECTURE.md), dead exports (knip), and the OpenAPI document (Redocly). Stops at the first failure.
# LINT_FORMAT=all also checks the formatting of every file (see biome.json: formatter.includes).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "lint: biome"
npx biome check --max-diagnostics=50 .
echo "lint: dependency rules"
npx depcruise src --config .dependency-cruiser.cjs --output-type err
echo "lint: dead exports"
npx knip --no-progress
echo "lint: openapi"
doc="$(mktemp --suffix=.json)"
trap 'rm -f "$doc"' EXIT
npx tsx scripts/openapi.ts "$doc"
# Redocly prints a Node 20 deprecation box; keep its verdict and exit code.
set +e
out="$(npx redocly lint "$doc" --format=stylish 2>&1)"
rc=$?
set -e
printf '%s\n' "$out" | grep -v '║\|╔\|╚' || true
exit "$rc"
