package audit

import (
	"cmp"
	"slices"
	"time"

	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/validators"
)

// Result is a subject's or a finding's outcome in the words of the PolicyReport API
// (wgpolicyk8s.io/v1alpha2 PolicyReportResult.result), which every output of the audit uses.
type Result string

// The results, by how a finding maps to them (docs/audit.md):
//   - an error finding fails: STS will refuse the pod's credentials;
//   - a warning finding warns;
//   - "could not verify" (IRSA090) is an error: the API's word for "the policy could not be
//     evaluated", which says nothing against the subject;
//   - an info finding passes: it is a note, nothing is broken. Skip ("not evaluated") is never
//     used: every audited subject is evaluated.
const (
	ResultFail  Result = "fail"
	ResultError Result = "error"
	ResultWarn  Result = "warn"
	ResultSkip  Result = "skip"
	ResultPass  Result = "pass"
)

// rank orders results from worst to best for a subject's overall result.
func (r Result) rank() int {
	switch r {
	case ResultFail:
		return 4
	case ResultError:
		return 3
	case ResultWarn:
		return 2
	case ResultSkip:
		return 1
	}
	return 0
}

// resultOf maps one finding to its result.
func resultOf(f validators.Finding) Result {
	switch {
	case f.Check == validators.CheckCouldNotVerify:
		return ResultError
	case f.Severity == validators.SeverityError:
		return ResultFail
	case f.Severity == validators.SeverityWarning:
		return ResultWarn
	}
	return ResultPass
}

// Subject is one audited object and what the last conclusive review found, as the /audit endpoint
// serves it.
type Subject struct {
	Kind      string `json:"kind"` // ServiceAccount or Pod
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
	// Owner is a pod's controller ("ReplicaSet shop/cart-7d9f8c6b5"), for grouping.
	Owner  string `json:"owner,omitempty"`
	Result Result `json:"result"`
	// Findings are every finding of the subject's review that its mode does not silence: for a
	// pod, those about its ServiceAccount too, since the pod is broken by them.
	Findings []validators.Finding `json:"findings"`
	// Since is when each finding (by check and object) was first seen by this replica's audit.
	Since map[string]time.Time `json:"since,omitempty"`
	// CheckedAt is the last pass whose review of the subject was conclusive; Inconclusive is set
	// when the latest pass could not read AWS for it (throttled, timed out): its findings are then
	// the last conclusive ones, never a false "cleared".
	CheckedAt    time.Time `json:"checkedAt"`
	Inconclusive bool      `json:"inconclusive,omitempty"`
	// Diagnosis is the subject's review walked through the troubleshooting article's steps, as
	// `irsa-guard diagnose cluster` prints it; a subject that passes keeps no steps (run
	// `irsa-guard diagnose` on it for them).
	Diagnosis diagnose.Result `json:"diagnosis"`

	// cleanSince is when the subject last had no findings (for the PolicyReport's pass result).
	cleanSince time.Time
	// walk is what Diagnosis was walked from (review.go).
	walk walkKey
}

// Key identifies the subject across passes.
func (s *Subject) Key() string { return s.Kind + " " + s.Namespace + "/" + s.Name }

// findingKey identifies a finding across passes: its check and exactly what it is about. The
// message is left out on purpose: it may carry ages or counts that change while nothing else does.
func findingKey(f validators.Finding) string {
	k := string(f.Check) + " " + f.Object.String()
	if f.Object.Field != "" {
		k += " " + f.Object.Field
	}
	return k
}

// worst is the subject's result: its worst finding's, pass without findings.
func worst(fs []validators.Finding) Result {
	r := ResultPass
	for _, f := range fs {
		if fr := resultOf(f); fr.rank() > r.rank() {
			r = fr
		}
	}
	return r
}

// Change is a finding that appeared on or cleared from a subject between two passes.
type Change struct {
	Subject *Subject
	Finding validators.Finding
	Cleared bool
}

// diff lists what changed between the previous and the current subjects, in a stable order. A
// subject that is gone (deleted, excluded) has nothing to clear: there is no object to report on.
// Inconclusive subjects carry their previous findings, so they never show a change.
func diff(prev, cur map[string]*Subject) []Change {
	var out []Change
	for key, s := range cur {
		before := map[string]validators.Finding{}
		if p, ok := prev[key]; ok {
			for _, f := range p.Findings {
				before[findingKey(f)] = f
			}
		}
		now := map[string]bool{}
		for _, f := range s.Findings {
			k := findingKey(f)
			now[k] = true
			if _, ok := before[k]; !ok {
				out = append(out, Change{Subject: s, Finding: f})
			}
		}
		for k, f := range before {
			if !now[k] {
				out = append(out, Change{Subject: s, Finding: f, Cleared: true})
			}
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Subject.Key(), b.Subject.Key()), cmp.Compare(findingKey(a.Finding), findingKey(b.Finding)),
			cmp.Compare(boolInt(a.Cleared), boolInt(b.Cleared)))
	})
	return out
}

// carrySince keeps the time each finding was first seen, and when the subject became clean.
func carrySince(prev, s *Subject, now time.Time) {
	s.Since = nil // a clean subject has none (10,000 empty maps are 5 MB)
	if len(s.Findings) > 0 {
		s.Since = make(map[string]time.Time, len(s.Findings))
	}
	for _, f := range s.Findings {
		k := findingKey(f)
		if prev != nil {
			if t, ok := prev.Since[k]; ok {
				s.Since[k] = t
				continue
			}
		}
		s.Since[k] = now
	}
	switch {
	case len(s.Findings) > 0:
	case prev != nil && len(prev.Findings) == 0 && !prev.cleanSince.IsZero():
		s.cleanSince = prev.cleanSince
	default:
		s.cleanSince = now
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
