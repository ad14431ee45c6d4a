package validators

import (
	"fmt"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// clockKeys are the condition keys that hold the time of the call
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-currenttime).
var clockKeys = []string{"aws:CurrentTime", "aws:EpochTime"}

func isClockKey(key string) bool {
	return strings.EqualFold(key, clockKeys[0]) || strings.EqualFold(key, clockKeys[1])
}

// sample is one instant at which the decision was evaluated: an instant a clock condition
// compares with, one second before it, or one second after it (for the …Equals operators).
type sample struct {
	at, boundary time.Time
	decision     trustpolicy.Decision
	deciding     []trustpolicy.StatementRef
}

// timeline evaluates the policy at every instant its clock conditions compare with, and one
// second before and after each: between two of them the decision cannot change
// (trustpolicy.Instants). Nil without a clock (call.Now zero) or without clock conditions.
func (d diagnoser) timeline() []sample {
	if d.req.Call.Now.IsZero() {
		return nil
	}
	var out []sample
	for _, x := range trustpolicy.Instants(d.policy, clockKeys...) {
		for _, at := range []time.Time{x.Add(-time.Second), x, x.Add(time.Second)} {
			r := d.req
			r.Call.Now = at
			res := trustpolicy.Evaluate(d.policy, WebIdentityRequest(r))
			out = append(out, sample{at: at, boundary: x, decision: res.Decision, deciding: res.Deciding})
		}
	}
	return out
}

func denied(dec trustpolicy.Decision) bool {
	return dec == trustpolicy.DecisionImplicitDeny || dec == trustpolicy.DecisionExplicitDeny
}

// windowEnds warns, for an allowed request, when a later instant certainly denies it: the trust is
// time-boxed and will stop working (IRSA038 warning with the end).
func (d diagnoser) windowEnds() []Finding {
	now := d.req.Call.Now
	for _, s := range d.timeline() {
		if !s.at.After(now) || s.decision == trustpolicy.DecisionAllow {
			continue
		}
		if !denied(s.decision) {
			return nil // after the instant the outcome is open: IRSA039 will say so then
		}
		st := d.statement(d.res.Deciding[0].Index)
		msg := fmt.Sprintf("%s stops working on %s (%s)", st.Name(), formatInstant(s.boundary), firstClockCondition(d.res.Statements[st.Index]))
		return []Finding{NewFinding(CheckTrustTimeWindow, d.obj, msg).WithFix(fmt.Sprintf(
			"From %s STS answers AccessDenied for this ServiceAccount. Move the end of the window (%s) or drop it before then.",
			formatInstant(s.boundary), clockConditions(d.res.Statements[st.Index]))).WithPredictedError(STSNotAuthorized)}
	}
	return nil
}

// windowFinding explains a certainly failing clock condition: the window is over (when the
// policy allowed this ServiceAccount before now) or has not started (when it will later). It is
// an error: outside the window STS answers AccessDenied now.
func (d diagnoser) windowFinding(sr trustpolicy.StatementResult, c trustpolicy.ConditionResult) Finding {
	s := d.statement(sr.Index)
	now := d.req.Call.Now
	var lastAllowed, firstAllowed *sample
	samples := d.timeline()
	for i := range samples {
		switch {
		case samples[i].decision != trustpolicy.DecisionAllow:
		case !samples[i].at.After(now):
			lastAllowed = &samples[i]
		case firstAllowed == nil:
			firstAllowed = &samples[i]
		}
	}
	fix := fmt.Sprintf("Outside the window STS answers AccessDenied. Move the window (%s %s %s) or drop it.", c.Operator, c.Key, quoteValues(c.Values))
	var msg string
	switch {
	case lastAllowed != nil:
		end := lastAllowed.boundary
		for _, later := range samples {
			if later.at.After(lastAllowed.at) && later.decision != trustpolicy.DecisionAllow {
				end = later.boundary
				break
			}
		}
		msg = fmt.Sprintf("%s stopped working on %s (%s %s)", s.Name(), formatInstant(end), c.Operator, c.Key)
	case firstAllowed != nil:
		msg = fmt.Sprintf("%s starts working on %s (%s %s)", s.Name(), formatInstant(firstAllowed.boundary), c.Operator, c.Key)
	case now.IsZero():
		msg = fmt.Sprintf("%s: %s %s %s is false", s.Name(), c.Operator, c.Key, quoteValues(c.Values))
	default:
		msg = fmt.Sprintf("%s: %s %s %s is false at %s", s.Name(), c.Operator, c.Key, quoteValues(c.Values), formatInstant(now))
	}
	return NewFinding(CheckTrustTimeWindow, d.obj, msg).WithSeverity(SeverityError).WithFix(fix)
}

// firstClockCondition names a statement's first condition on the clock, e.g. "DateLessThan aws:CurrentTime".
func firstClockCondition(sr trustpolicy.StatementResult) string {
	for _, c := range sr.Conditions {
		if isClockKey(c.Key) {
			return c.Operator + " " + c.Key
		}
	}
	return "a time window in another statement"
}

// clockConditions lists a statement's conditions on the clock, e.g. `DateLessThan aws:CurrentTime "2027-01-15"`.
func clockConditions(sr trustpolicy.StatementResult) string {
	var out []string
	for _, c := range sr.Conditions {
		if isClockKey(c.Key) {
			out = append(out, fmt.Sprintf("%s %s %s", c.Operator, c.Key, quoteValues(c.Values)))
		}
	}
	if len(out) == 0 {
		return "the condition on aws:CurrentTime"
	}
	return strings.Join(out, ", ")
}

// formatInstant renders a day for a midnight UTC instant ("2027-01-15"), RFC 3339 otherwise.
func formatInstant(t time.Time) string {
	t = t.UTC()
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}
