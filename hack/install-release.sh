#!/usr/bin/env bash
# install-release.sh downloads an irsa-guard release binary and checks its SHA-256, for the
# composite action (action.yml) and the pre-commit hook (hack/pre-commit.sh).
#
# Usage: hack/install-release.sh VERSION DIR   # installs DIR/irsa-guard, prints its path
#
# Releases are published as
#   https://github.com/irsa-guard/irsa-guard/releases/download/VERSION/irsa-guard-OS-ARCH
#   https://github.com/irsa-guard/irsa-guard/releases/download/VERSION/irsa-guard-OS-ARCH.sha256
# (`make dist` builds exactly these files), OS linux or darwin, ARCH amd64 or arm64.
# IRSA_GUARD_RELEASES overrides the base URL (a mirror; the tests use a local server).
set -euo pipefail

version=${1:?usage: install-release.sh VERSION DIR}
dir=${2:?usage: install-release.sh VERSION DIR}
base=${IRSA_GUARD_RELEASES:-https://github.com/irsa-guard/irsa-guard/releases/download}

case $(uname -s) in
Linux) os=linux ;;
Darwin) os=darwin ;;
*) echo "install-release: irsa-guard releases are built for Linux and macOS, not $(uname -s)" >&2; exit 2 ;;
esac
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) echo "install-release: irsa-guard releases are built for amd64 and arm64, not $(uname -m)" >&2; exit 2 ;;
esac
if [[ ! $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  echo "install-release: version \"$version\" is not a release tag such as v1.2.3" >&2
  exit 2
fi

name=irsa-guard-$os-$arch
url=$base/$version/$name
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/$name" "$url" || { echo "install-release: could not download $url" >&2; exit 1; }
curl -fsSL --retry 3 -o "$tmp/$name.sha256" "$url.sha256" || { echo "install-release: could not download $url.sha256" >&2; exit 1; }
want=$(cut -d' ' -f1 "$tmp/$name.sha256")
got=$(sha256sum "$tmp/$name" | cut -d' ' -f1)
if [[ $want != "$got" ]]; then
  echo "install-release: $url has SHA-256 $got, but $url.sha256 says $want" >&2
  exit 1
fi
chmod +x "$tmp/$name"
mv "$tmp/$name" "$dir/irsa-guard"
echo "$dir/irsa-guard"
