#!/usr/bin/env bash
# Runs every *.test.ts under test/ and src/ with node's test runner (through tsx).
# Usage: npm test [-- file-or-dir ...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then
  mapfile -t files < <(find "$@" -name '*.test.ts' | sort)
else
  mapfile -t files < <(find test src -name '*.test.ts' | sort)
fi
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-120000}" "${files[@]}"
