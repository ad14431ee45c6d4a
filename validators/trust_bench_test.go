package validators

import (
	"testing"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// BenchmarkEvaluateTrust is the cost of a cold trust check (a role's first review, the pre-warm,
// the audit, lint over a repository): EvaluateTrust is the decision plus IRSA034's probes of other
// identities, against the decision alone (trustpolicy.Evaluate) measured in the same run
// (x-decision columns). A serve process holding 10,000 roles spends most of its start-up
// allocations here (docs/performance.md).
func BenchmarkEvaluateTrust(b *testing.B) {
	const issuer = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	policy, err := trustpolicy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + issuer + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + issuer + `:aud":"sts.amazonaws.com",` +
		`"` + issuer + `:sub":"system:serviceaccount:shop:cart"}}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	obj := Object{Kind: "ServiceAccount", Namespace: "shop", Name: "cart"}
	req := TrustRequest{ProviderARN: ProviderARN("aws", "111122223333", issuer), Subject: ServiceAccountSubject("shop", "cart")}
	var decision struct{ ns, bytes float64 }
	for _, name := range []string{"decision", "check"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if name == "decision" {
					if trustpolicy.Evaluate(policy, WebIdentityRequest(req)).Decision != trustpolicy.DecisionAllow {
						b.Fatal("not allowed")
					}
				} else if rep := EvaluateTrust(obj, policy, req); rep.Result.Decision != trustpolicy.DecisionAllow || len(rep.Findings) != 0 {
					b.Fatalf("decision %s, findings %v", rep.Result.Decision, rep.Findings)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if name == "decision" {
				decision.ns = ns
			} else if decision.ns > 0 {
				b.ReportMetric(ns/decision.ns, "x-decision")
			}
		})
	}
}
