#!/usr/bin/env bash
# controlplane.sh builds a real kube-apiserver, kubectl and etcd from the Go module proxy and caches them
# in .cache/controlplane/<version>/bin, the layout envtest expects in KUBEBUILDER_ASSETS. No release
# tarballs are downloaded: the module proxy is the only network this project's CI can reach.
#
# Usage: hack/controlplane.sh            # prints the assets dir as the last line of stdout
#        KUBEBUILDER_ASSETS=$(hack/controlplane.sh | tail -1) go test -tags e2e ./e2e/...
#
# Cold: about 11 minutes on an otherwise idle 2-core machine with an empty Go build cache
# (measured in a fresh-clone CI run). Warm (stamp file matches): instant. Concurrent callers wait on a lock.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.8}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${CONTROLPLANE_CACHE:-$root/.cache/controlplane}
assets=$cache/$K8S_VERSION/bin
stamp=$assets/.stamp
want="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION"

log() { echo "controlplane: $*" >&2; }

# sweep stops control-plane processes (and anything else) left by an e2e run whose test binary died: the
# e2e harness marks every process it spawns with IRSA_GUARD_E2E_OWNER=<pid>-<starttime> of the test
# binary, so a process is stopped only if that exact owner is gone. Concurrent live runs are untouched.
# The harness's own watchdog normally does this; `make e2e` sweeps before and after as a backstop.
sweep() {
  local env_file pid owner owner_pid start victims=()
  for env_file in /proc/[0-9]*/environ; do
    pid=${env_file#/proc/}
    pid=${pid%/environ}
    owner=$({ tr '\0' '\n' <"$env_file"; } 2>/dev/null | sed -n 's/^IRSA_GUARD_E2E_OWNER=//p' | tail -1) || continue
    [[ -n $owner ]] || continue
    owner_pid=${owner%%-*}
    start=$(sed -E 's/^.*\) //' "/proc/$owner_pid/stat" 2>/dev/null | awk '{print $20}') || true
    [[ "$owner_pid-$start" == "$owner" ]] && continue # owner alive
    victims+=("$pid")
  done
  if ((${#victims[@]} > 0)); then
    log "stopping ${#victims[@]} processes left by a killed e2e run: ${victims[*]}"
    kill -TERM "${victims[@]}" 2>/dev/null || true
    sleep 3
    kill -KILL "${victims[@]}" 2>/dev/null || true
  fi
  local dir
  for dir in "${TMPDIR:-/tmp}"/irsa-guard-e2e-*; do
    [[ -d $dir ]] || continue
    owner=${dir##*/irsa-guard-e2e-}
    owner_pid=${owner%%-*}
    start=$(sed -E 's/^.*\) //' "/proc/$owner_pid/stat" 2>/dev/null | awk '{print $20}') || true
    [[ "$owner_pid-$start" == "$owner" ]] || rm -rf "$dir"
  done
}

if [[ ${1:-} == sweep ]]; then
  sweep
  exit 0
fi

# warm reports whether every binary exists and the stamp names the versions we want.
warm() {
  [[ -x $assets/kube-apiserver && -x $assets/kubectl && -x $assets/etcd && -f $stamp ]] &&
    [[ $(cat "$stamp") == "$want" ]]
}

if warm; then
  echo "$assets"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
  log "another build holds $cache/.lock; waiting"
  flock 9
fi
if warm; then # built by whoever held the lock
  echo "$assets"
  exit 0
fi

start=$SECONDS
# Staging modules are versioned v0.X.Y for Kubernetes v1.X.Y.
staging_version=v0.${K8S_VERSION#v1.}
build=$cache/$K8S_VERSION/tmp
rm -rf "$build"
mkdir -p "$build"

# --- kube-apiserver and kubectl ---------------------------------------------------------------------
src=$cache/src/kubernetes-$K8S_VERSION
mkdir -p "$src"
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -nE 's/^\s*"GoMod": "(.*)",?$/\1/p')
if [[ ! -f $gomod ]]; then
  log "could not download k8s.io/kubernetes@$K8S_VERSION's go.mod from the module proxy ($(go env GOPROXY))"
  exit 1
fi
# k8s.io/kubernetes replaces its staging modules with ./staging/... paths, which do not exist in the
# module zip; point each one at its published version instead. The list comes from the go.mod itself.
mapfile -t staged < <(sed -nE 's#^\s*(replace\s+)?(k8s\.io/[^ \t]+)\s+=>\s+\./staging/.*#\2#p' "$gomod" | sort -u)
if ((${#staged[@]} == 0)); then
  log "found no ./staging replace directives in $gomod; the recipe needs updating for $K8S_VERSION"
  exit 1
fi
log "building kube-apiserver and kubectl $K8S_VERSION (${#staged[@]} staging modules at $staging_version)"
{
  echo "module irsa-guard.local/controlplane"
  echo
  echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for m in "${staged[@]}"; do echo "	$m => $m $staging_version"; done
  echo ")"
} >"$src/go.mod"
rm -f "$src/go.sum"
(cd "$src" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" >&2)

minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The same variables Kubernetes' hack/lib/version.sh stamps; kubectl version fails to parse an
# unstamped "v0.0.0-master" build.
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
(cd "$src" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$build/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)

# --- etcd -------------------------------------------------------------------------------------------
esrc=$cache/src/etcd-$ETCD_VERSION
mkdir -p "$esrc"
log "building etcd $ETCD_VERSION"
printf 'module irsa-guard.local/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
  "$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')" "$ETCD_VERSION" >"$esrc/go.mod"
rm -f "$esrc/go.sum"
(cd "$esrc" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2)
(cd "$esrc" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" -o "$build/etcd" go.etcd.io/etcd/server/v3)

# --- verify and publish -----------------------------------------------------------------------------
got=$("$build/kube-apiserver" --version)
if [[ $got != "Kubernetes $K8S_VERSION" ]]; then
  log "kube-apiserver --version printed \"$got\", want \"Kubernetes $K8S_VERSION\""
  exit 1
fi
"$build/kubectl" version --client >&2
"$build/etcd" --version >&2
mkdir -p "$assets"
for b in kube-apiserver kubectl etcd; do mv -f "$build/$b" "$assets/$b"; done
rm -rf "$build"
echo "$want" >"$stamp"
log "built in $((SECONDS - start))s"
echo "$assets"
