package validators

import (
	"fmt"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// Probe identities for IRSA034. Kubernetes names cannot contain "_" or ".", so no real
// ServiceAccount, namespace or provider can collide with them.
const (
	probeName      = "irsa_guard_probe"
	probeProvider  = "oidc.irsa-guard.invalid/probe"
	probeAccountID = "000000000000"
)

// tooBroad asks the policy the question an attacker would: would a token for another
// ServiceAccount of this cluster, or from another identity provider, also be allowed? Probing
// the evaluator instead of pattern-matching the policy catches every shape of over-broad trust:
// no :sub condition, a sub wildcard, StringNotEquals, ForAllValues or IfExists on a typoed key.
func (d diagnoser) tooBroad() []Finding {
	ns, name, ok := splitSubject(d.req.Subject)
	if !ok {
		ns, name = probeName, probeName
	}
	probe := func(r TrustRequest) (trustpolicy.Result, bool) {
		res := trustpolicy.Evaluate(d.policy, WebIdentityRequest(r))
		return res, res.Decision == trustpolicy.DecisionAllow
	}
	other := d.req
	other.Subject = ServiceAccountSubject(probeName, probeName)
	if res, allowed := probe(other); allowed {
		return []Finding{d.broadFinding(res, "any ServiceAccount can assume the role")}
	}
	other.Subject = ServiceAccountSubject(ns, probeName)
	if res, allowed := probe(other); allowed {
		return []Finding{d.broadFinding(res, fmt.Sprintf("any ServiceAccount in %s can assume the role", Quote(ns, 30)))}
	}
	other.Subject = ServiceAccountSubject(probeName, name)
	if res, allowed := probe(other); allowed {
		return []Finding{d.broadFinding(res, fmt.Sprintf("any ServiceAccount named %s can assume the role", Quote(name, 30)))}
	}
	want, _ := parseProviderARN(d.req.ProviderARN)
	other = TrustRequest{
		ProviderARN: fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", want.partition, probeAccountID, probeProvider),
		Subject:     d.req.Subject,
		Audience:    d.req.Audience,
	}
	if res, allowed := probe(other); allowed {
		return []Finding{d.broadFinding(res, "tokens of any OIDC provider can assume the role")}
	}
	return nil
}

// broadFinding names the statement that let the probe in and the reason: no sub condition, the
// sub pattern, or a condition that matched only because its key is absent.
func (d diagnoser) broadFinding(probe trustpolicy.Result, who string) Finding {
	host := providerHostPath(d.req.ProviderARN)
	subKey := host + ":sub"
	fix := fmt.Sprintf(`Scope the trust to this ServiceAccount: "StringEquals": {%q: %q}.`, subKey, d.req.Subject)
	if len(probe.Deciding) == 0 {
		return NewFinding(CheckTrustTooBroad, d.obj, who).WithFix(fix)
	}
	sr := probe.Statements[probe.Deciding[0].Index]
	s := d.statement(sr.Index)
	why, absent := "no :sub condition", ""
	for _, c := range sr.Conditions {
		switch {
		case c.Present && strings.EqualFold(c.Key, subKey):
			why = fmt.Sprintf("sub %s %s", c.Operator, quoteValues(c.Values))
		case !c.Present && c.Matched && absent == "":
			absent = fmt.Sprintf("%s is true on absent %s", c.Operator, Quote(claimSuffix(c.Key), 12))
		}
	}
	if absent != "" && why == "no :sub condition" {
		why = absent
	}
	if s.Principal != nil && s.Principal.Any {
		why = `Principal "*"`
	}
	return NewFinding(CheckTrustTooBroad, d.obj, fmt.Sprintf("%s (%s: %s)", who, s.Name(), why)).
		WithFix(fmt.Sprintf("%s lets them in (%s). %s", s.Name(), why, fix))
}

// claimSuffix is the ":claim" end of a condition key, or the whole key when it has no colon.
func claimSuffix(key string) string {
	if i := strings.LastIndexByte(key, ':'); i >= 0 {
		return key[i:]
	}
	return key
}
