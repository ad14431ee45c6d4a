#!/usr/bin/env bash
# chart-test.sh is the chart's CI: README up to date, `helm lint --strict` and `helm template` for the
# defaults and every ci/*-values.yaml scenario, renders that must fail (schema, missing CA), the
# generated certificate's names, and the helm-unittest suites. helm and the plugin come from
# hack/helm.sh (built from the Go module proxy, cached).
#
# Usage: hack/chart-test.sh        # everything
#        hack/chart-test.sh lint   # only lint and template the scenarios (make chart-lint)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
chart=charts/irsa-guard
release=irsa-guard
ns=irsa-guard

eval "$(bash hack/helm.sh)"

echo "chart-test: README.md is generated from values.yaml (helm-docs)"
hack/helm-docs.sh --check

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

scenarios=("$chart"/ci/*-values.yaml)
for values in "" "${scenarios[@]}"; do
  name=${values:+$(basename "$values" -values.yaml)}
  args=(${values:+-f "$values"})
  echo "chart-test: lint and template ${name:-defaults}"
  helm lint --strict --namespace "$ns" "$chart" "${args[@]}" >"$out/lint.log" || { cat "$out/lint.log"; exit 1; }
  helm template "$release" "$chart" --namespace "$ns" "${args[@]}" >"$out/${name:-defaults}.yaml"
done

if [[ $mode == lint ]]; then
  exit 0
fi

# must_fail renders with the given flags and requires the error to contain the expected text: the
# schema and the templates must reject bad input with a message that says what to fix.
must_fail() {
  local want=$1
  shift
  if helm template "$release" "$chart" --namespace "$ns" "$@" >/dev/null 2>"$out/err"; then
    echo "chart-test: rendering with $* succeeded, want an error containing: $want" >&2
    exit 1
  fi
  if ! grep -qF -- "$want" "$out/err"; then
    echo "chart-test: rendering with $* failed without '$want':" >&2
    cat "$out/err" >&2
    exit 1
  fi
}
echo "chart-test: bad values are rejected"
must_fail "additional properties 'replicas' not allowed" --set replicas=3
must_fail "additional properties 'failurPolicy' not allowed" --set webhook.failurPolicy=Fail
must_fail "/config/mode" --set config.mode=audit
must_fail "/webhook/timeoutSeconds" --set webhook.timeoutSeconds=0
must_fail "tls.caBundle is required with tls.existingSecret" --set tls.existingSecret=my-cert

echo "chart-test: the server accepts every scenario's args and config; generated certificates are valid"
go build -o "$out/chartcheck" ./hack/chartcheck
for rendered in "$out"/*.yaml; do
  tls=()
  case $(basename "$rendered" .yaml) in
  cert-manager* | user-tls) ;; # no chart-generated Secret to check
  e2e) tls=(-tls -dns "$release.$ns.svc" -dns localhost -ip 127.0.0.1) ;;
  *) tls=(-tls -dns "$release.$ns.svc" -dns "$release.$ns.svc.cluster.local") ;;
  esac
  "$out/chartcheck" -f "$rendered" "${tls[@]}"
done

echo "chart-test: helm-unittest"
helm unittest --strict "$chart"
