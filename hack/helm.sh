#!/usr/bin/env bash
# helm.sh builds helm and the helm-unittest plugin from the Go module proxy and caches them under
# .cache/helm/<version>, with helm's data, config and cache homes inside that folder so nothing in
# $HOME is read or written and no plugin install reaches the network.
#
# Usage: eval "$(hack/helm.sh)"   # exports PATH and HELM_*; then: helm lint --strict charts/irsa-guard
#
# Release helm binaries stamp the Kubernetes version they were built against; a `go install` build
# defaults to v1.20, so charts with `kubeVersion: ">=1.25.0-0"` would fail to render. We stamp the same
# variables helm's own Makefile does (pkg/chartutil and pkg/lint/rules k8sVersionMajor/Minor,
# internal/version.*). Idempotent: instant when the stamp file matches.
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.22.0}
UNITTEST_VERSION=${UNITTEST_VERSION:-v1.1.2}
K8S_MINOR=${K8S_MINOR:-37}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${HELM_TOOLS_CACHE:-$root/.cache/helm}
home=$cache/$HELM_VERSION
bin=$home/bin
data=$home/data
plugin=$data/plugins/unittest
stamp=$home/.stamp
want="helm=$HELM_VERSION unittest=$UNITTEST_VERSION k8s=1.$K8S_MINOR"

log() { echo "helm-tools: $*" >&2; }

print_env() {
  echo "export PATH=\"$bin:\$PATH\""
  echo "export HELM_DATA_HOME=\"$data\""
  echo "export HELM_PLUGINS=\"$data/plugins\""
  echo "export HELM_CONFIG_HOME=\"$home/config\""
  echo "export HELM_CACHE_HOME=\"$home/cache\""
}

goos=$(go env GOOS)
goarch=$(go env GOARCH)
# plugin.yaml's platformCommand names the binary untt-<os>-<arch>, with "macos" for darwin.
untt=untt-${goos/darwin/macos}-$goarch

warm() {
  [[ -x $bin/helm && -x $plugin/$untt && -f $plugin/plugin.yaml && -f $stamp ]] &&
    [[ $(cat "$stamp") == "$want" ]]
}

if warm; then
  print_env
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if warm; then
  print_env
  exit 0
fi
start=$SECONDS
mkdir -p "$bin" "$plugin" "$home/config" "$home/cache"

k8s_ldflags="-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR"
k8s_ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR"

log "building helm $HELM_VERSION (Kubernetes 1.$K8S_MINOR capabilities)"
GOBIN=$bin CGO_ENABLED=0 nice -n 10 go install -trimpath \
  -ldflags "-s -w $k8s_ldflags -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"

# helm-unittest's go.mod has a replace directive, which `go install module@version` refuses; build it
# inside a writable copy of its module source instead. It links helm's chartutil too, so stamp it alike.
log "building helm-unittest $UNITTEST_VERSION"
moddir=$(go mod download -json "github.com/helm-unittest/helm-unittest@$UNITTEST_VERSION" | sed -nE 's/^\s*"Dir": "(.*)",?$/\1/p')
if [[ ! -d $moddir ]]; then
  log "could not download github.com/helm-unittest/helm-unittest@$UNITTEST_VERSION from $(go env GOPROXY)"
  exit 1
fi
src=$cache/src/helm-unittest-$UNITTEST_VERSION
rm -rf "$src"
mkdir -p "$(dirname "$src")"
cp -r "$moddir" "$src"
chmod -R u+w "$src"
(cd "$src" && CGO_ENABLED=0 nice -n 10 go build -trimpath \
  -ldflags "-s -w $k8s_ldflags -X github.com/helm-unittest/helm-unittest/internal/build.version=${UNITTEST_VERSION#v}" \
  -o "$plugin/$untt" ./cmd/helm-unittest)
# An offline install is what `helm plugin install` would leave behind: plugin.yaml and the binary its
# platformCommand names. The install hook only downloads a release binary, so it is not needed.
cp "$src/plugin.yaml" "$plugin/plugin.yaml"

eval "$(print_env)"
helm version >&2
helm unittest --help >/dev/null
echo "$want" >"$stamp"
log "built in $((SECONDS - start))s"
print_env
