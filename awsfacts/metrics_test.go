package awsfacts

import (
	"maps"
	"slices"
	"testing"
)

func TestMetricsAreExportedOnTheCallersRegistry(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	check(v, testContext(t), e.identity(appRole))
	// A second SDK on the same registry (a restart, lint and serve in one process) shares
	// the series instead of failing.
	v2 := e.verifier(t, func(o *Options) { o.Account = ownAccount })
	check(v2, testContext(t), e.identity(appRole))

	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{} // name -> "label=value,..." -> value
	for _, mf := range families {
		got[mf.GetName()] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			got[mf.GetName()][key] = m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	want := map[string]map[string]float64{
		"irsa_guard_iam_requests_total": {
			"api=GetCallerIdentity,outcome=ok,": 1, "api=GetRole,outcome=ok,": 2,
			"api=GetOpenIDConnectProvider,outcome=ok,": 2, "api=OIDCDiscovery,outcome=ok,": 2,
		},
		"irsa_guard_iam_request_duration_seconds": {
			"api=GetCallerIdentity,": 1, "api=GetRole,": 2, "api=GetOpenIDConnectProvider,": 2, "api=OIDCDiscovery,": 2,
		},
		"irsa_guard_cache_lookups_total": {
			"cache=account,result=miss,": 1, "cache=role,result=miss,": 2, "cache=oidc-provider,result=miss,": 2,
			"cache=thumbprint,result=miss,": 2,
		},
	}
	for name, series := range want {
		for labels, n := range series {
			if got[name][labels] != n {
				t.Errorf("%s{%s} = %v, want %v", name, labels, got[name][labels], n)
			}
		}
	}
	if names := slices.Sorted(maps.Keys(got)); len(names) != 3 {
		t.Errorf("metric families = %v, want exactly the three irsa_guard ones", names)
	}
}
