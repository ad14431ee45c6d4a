#!/usr/bin/env bash
# Builds helm-docs from the Go module proxy into a git-ignored cache (instant when cached) and runs
# it on the chart: README.md is generated from README.md.gotmpl and the `# --` comments in
# values.yaml (helm-docs' convention).
#
# Usage: hack/helm-docs.sh          # rewrite charts/irsa-guard/README.md
#        hack/helm-docs.sh --check  # fail if README.md is out of date
set -euo pipefail
cd "$(dirname "$0")/.."
version=v1.14.2
bin=.cache/tools/helm-docs-$version
if [ ! -x "$bin" ]; then
  echo "building helm-docs $version (first run only)" >&2
  tmp=$(mktemp -d)
  GOBIN="$tmp" go install "github.com/norwoodj/helm-docs/cmd/helm-docs@$version"
  mkdir -p .cache/tools
  mv "$tmp/helm-docs" "$bin"
  rmdir "$tmp"
fi
chart=charts/irsa-guard
args=(--chart-search-root "$chart" --template-files README.md.gotmpl --sort-values-order file --log-level warning)
if [[ ${1:-} == --check ]]; then
  want=$("$bin" "${args[@]}" --dry-run)
  if ! diff -u "$chart/README.md" <(printf '%s\n' "$want") >&2; then
    echo "helm-docs: $chart/README.md is out of date with values.yaml or README.md.gotmpl: run \`make chart-docs\` and commit it" >&2
    exit 1
  fi
  exit 0
fi
exec "$bin" "${args[@]}"
