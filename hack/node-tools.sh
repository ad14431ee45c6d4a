#!/usr/bin/env bash
# node-tools.sh installs the npm packages the Go tests use (hack/node-tools/package-lock.json: the
# AWS CDK, and Microsoft's SARIF multitool where the platform has it) into
# .cache/node-tools/<lockfile hash> with `npm ci`, once, and prints that folder. Idempotent: instant
# when the stamp file matches the lockfile; concurrent callers (parallel go test packages) wait on a lock.
#
# Usage: dir=$(hack/node-tools.sh)   # then node_modules is "$dir/node_modules"
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/hack/node-tools
key=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-16)
cache=${NODE_TOOLS_CACHE:-$root/.cache/node-tools}
dir=$cache/$key
stamp=$dir/.stamp

log() { echo "node-tools: $*" >&2; }
warm() { [[ -f $stamp && $(cat "$stamp") == "$key" ]]; }

if warm; then
  echo "$dir"
  exit 0
fi
command -v npm >/dev/null || { log "npm is not installed"; exit 3; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if warm; then
  echo "$dir"
  exit 0
fi
start=$SECONDS
rm -rf "$dir"
mkdir -p "$dir"
cp "$src/package.json" "$src/package-lock.json" "$dir/"
# --ignore-scripts: nothing from the registry runs at install time. The multitool's only script
# makes its binary executable, which is done here instead.
log "npm ci in $dir ($(npm --version))"
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
mt=$dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
[[ -f $mt ]] && chmod u+x "$mt"
echo "$key" >"$stamp"
log "installed in $((SECONDS - start))s"
echo "$dir"
