package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// writeTrustText prints the explanation for a person: the decision first, then the request, then
// each statement.
func writeTrustText(w io.Writer, p *trustpolicy.Policy, exp trustExplanation) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Decision: %s", exp.Decision)
	switch exp.Decision {
	case trustpolicy.DecisionAllow:
		fmt.Fprintf(&b, " (allowed by %s)\n", statementNames(p, exp.Deciding))
	case trustpolicy.DecisionExplicitDeny:
		fmt.Fprintf(&b, " (denied by %s)\n", statementNames(p, exp.Deciding))
	case trustpolicy.DecisionUndetermined:
		fmt.Fprintf(&b, " (%s depends on %s)\n", statementNames(p, exp.Deciding), orNone(exp.DependsOn))
	default:
		b.WriteString(" (no Allow statement matches)\n")
	}
	fmt.Fprintf(&b, "Request: %s by Federated %s\n", exp.Request.Action, exp.Request.Principal)
	for _, k := range sortedKeys(exp.Request.Context) {
		if v := exp.Request.Context[k]; len(v) == 0 {
			fmt.Fprintf(&b, "  %s: absent\n", k)
		} else {
			fmt.Fprintf(&b, "  %s = %s\n", k, strings.Join(v, ", "))
		}
	}
	used, others := usedUnknownKeys(p, exp.Request.Unknown)
	for _, k := range used {
		u := exp.Request.Unknown[k]
		absent := ""
		if u.MaybeAbsent {
			absent = "; may be absent"
		}
		fmt.Fprintf(&b, "  %s: known only at call time (depends on %s%s)\n", k, u.DependsOn, absent)
	}
	if others > 0 {
		fmt.Fprintf(&b, "  (%d more keys known only at call time; -o json lists them)\n", others)
	}
	for _, s := range exp.Statements {
		verdict := "does not apply"
		switch {
		case s.Matched:
			verdict = "applies"
		case s.Undetermined:
			verdict = "may apply (depends on " + orNone(s.DependsOn) + ")"
		}
		fmt.Fprintf(&b, "\n%s %s: %s\n", p.Statements[s.Index].Name(), s.Effect, verdict)
		fmt.Fprintf(&b, "  %s principal: %s\n", mark(s.Principal.Matched, false), s.Principal.Reason)
		fmt.Fprintf(&b, "  %s action:    %s\n", mark(s.Action.Matched, false), s.Action.Reason)
		for _, c := range s.Conditions {
			fmt.Fprintf(&b, "  %s condition: %s %q: %s\n", mark(c.Matched, c.Undetermined), c.Operator, c.Key, c.Reason)
		}
	}
	for _, n := range exp.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	if len(exp.Findings) == 0 {
		b.WriteString("\nFindings: none\n")
	} else {
		b.WriteString("\nFindings:\n")
	}
	for _, f := range exp.Findings {
		fmt.Fprintf(&b, "  %s %s: %s\n    fix: %s\n", f.Check, f.Severity, f.Message, f.Fix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// usedUnknownKeys returns the keys known only at call time that a condition of the policy names
// (a "/*" entry covers keys with its prefix), sorted, and how many others there are.
func usedUnknownKeys(p *trustpolicy.Policy, unknown map[string]trustpolicy.Unknown) (used []string, others int) {
	for _, k := range sortedKeys(unknown) {
		prefix, isPrefix := strings.CutSuffix(strings.ToLower(k), "*")
		named := false
		for _, s := range p.Statements {
			for _, c := range s.Conditions {
				lk := strings.ToLower(c.Key)
				named = named || lk == strings.ToLower(k) || (isPrefix && strings.HasPrefix(lk, prefix))
			}
		}
		if named {
			used = append(used, k)
		} else {
			others++
		}
	}
	return used, others
}

func orNone(keys []string) string {
	if len(keys) == 0 {
		return "semantics AWS does not document"
	}
	return strings.Join(keys, ", ")
}

func mark(ok, open bool) string {
	switch {
	case ok:
		return "[match]"
	case open:
		return "[open] "
	}
	return "[no]   "
}

func statementNames(p *trustpolicy.Policy, refs []trustpolicy.StatementRef) string {
	names := make([]string, len(refs))
	for i, r := range refs {
		names[i] = p.Statements[r.Index].Name()
	}
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
