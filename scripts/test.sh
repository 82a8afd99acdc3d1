#!/usr/bin/env bash
# Runs *.test.ts files with node's test runner (through tsx).
#   npm test [-- file-or-dir ...]   everything (or the given files/dirs)
#   npm run test:unit               test/unit: pure functions, no database, Redis or socket (the fast loop)
#   npm run test:integration        every other suite (PGlite + PostgreSQL, Redis, HTTP)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--integration" ]; then
  shift
  mapfile -t files < <(find test src -name '*.test.ts' -not -path 'test/unit/*' | sort)
elif [ "$#" -gt 0 ]; then
  mapfile -t files < <(find "$@" -name '*.test.ts' | sort)
else
  mapfile -t files < <(find test src -name '*.test.ts' | sort)
fi
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-240000}" "${files[@]}"
