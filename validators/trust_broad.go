package validators

import (
	"fmt"
	"slices"
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
//
// A probe counts only when it is certainly allowed, or, when this ServiceAccount's own outcome is
// undetermined, when it is open on no other keys than this ServiceAccount's: then the other
// ServiceAccounts get in whenever this one does. An outcome that is open for other reasons (a
// key known only at call time that this ServiceAccount does not depend on) is not "too broad".
func (d diagnoser) tooBroad() []Finding {
	ns, name, ok := splitSubject(d.req.Subject)
	if !ok {
		ns, name = probeName, probeName
	}
	probe := func(r TrustRequest) (trustpolicy.Result, bool) {
		res := trustpolicy.Evaluate(d.policy, WebIdentityRequest(r))
		switch {
		case res.Decision == trustpolicy.DecisionAllow:
			return res, true
		case res.Decision == trustpolicy.DecisionUndetermined && d.res.Decision == trustpolicy.DecisionUndetermined:
			return res, len(res.DependsOn) > 0 && subsetFold(res.DependsOn, d.res.DependsOn)
		}
		return res, false
	}
	other := d.req
	other.Context = d.withoutClaimWhatIfs()
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
	for _, sub := range d.namespaceWildcardProbes(ns) {
		other.Subject = sub
		if res, allowed := probe(other); allowed {
			return []Finding{d.broadFinding(res, fmt.Sprintf("ServiceAccounts named %s in other namespaces can assume the role", Quote(name, 30)))}
		}
	}
	want, _ := parseProviderARN(d.req.ProviderARN)
	other = d.req
	other.Context = d.withoutClaimWhatIfs()
	other.ProviderARN = fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", want.partition, probeAccountID, probeProvider)
	if res, allowed := probe(other); allowed {
		return []Finding{d.broadFinding(res, "tokens of any OIDC provider can assume the role")}
	}
	return nil
}

// namespaceWildcardProbes returns, for every :sub value with a wildcard in its namespace part
// (system:serviceaccount:team-*:app), the subject of a ServiceAccount with this one's name in
// another namespace that the pattern admits. The namespace is the Kubernetes boundary: a
// wildcard there lets other teams' ServiceAccounts in. A wildcard in the name part only
// (system:serviceaccount:prod:app-*) stays within the namespace and is not reported; controllers
// such as Crossplane's providers need it for generated names.
func (d diagnoser) namespaceWildcardProbes(ns string) []string {
	subKey := providerHostPath(d.req.ProviderARN) + ":sub"
	_, name, _ := splitSubject(d.req.Subject)
	var out []string
	for _, s := range d.policy.Statements {
		for _, c := range s.Conditions {
			if !strings.EqualFold(c.Key, subKey) || !strings.Contains(c.Operator, "Like") || strings.Contains(c.Operator, "Not") {
				continue
			}
			for _, v := range c.Values {
				pns, _, ok := splitSubject(v)
				if !ok || !strings.ContainsAny(pns, "*?") {
					continue
				}
				// probeName has "_", which no namespace can contain, so the probe namespace differs from ns.
				other := strings.NewReplacer("*", probeName, "?", "_").Replace(pns)
				if other != ns && len(out) < 4 {
					out = append(out, ServiceAccountSubject(other, name))
				}
			}
		}
	}
	return out
}

// withoutClaimWhatIfs drops what-ifs on the token's claims: a probe brings its own subject.
func (d diagnoser) withoutClaimWhatIfs() map[string][]string {
	host := strings.ToLower(providerHostPath(d.req.ProviderARN)) + ":"
	out := map[string][]string{}
	for k, v := range d.req.Context {
		if !strings.HasPrefix(strings.ToLower(k), host) {
			out[k] = v
		}
	}
	return out
}

// subsetFold reports whether every key of a is in b, ignoring case.
func subsetFold(a, b []string) bool {
	for _, k := range a {
		if !slices.ContainsFunc(b, func(x string) bool { return strings.EqualFold(x, k) }) {
			return false
		}
	}
	return true
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
