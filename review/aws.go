package review

import (
	"context"
	"sync"
	"time"

	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// awsFindings runs the AWS-backed checks (IRSA010-035) for id within ctx's deadline. The facts
// source gets a deadline a little earlier than the caller's, so a source that honours its context
// says itself which lookup timed out; a source that overruns anyway is answered for by
// IRSA090 "did not finish", never by waiting past the caller's deadline.
func (e *Engine) awsFindings(ctx context.Context, tr *Report, id validators.Identity) []validators.Finding {
	if e.facts == nil || e.issuer == "" {
		return nil
	}
	if c, ok := e.facts.(cachedSource); ok {
		if facts, ok := c.CachedIdentityFacts(ctx, id); ok {
			tr.AWS = &facts
			return e.memo.check(id, facts)
		}
	}
	fctx, cancel := context.WithCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		fctx, cancel = context.WithDeadline(ctx, dl.Add(-min(time.Until(dl)/10, sourceSlack)))
	}
	defer cancel()
	done := make(chan validators.AWSFacts, 1)
	go func() { done <- e.facts.IdentityFacts(fctx, id) }()
	select {
	case facts := <-done:
		tr.AWS = &facts
		return e.memo.check(id, facts)
	case <-ctx.Done():
		return []validators.Finding{validators.NewFinding(validators.CheckCouldNotVerify, id.Object,
			"AWS checks did not finish within the admission budget; role not verified")}
	}
}

// cachedSource is a facts source that can answer without waiting when its caches hold every
// fact (awsfacts.SDK): the warm path then needs no goroutine to bound the lookup.
type cachedSource interface {
	CachedIdentityFacts(ctx context.Context, id validators.Identity) (validators.AWSFacts, bool)
}

// sourceSlack is the most the facts source's deadline is brought forward from the caller's.
const sourceSlack = 200 * time.Millisecond

// maxMemoAnswers bounds the memo: ServiceAccounts and role annotations are user input. It holds
// about one answer per ServiceAccount with a role, so it is sized like the AWS facts caches
// (awsfacts maxEntries): below it, warm reviews cost the same however many ServiceAccounts there
// are (BenchmarkScale, docs/performance.md). When it fills up, the memo starts over rather than
// tracking recency on the hot path.
const maxMemoAnswers = 20000

// awsMemo remembers validators.CheckAWS's answers. Evaluating a trust policy for a
// ServiceAccount, and probing it with other identities for IRSA034, is most of a warm review's
// own CPU time (docs/performance.md), and the answer only changes with its inputs: the identity
// and the facts, which the sources share by pointer and replace, never modify, when they change
// (a changed fact is a new pointer, so a changed trust policy is a new key, never a stale answer;
// a refresh that finds the same fact keeps its pointer, and the answer). Answers that depend on the clock (an object still inside IAM's propagation window)
// are kept only until the clock would change them.
type awsMemo struct {
	mu      sync.Mutex
	answers map[awsKey]memoAnswer
}

// awsKey is everything CheckAWS's answer depends on but the clock (clockDependence handles
// that): the identity and its call context, and the facts by pointer.
type awsKey struct {
	object                                               validators.Object
	namespace, serviceAccount, roleARN, audience, issuer string
	region, stsEndpoints, sessionName                    string
	partition                                            string
	role                                                 *validators.RoleFacts
	roleNotFound                                         bool
	provider                                             *validators.ProviderFacts
	providerNotFound                                     bool
	chain                                                *validators.ChainFacts
}

type memoAnswer struct {
	findings []validators.Finding
	// The answer holds from from (the time it was computed) until until; a zero until: it does
	// not depend on the clock.
	from, until time.Time
}

func newAWSMemo() *awsMemo { return &awsMemo{answers: map[awsKey]memoAnswer{}} }

// check is validators.CheckAWS, remembered where that is safe. It returns a copy: callers adjust
// findings in place (configured severities).
func (m *awsMemo) check(id validators.Identity, f validators.AWSFacts) []validators.Finding {
	if len(f.Unverified) > 0 || len(f.Stale) > 0 {
		return validators.CheckAWS(id, f) // rare, and the messages carry ages
	}
	if id.Call.RoleTags != nil {
		return validators.CheckAWS(id, f) // not comparable, and never set by the engine
	}
	key := awsKey{object: id.Object, namespace: id.Namespace, serviceAccount: id.ServiceAccount, roleARN: id.RoleARN,
		audience: id.Audience, issuer: id.Issuer, region: id.Call.Region, stsEndpoints: id.Call.STSRegionalEndpoints,
		sessionName: id.Call.SessionName, partition: f.Partition, role: f.Role, roleNotFound: f.RoleNotFound,
		provider: f.Provider, providerNotFound: f.ProviderNotFound, chain: f.Chain}
	now := id.Call.Now
	if now.IsZero() {
		now = f.Now
	}
	m.mu.Lock()
	a, ok := m.answers[key]
	m.mu.Unlock()
	if ok && !now.Before(a.from) && (a.until.IsZero() || now.Before(a.until)) {
		return append([]validators.Finding(nil), a.findings...)
	}
	a = memoAnswer{findings: validators.CheckAWS(id, f), from: now, until: clockDependence(f, now)}
	m.mu.Lock()
	if len(m.answers) >= maxMemoAnswers {
		clear(m.answers)
	}
	m.answers[key] = a
	m.mu.Unlock()
	return append([]validators.Finding(nil), a.findings...)
}

// clockDependence is when CheckAWS's answer for f at now may next change with the clock alone: the
// edges of IAM's propagation window for a role or provider near it, and the next instant a time
// condition of the role's trust policy (aws:CurrentTime, aws:EpochTime) flips; zero when it does
// not depend on the clock.
func clockDependence(f validators.AWSFacts, now time.Time) time.Time {
	var until time.Time
	earliest := func(t time.Time) {
		if t.After(now) && (until.IsZero() || t.Before(until)) {
			until = t
		}
	}
	if f.Role != nil && f.Role.Trust.Policy != nil {
		instants := trustpolicy.Instants(f.Role.Trust.Policy, "aws:CurrentTime", "aws:EpochTime")
		for _, t := range instants {
			earliest(t)
		}
		if len(instants) == trustpolicy.MaxInstants && !instants[len(instants)-1].After(now) {
			// Every instant listed is past, and the list may have left later ones out: keep the
			// answer only briefly rather than forever.
			earliest(now.Add(time.Minute))
		}
	}
	for _, created := range []time.Time{roleCreated(f), providerCreated(f)} {
		if created.IsZero() {
			continue
		}
		// The window runs from a minute before the creation date (clock skew) to its end.
		earliest(created.Add(-time.Minute))
		earliest(created.Add(validators.PropagationWindow))
	}
	return until
}

func roleCreated(f validators.AWSFacts) time.Time {
	if f.Role == nil {
		return time.Time{}
	}
	return f.Role.CreateDate
}

func providerCreated(f validators.AWSFacts) time.Time {
	if f.Provider == nil {
		return time.Time{}
	}
	return f.Provider.CreateDate
}
