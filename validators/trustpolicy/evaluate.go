package trustpolicy

import (
	"fmt"
	"slices"
	"strings"
)

// Decision is IAM's answer for a request, or undetermined when it depends on values only the
// service sees at call time or on semantics AWS does not document.
type Decision string

// The outcomes of IAM policy evaluation, and undetermined.
const (
	DecisionAllow        Decision = "allow"
	DecisionImplicitDeny Decision = "implicit-deny"
	DecisionExplicitDeny Decision = "explicit-deny"
	DecisionUndetermined Decision = "undetermined"
)

// Result is the decision with its reasons: the statements that decided it and, for every
// statement, why it applied or not. For an undetermined decision, Deciding lists the statements
// whose outcome is open and DependsOn the keys they depend on.
type Result struct {
	Decision   Decision          `json:"decision"`
	Deciding   []StatementRef    `json:"decidingStatements"`
	DependsOn  []string          `json:"dependsOn,omitempty"`
	Statements []StatementResult `json:"statements"`
}

// StatementRef names a statement by index and Sid.
type StatementRef struct {
	Index int    `json:"index"`
	Sid   string `json:"sid,omitempty"`
}

// StatementResult explains one statement: it applies when principal, action and every condition
// match (Matched); it is Undetermined when none of them certainly fails but some condition is
// undetermined.
type StatementResult struct {
	StatementRef
	Effect       Effect            `json:"effect"`
	Matched      bool              `json:"matched"`
	Undetermined bool              `json:"undetermined,omitempty"`
	DependsOn    []string          `json:"dependsOn,omitempty"`
	Principal    Check             `json:"principal"`
	Action       Check             `json:"action"`
	Conditions   []ConditionResult `json:"conditions"`
}

// Check is a matched/not-matched verdict on one element with its reason.
type Check struct {
	Matched bool   `json:"matched"`
	Reason  string `json:"reason"`
}

// ConditionsMatched reports whether every condition of the statement certainly matched.
func (s StatementResult) ConditionsMatched() bool {
	for _, c := range s.Conditions {
		if !c.Matched {
			return false
		}
	}
	return true
}

// ConditionsFailed reports whether some condition of the statement certainly does not match.
func (s StatementResult) ConditionsFailed() bool {
	for _, c := range s.Conditions {
		if !c.Matched && !c.Undetermined {
			return true
		}
	}
	return false
}

// Evaluate decides req against p with IAM's rules (an explicit Deny wins, otherwise an Allow must
// match, otherwise the request is implicitly denied) in three-valued logic: a condition on a key
// whose value is known only at call time, or whose semantics AWS does not document, is
// undetermined, and so is every statement and decision that hangs on it.
//
//   - explicit-deny: a Deny statement certainly applies;
//   - allow: an Allow certainly applies and no Deny can apply;
//   - implicit-deny: no Allow can apply (denied whatever the undetermined Denies do);
//   - undetermined: otherwise; Deciding and DependsOn name the open statements and their keys.
//
// Policy variables are resolved from the request when the policy's Version is 2012-10-17.
// Evaluate never fails: statements IAM would reject (NotPrincipal, an unknown operator) simply do
// not match, and say why.
func Evaluate(p *Policy, req Request) Result {
	rc := newReqContext(req)
	vars := p.Version == "2012-10-17"

	res := Result{Decision: DecisionImplicitDeny, Deciding: []StatementRef{}, Statements: []StatementResult{}}
	var allows, denies, maybeAllows, maybeDenies []StatementResult
	for _, s := range p.Statements {
		sr := StatementResult{StatementRef: StatementRef{Index: s.Index, Sid: s.Sid}, Effect: s.Effect, Conditions: []ConditionResult{}}
		sr.Principal = matchPrincipal(s, req)
		sr.Action = matchActions(s, req.Action)
		t := yes
		if !sr.Principal.Matched || !sr.Action.Matched {
			t = no
		}
		var deps []string
		for _, c := range s.Conditions {
			cr := evalCondition(c, vars, rc)
			sr.Conditions = append(sr.Conditions, cr)
			t = t.and(cr.truth())
			deps = append(deps, cr.DependsOn...)
		}
		sr.Matched, sr.Undetermined = t == yes, t == maybe
		if sr.Undetermined {
			sr.DependsOn = uniqueKeys(deps)
		}
		switch {
		case t == yes && s.Effect == Deny:
			denies = append(denies, sr)
		case t == yes:
			allows = append(allows, sr)
		case t == maybe && s.Effect == Deny:
			maybeDenies = append(maybeDenies, sr)
		case t == maybe:
			maybeAllows = append(maybeAllows, sr)
		}
		res.Statements = append(res.Statements, sr)
	}
	switch {
	case len(denies) > 0:
		res.Decision, res.Deciding = DecisionExplicitDeny, refs(denies)
	case len(allows) > 0 && len(maybeDenies) == 0:
		res.Decision, res.Deciding = DecisionAllow, refs(allows)
	case len(allows) == 0 && len(maybeAllows) == 0:
		// No Allow can apply: denied whatever the undetermined Denies turn out to be.
	default:
		open := maybeDenies
		if len(allows) == 0 {
			open = append(slices.Clone(maybeAllows), maybeDenies...)
			slices.SortFunc(open, func(a, b StatementResult) int { return a.Index - b.Index })
		}
		var deps []string
		for _, s := range open {
			deps = append(deps, s.DependsOn...)
		}
		res.Decision, res.Deciding, res.DependsOn = DecisionUndetermined, refs(open), uniqueKeys(deps)
	}
	return res
}

func refs(stmts []StatementResult) []StatementRef {
	out := make([]StatementRef, len(stmts))
	for i, s := range stmts {
		out[i] = s.StatementRef
	}
	return out
}

// uniqueKeys sorts keys and drops repeats that differ only in case (keys are case-insensitive).
func uniqueKeys(keys []string) []string {
	if len(keys) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if lk := strings.ToLower(k); !seen[lk] {
			seen[lk] = true
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
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
