package validators

import (
	"fmt"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// TrustPolicyNotes reports what irsa-guard notices in a trust policy a user wrote, whatever the
// ServiceAccount: IRSA036 (error) for each element IAM rejects when the policy is written, IRSA037
// (warning) for text IAM reads literally. Every front end that reads a policy from a file
// (`trust explain`, `lint --trust-policy`) reports them once per policy, on obj (e.g.
// Object{Kind: "TrustPolicy", Name: "trust.json"}). A policy IAM stored (iam:GetRole) has passed
// IAM's validation, so IRSA036 cannot apply to it.
func TrustPolicyNotes(obj Object, p *trustpolicy.Policy) []Finding {
	if p == nil {
		return nil
	}
	out := []Finding{}
	for _, n := range p.Notes {
		where := fmt.Sprintf("line %d: %s", n.Line, n.Path)
		if n.Rejected {
			out = append(out, NewFinding(CheckTrustRejected, obj, where+": "+rejectedWhat(n.Path)).
				WithPredictedError(IAMMalformedPolicy).
				WithFix(fmt.Sprintf("Remove %s (line %d, column %d): %s", n.Path, n.Line, n.Column, n.Message)))
			continue
		}
		out = append(out, NewFinding(CheckTrustLiteral, obj, where+": "+literalWhat(n.Path)).
			WithFix(fmt.Sprintf("%s (line %d, column %d): %s.", n.Path, n.Line, n.Column, n.Message)))
	}
	return out
}

// rejectedWhat says in a few words what IAM rejects at path.
func rejectedWhat(path string) string {
	if hasSuffixElem(path, "NotPrincipal") {
		return "role trust policies do not support NotPrincipal; IAM rejects the policy"
	}
	return "a role trust policy cannot name a resource; IAM rejects the policy"
}

// literalWhat says in a few words what IAM reads literally at path.
func literalWhat(path string) string {
	if path == "Version" {
		return "without Version 2012-10-17, IAM reads ${...} policy variables as plain text"
	}
	return "IAM never expands * inside a principal; it is literal text"
}

func hasSuffixElem(path, elem string) bool {
	return len(path) >= len(elem) && path[len(path)-len(elem):] == elem
}
