#!/usr/bin/env bash
# Builds golangci-lint from the Go module proxy into a git-ignored cache (instant when cached),
# then runs it with the repository's .golangci.yml.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v2.15.0
bin=.cache/tools/golangci-lint-$version
if [ ! -x "$bin" ]; then
  echo "building golangci-lint $version (first run only)" >&2
  tmp=$(mktemp -d)
  GOBIN="$tmp" go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version"
  mkdir -p .cache/tools
  mv "$tmp/golangci-lint" "$bin"
  rmdir "$tmp"
fi
exec "$bin" run "$@"
