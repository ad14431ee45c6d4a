package validators

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// PlannedRole is an IAM role that infrastructure as code is about to create or change (lint
// --iac), as the cross-check of its trust against the manifests sees it.
type PlannedRole struct {
	Name    string // "" when it is known only after deploy
	Account string // "" when not known
	// ID is the resource's name in the IaC (a logical ID, a Terraform address), Where the file,
	// line and resource, for people.
	ID, Where string
	// Trust is the trust policy, parsed; pieces known only after deploy are placeholders in it,
	// so its :sub values can be read even when its condition keys (the issuer) cannot.
	Trust *trustpolicy.Policy
}

// trustedSubjects are the ServiceAccount subjects a trust policy's Allow statements name in a
// :sub condition: literal ones, and StringLike patterns with * or ?. exclusive is true when every
// Allow statement that can grant sts:AssumeRoleWithWebIdentity is limited by a plain StringEquals
// on a :sub key to literal subjects: then a token with another sub never gets the role, whatever
// the key's issuer (a key of another issuer is absent from the request, and StringEquals on an
// absent key does not match:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists).
func trustedSubjects(p *trustpolicy.Policy) (literal, patterns []string, exclusive bool) {
	exclusive = true
	any := false
	for _, st := range p.Statements {
		if st.Effect != trustpolicy.Allow || !grantsWebIdentity(st) {
			continue
		}
		any = true
		limited := false
		for _, c := range st.Conditions {
			if !strings.HasSuffix(strings.ToLower(c.Key), ":sub") {
				continue
			}
			op := c.Operator
			base := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(op, "ForAnyValue:"), "ForAllValues:"), "IfExists")
			if strings.HasPrefix(base, "StringNot") || !strings.HasPrefix(base, "String") {
				continue
			}
			like := base == "StringLike"
			allLiteral := true
			for _, v := range c.Values {
				if like && strings.ContainsAny(v, "*?") {
					patterns = append(patterns, v)
					allLiteral = false
					continue
				}
				if strings.HasPrefix(v, "system:serviceaccount:") {
					literal = append(literal, v)
				} else {
					allLiteral = false
				}
			}
			if op == "StringEquals" && allLiteral && len(c.Values) > 0 {
				limited = true
			}
		}
		if !limited {
			exclusive = false
		}
	}
	return literal, patterns, exclusive && any
}

// TrustMayGrantWebIdentity reports whether a trust policy has an Allow statement whose action can
// be sts:AssumeRoleWithWebIdentity: a role without one is no IRSA role.
func TrustMayGrantWebIdentity(p *trustpolicy.Policy) bool {
	for _, st := range p.Statements {
		if st.Effect == trustpolicy.Allow && grantsWebIdentity(st) {
			return true
		}
	}
	return false
}

func grantsWebIdentity(st trustpolicy.Statement) bool {
	if len(st.NotAction) > 0 {
		return true // NotAction grants everything it does not name; be conservative
	}
	for _, a := range st.Action {
		if globMatch(strings.ToLower(a), strings.ToLower(ActionAssumeRoleWithWebIdentity)) {
			return true
		}
	}
	return false
}

// CheckPlannedTrust (IRSA080) cross-checks the trust of roles that IaC is about to create with the
// ServiceAccounts of the same change: a role whose trust names a ServiceAccount that the input does
// not define (defined says which ones it does), while sa is one edit away from it, is a near miss
// (a chart's default name against the hand-written one). It is a warning, since the trusted
// ServiceAccount may be defined elsewhere; it is an error when sa's role-arn names that role in a
// known account and the role's trust is exclusive (trustedSubjects): sa's pods will then certainly
// be refused. roleARN is sa's role-arn as pod-identity-webhook will inject it, "" for none.
func CheckPlannedTrust(sa *corev1.ServiceAccount, roleARN string, roles []PlannedRole, defined func(namespace, name string) bool) []Finding {
	var out []Finding
	own := ServiceAccountSubject(sa.Namespace, sa.Name)
	ref, refErr := ParseRoleARN(roleARN)
	for _, role := range roles {
		if role.Trust == nil {
			continue
		}
		literal, patterns, exclusive := trustedSubjects(role.Trust)
		if names(literal, patterns, own) {
			continue
		}
		for _, subject := range literal {
			ns, name, ok := splitSubject(subject)
			if !ok || defined(ns, name) || !oneEditAway(ns, name, sa.Namespace, sa.Name) {
				continue
			}
			label := role.Name
			if label == "" {
				label = role.ID
			}
			f := NewFinding(CheckPlannedTrustNearMiss, ServiceAccountObject(sa).WithField("metadata.name"),
				fmt.Sprintf("IaC role %s trusts %s/%s, not in the input: did you mean this one?", Quote(label, 40), ns, name)).
				WithFix(fmt.Sprintf("Name the ServiceAccount %s in namespace %s (for a chart, set its serviceAccount name value), or make the trust of role %s (%s) name %s.",
					name, ns, label, role.Where, own))
			targets := refErr == nil && role.Name != "" && strings.EqualFold(ref.Name, role.Name) && role.Account != "" && role.Account == ref.Account
			if targets && exclusive {
				f = f.WithSeverity(SeverityError)
			}
			out = append(out, f)
		}
	}
	return out
}

// names reports whether the trust names subject literally or by a pattern.
func names(literal, patterns []string, subject string) bool {
	for _, l := range literal {
		if l == subject {
			return true
		}
	}
	for _, p := range patterns {
		if globMatch(p, subject) {
			return true
		}
	}
	return false
}

// oneEditAway reports whether the ServiceAccount ns/name is plausibly the one a trust meant with
// trustedNS/trustedName: in the same namespace, one name extends the other by whole dash-separated
// words — Helm charts name their ServiceAccounts after the release ("<release>-<chart>",
// "<fullname>-server"), so a hand-written trust often has the release or chart name alone — or the
// names differ by a typo (one edit; two in names of 8 characters or more); or the names are equal
// and the namespaces differ by such a typo.
func oneEditAway(trustedNS, trustedName, ns, name string) bool {
	switch {
	case trustedNS == ns && trustedName == name:
		return false
	case trustedNS == ns:
		return dashExtends(trustedName, name) || dashExtends(name, trustedName) || typo(trustedName, name)
	case trustedName == name:
		return typo(trustedNS, ns)
	}
	return false
}

// dashExtends reports whether long is short with whole words added before or after it.
func dashExtends(short, long string) bool {
	return len(long) > len(short) && (strings.HasPrefix(long, short+"-") || strings.HasSuffix(long, "-"+short))
}

func typo(a, b string) bool {
	limit := 1
	if min(len(a), len(b)) >= 8 {
		limit = 2
	}
	return editDistance(a, b) <= limit
}

// globMatch is IAM's StringLike: * matches any run of characters, ? exactly one, case-sensitive.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
