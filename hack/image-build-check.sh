#!/usr/bin/env bash
# image-build-check.sh checks the Dockerfile's build stage without a Docker engine: it verifies the
# Dockerfile still builds with `make build`, then runs that same command the way the build stage
# does (cross-compiled for linux, VERSION passed in) and checks the result is what a distroless/static
# image needs: a static, trimpath, version-stamped linux binary.
set -euo pipefail
cd "$(dirname "$0")/.."

build_line=$(grep -E '^RUN .*make build' Dockerfile || true)
if [[ $build_line != 'RUN GOOS=$TARGETOS GOARCH=$TARGETARCH make build VERSION=$VERSION' ]]; then
  echo "image-build-check: the Dockerfile's build stage must run 'make build' (found: '${build_line:-nothing}')" >&2
  exit 1
fi
grep -qE '^FROM gcr.io/distroless/static[^ ]*:nonroot$' Dockerfile ||
  { echo "image-build-check: the final stage must be distroless/static nonroot" >&2; exit 1; }
grep -qE '^USER 65532(:65532)?$' Dockerfile ||
  { echo "image-build-check: the final stage must run as USER 65532" >&2; exit 1; }

version=image-build-check
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The build stage's command, with the Dockerfile's TARGETOS/TARGETARCH for this machine's arch.
GOOS=linux GOARCH=$(go env GOARCH) make --no-print-directory build VERSION=$version
cp bin/irsa-guard "$out/irsa-guard"

info=$(go version -m "$out/irsa-guard")
# (-trimpath builds do not record -ldflags; the version check below covers the stamp.)
for want in 'CGO_ENABLED=0' '-trimpath=true' 'GOOS=linux'; do
  if ! grep -qF -- "$want" <<<"$info"; then
    echo "image-build-check: binary build info lacks '$want':" >&2
    echo "$info" >&2
    exit 1
  fi
done
if "$out/irsa-guard" version | grep -qF "irsa-guard $version "; then
  echo "image-build-check: ok (static linux binary, version $version)"
else
  echo "image-build-check: 'irsa-guard version' does not print the stamped version" >&2
  exit 1
fi
