#!/usr/bin/env bash
# pre-commit.sh is the entry of the pre-commit hook (.pre-commit-hooks.yaml): it runs the
# irsa-guard release that the hook's rev names, downloading it once into
# ${XDG_CACHE_HOME:-~/.cache}/irsa-guard/VERSION, with the arguments and file names pre-commit gives.
#
# The version is the release tag of the commit pre-commit checked out (its `rev:`), or
# IRSA_GUARD_VERSION when set.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version=${IRSA_GUARD_VERSION:-}
if [[ -z $version ]]; then
  version=$(git -C "$here" describe --tags --exact-match 2>/dev/null || true)
fi
if [[ -z $version ]]; then
  # pre-commit fetches only the commit of rev, without tags: ask the remote which tag it is.
  head=$(git -C "$here" rev-parse HEAD)
  version=$(git -C "$here" ls-remote --tags origin 2>/dev/null |
    awk -v h="$head" '$1 == h { sub("refs/tags/", "", $2); sub(/\^\{\}$/, "", $2); print $2; exit }')
fi
if [[ -z $version ]]; then
  echo "irsa-guard pre-commit hook: rev is not a release tag; pin rev: to one (e.g. v1.2.3) or set IRSA_GUARD_VERSION" >&2
  exit 2
fi
cache=${XDG_CACHE_HOME:-$HOME/.cache}/irsa-guard/$version
bin=$cache/irsa-guard
if [[ ! -x $bin ]]; then
  bin=$("$here/hack/install-release.sh" "$version" "$cache")
fi
exec "$bin" "$@"
