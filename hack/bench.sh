#!/usr/bin/env bash
# Measures irsa-guard's admission path and prints one table per benchmark family: the median of
# every metric over COUNT runs, ratios against the allow-all baseline measured in the same run
# (x-baseline columns). docs/performance.md records the figures and explains them.
#
#   hack/bench.sh                 full run (about 12 minutes on 2 cores at --count 5); raw output in bench-out/
#   hack/bench.sh --count 3       fewer repetitions
#   hack/bench.sh --cpuprofile    also write bench-out/warm-serviceaccount.cpu (go tool pprof it)
#   hack/bench.sh --against REV   before/after: REV's and the working tree's serial benchmarks,
#                                 run alternately COUNT times so both see the same machine load
#   hack/bench.sh --smoke         run every benchmark of the module once (make test does this)
set -euo pipefail
cd "$(dirname "$0")/.."

# The bench package reads the cluster through serve's informer cache on a real kube-apiserver.
KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS:-$(hack/controlplane.sh | tail -1)}
export KUBEBUILDER_ASSETS

count=5
profile=false
against=
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke)
      # -short: BenchmarkColdStart and BenchmarkScale at a smoke size (seconds, not minutes).
      exec go test -count=1 -short -run='^$' -bench=. -benchtime=1x ./... ;;
    --count) count=$2; shift 2 ;;
    --cpuprofile) profile=true; shift ;;
    --against) against=$2; shift 2 ;;
    *) echo "usage: hack/bench.sh [--count N] [--cpuprofile] [--against REV] | --smoke" >&2; exit 2 ;;
  esac
done

out=bench-out
mkdir -p "$out"
raw=$out/bench-$(date -u +%Y%m%dT%H%M%SZ).txt
{
  echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '-dirty')"
  echo "# $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$raw"
run() { go test -run='^$' -count="$count" "$@" | tee -a "$raw"; }
if [[ -n $against ]]; then
  # Build both versions' test binaries, then alternate them: a table row per version.
  rev=$(git rev-parse --short "$against")
  src=$out/src-$rev
  rm -rf "$src" && mkdir -p "$src" && git archive "$rev" | tar -x -C "$src"
  bin=$PWD/$out
  for v in "$rev:$src" "new:."; do
    (cd "${v#*:}" && go test -c -o "$bin/${v%%:*}-bench.test" ./bench && go test -c -o "$bin/${v%%:*}-awsfacts.test" ./awsfacts)
  done
  label() { sed -E "s/^(Benchmark[^ \t]*)-([0-9]+)([ \t])/\1@$1-\2\3/"; }
  for ((i = 0; i < count; i++)); do
    for v in "$rev" new; do
      (cd awsfacts && "$bin/$v-awsfacts.test" -test.run='^$' -test.bench='^BenchmarkVerifyWarm$' -test.benchmem) | label "$v" | tee -a "$raw"
      (cd bench && "$bin/$v-bench.test" -test.run='^$' -test.bench='^BenchmarkAdmission$' -test.benchtime=1s) | label "$v" | tee -a "$raw"
    done
  done
else
  run -bench='^BenchmarkVerify(Warm|Cold)$' -benchmem ./awsfacts
  run -bench='^BenchmarkAdmission$' -benchtime=1s ./bench
  run -bench='^BenchmarkAdmission(Load|Rate)$' -benchtime=2000x ./bench
  run -bench='^BenchmarkColdStart$' -benchtime=1x ./bench
  # One run: 10,000 ServiceAccounts take minutes to create and warm.
  go test -run='^$' -count=1 -bench='^BenchmarkScale$' -benchtime=1x -timeout=30m ./bench | tee -a "$raw"
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$raw"
if $profile; then
  go test -run='^$' -bench='^BenchmarkAdmission$/^serviceaccount$/^warm$' -benchtime=5s \
    -cpuprofile "$out/warm-serviceaccount.cpu" -o "$out/bench.test" ./bench >/dev/null
  echo "# profile: go tool pprof -top -cum $out/bench.test $out/warm-serviceaccount.cpu"
fi

echo
echo "Medians of $count runs ($raw):"
awk '
  function median(name, unit,   n, i, j, v, a) {
    n = cnt[name, unit]
    for (i = 1; i <= n; i++) a[i] = val[name, unit, i]
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /^Benchmark/ {
    name = $1; sub(/-[0-9]+$/, "", name)
    fam = name; if (!sub(/\/.*/, "", fam)) fam = "Benchmark"
    if (!(name in seen)) { seen[name] = 1; names[++nn] = name; family[name] = fam }
    if (!(fam in nfam)) { nfam[fam] = 0; fams[++nf] = fam }
    for (i = 3; i + 1 <= NF; i += 2) {
      unit = $(i + 1)
      if (unit == "B/op") continue
      if (!((fam, unit) in hasunit)) { hasunit[fam, unit] = 1; units[fam, ++nfam[fam]] = unit }
      val[name, unit, ++cnt[name, unit]] = $i
    }
  }
  END {
    for (f = 1; f <= nf; f++) {
      fam = fams[f]; printf "\n%-52s", fam
      for (u = 1; u <= nfam[fam]; u++) printf " %14s", units[fam, u]
      printf "\n"
      for (k = 1; k <= nn; k++) {
        name = names[k]; if (family[name] != fam) continue
        short = name; if (fam != "Benchmark") sub(/^[^\/]*\//, "  ", short)
        printf "%-52s", short
        for (u = 1; u <= nfam[fam]; u++) {
          unit = units[fam, u]
          if (cnt[name, unit] == 0) printf " %14s", "-"
          else printf " %14.4g", median(name, unit)
        }
        printf "\n"
      }
    }
  }' "$raw"
