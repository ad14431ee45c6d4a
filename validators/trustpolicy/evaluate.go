package trustpolicy

import (
	"fmt"
	"slices"
	"strings"
)

// Request is the call being authorised, e.g. sts:AssumeRoleWithWebIdentity by a Federated
// principal (an OIDC provider ARN) with the token's claims as context keys.
type Request struct {
	Action        string              // e.g. sts:AssumeRoleWithWebIdentity
	PrincipalType string              // Federated, AWS, Service or CanonicalUser
	Principal     string              // e.g. arn:aws:iam::111122223333:oidc-provider/oidc.eks...
	Context       map[string][]string // condition keys (matched case-insensitively) -> values
}

// Decision is IAM's answer for a request.
type Decision string

// The three outcomes of IAM policy evaluation.
const (
	DecisionAllow        Decision = "allow"
	DecisionImplicitDeny Decision = "implicit-deny"
	DecisionExplicitDeny Decision = "explicit-deny"
)

// Result is the decision with its reasons: the statements that decided it and, for every
// statement, why it applied or not.
type Result struct {
	Decision   Decision          `json:"decision"`
	Deciding   []StatementRef    `json:"decidingStatements"`
	Statements []StatementResult `json:"statements"`
}

// StatementRef names a statement by index and Sid.
type StatementRef struct {
	Index int    `json:"index"`
	Sid   string `json:"sid,omitempty"`
}

// StatementResult explains one statement: it applies when principal, action and every
// condition match.
type StatementResult struct {
	StatementRef
	Effect     Effect            `json:"effect"`
	Matched    bool              `json:"matched"`
	Principal  Check             `json:"principal"`
	Action     Check             `json:"action"`
	Conditions []ConditionResult `json:"conditions"`
}

// Check is a matched/not-matched verdict on one element with its reason.
type Check struct {
	Matched bool   `json:"matched"`
	Reason  string `json:"reason"`
}

// ConditionsMatched reports whether every condition of the statement matched.
func (s StatementResult) ConditionsMatched() bool {
	for _, c := range s.Conditions {
		if !c.Matched {
			return false
		}
	}
	return true
}

// Evaluate decides req against p with IAM's rules: an explicit Deny wins, otherwise an Allow
// must match, otherwise the request is implicitly denied. Policy variables are resolved from
// req.Context when the policy's Version is 2012-10-17. Evaluate never fails: statements IAM
// would reject (NotPrincipal, an unknown operator) simply do not match, and say why.
func Evaluate(p *Policy, req Request) Result {
	ctx := make(map[string][]string, len(req.Context))
	keys := make([]string, 0, len(req.Context))
	for k := range req.Context {
		keys = append(keys, k)
	}
	slices.Sort(keys) // merge keys that differ only in case in a fixed order
	for _, k := range keys {
		lk := strings.ToLower(k)
		ctx[lk] = append(ctx[lk], req.Context[k]...)
	}
	lookup := func(key string) ([]string, bool) {
		v, ok := ctx[strings.ToLower(key)]
		return v, ok
	}
	vars := p.Version == "2012-10-17"

	res := Result{Decision: DecisionImplicitDeny, Deciding: []StatementRef{}, Statements: []StatementResult{}}
	var allows, denies []StatementRef
	for _, s := range p.Statements {
		sr := StatementResult{StatementRef: StatementRef{Index: s.Index, Sid: s.Sid}, Effect: s.Effect, Conditions: []ConditionResult{}}
		sr.Principal = matchPrincipal(s, req)
		sr.Action = matchActions(s, req.Action)
		for _, c := range s.Conditions {
			sr.Conditions = append(sr.Conditions, evalCondition(c, vars, lookup))
		}
		sr.Matched = sr.Principal.Matched && sr.Action.Matched && sr.ConditionsMatched()
		if sr.Matched && s.Effect == Deny {
			denies = append(denies, sr.StatementRef)
		} else if sr.Matched {
			allows = append(allows, sr.StatementRef)
		}
		res.Statements = append(res.Statements, sr)
	}
	switch {
	case len(denies) > 0:
		res.Decision, res.Deciding = DecisionExplicitDeny, denies
	case len(allows) > 0:
		res.Decision, res.Deciding = DecisionAllow, allows
	}
	return res
}

func matchPrincipal(s Statement, req Request) Check {
	switch {
	case s.Principal == nil && s.NotPrincipal != nil:
		return Check{Reason: "NotPrincipal is not supported in role trust policies (IAM rejects it)"}
	case s.Principal == nil:
		return Check{Reason: "the statement has no Principal"}
	case s.Principal.Any:
		return Check{Matched: true, Reason: `Principal "*" matches every principal`}
	}
	if slices.Contains(s.Principal.Values["AWS"], "*") {
		return Check{Matched: true, Reason: `Principal {"AWS": "*"} matches every principal`}
	}
	vals := s.Principal.Values[req.PrincipalType]
	for _, v := range vals {
		if v == req.Principal {
			return Check{Matched: true, Reason: fmt.Sprintf("%s principal %q matches", req.PrincipalType, v)}
		}
		if v == "*" {
			return Check{Matched: true, Reason: fmt.Sprintf("%s principal \"*\" matches every %s principal", req.PrincipalType, req.PrincipalType)}
		}
	}
	if len(vals) == 0 {
		types := make([]string, 0, len(s.Principal.Values))
		for t := range s.Principal.Values {
			types = append(types, t)
		}
		slices.Sort(types)
		return Check{Reason: fmt.Sprintf("the statement names no %s principal (only %s)", req.PrincipalType, strings.Join(types, ", "))}
	}
	return Check{Reason: fmt.Sprintf("%s principal %s is not %q (compared exactly, case-sensitive)", req.PrincipalType, quoteList(vals), req.Principal)}
}

func matchActions(s Statement, action string) Check {
	if s.NotAction != nil {
		for _, a := range s.NotAction {
			if matchAction(a, action) {
				return Check{Reason: fmt.Sprintf("NotAction %q excludes %s", a, action)}
			}
		}
		return Check{Matched: true, Reason: fmt.Sprintf("NotAction %s does not exclude %s", quoteList(s.NotAction), action)}
	}
	for _, a := range s.Action {
		if matchAction(a, action) {
			return Check{Matched: true, Reason: fmt.Sprintf("Action %q matches %s", a, action)}
		}
	}
	return Check{Reason: fmt.Sprintf("Action %s does not include %s", quoteList(s.Action), action)}
}
