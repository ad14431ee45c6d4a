#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a short time each. Seed corpora run as plain
# tests in `go test ./...`; this adds a little coverage-guided exploration in CI.
set -euo pipefail
fuzztime=${1:-10s}
cd "$(dirname "$0")/.."
found=0
while IFS= read -r line; do
  file=${line%%:*}
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"${line#*:}")
  pkg=./$(dirname "$file")
  echo "fuzz $pkg $name ($fuzztime)"
  # Minimising a new interesting input can take a minute per input by default; cap it so
  # the fuzz budget goes to exploring.
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s -timeout=5m "$pkg"
  found=$((found + 1))
done < <(git ls-files -co --exclude-standard '*_test.go' | xargs -r grep -H '^func Fuzz' || true)
echo "fuzzed $found targets"
