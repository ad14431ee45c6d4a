// Package audit is irsa-guard's background audit, a front end of the review engine like the
// webhook: admission only sees an object when it is created or changed, but IAM changes underneath
// it (a trust policy edited, an OIDC provider deleted, a role recreated under another path) and
// pods get created while the webhook is down (its failurePolicy is Ignore). Every pass re-reviews
// every ServiceAccount with IRSA annotations and every pod that uses one, at StageRunning, through
// the same engine and AWS facts cache as admission but with the audit's share of the IAM rate
// limit (awsfacts.Background); findings that appear or clear become Events and log lines, the
// current ones gauges, a JSON snapshot and, optionally, PolicyReports. It never denies anything.
package audit

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// Outcome is how a pass ended.
type Outcome string

// The outcomes.
const (
	// OutcomeComplete: every subject was reviewed conclusively.
	OutcomeComplete Outcome = "complete"
	// OutcomePartial: some subjects could not be verified against AWS (throttled, timed out);
	// they keep their last conclusive findings.
	OutcomePartial Outcome = "partial"
	// OutcomeFailed: the subjects could not be listed; nothing changed.
	OutcomeFailed Outcome = "failed"
)

// Pass is what one audit pass did.
type Pass struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Outcome  Outcome   `json:"outcome"`
	Error    string    `json:"error,omitempty"`
	// Subjects were audited; Inconclusive of them could not be verified against AWS this pass
	// and keep their last findings. Throttled: AWS throttled the audit (or did not answer in
	// time) and the pass stopped there; the next one starts later.
	Subjects     int  `json:"subjects"`
	Inconclusive int  `json:"inconclusive"`
	Throttled    bool `json:"throttled,omitempty"`
}

// Options are an Auditor's sources and sinks.
type Options struct {
	Engine *review.Engine
	// Cluster answers the namespaces' labels (their mode and skip labels).
	Cluster review.Cluster
	// Lister lists the ServiceAccounts and pods to audit.
	Lister Lister
	// Policy applies modes: a namespace or object in mode off, or labelled to skip, is not
	// audited, and a check in mode off is not reported. The audit never denies.
	Policy webhook.Policy
	// ExcludeNamespaces are never audited.
	ExcludeNamespaces []string
	// Events receives an Event per finding that appears or clears (warning and error findings);
	// nil records none.
	Events webhook.EventRecorder
	// Reports writes PolicyReports; nil writes none.
	Reports *PolicyReports
	// Metrics exports the current findings; nil exports none.
	Metrics *Metrics
	// Context is what every subject's diagnosis rested on (issuer, EKS cluster, AWS).
	Context diagnose.Context
	// AWSWhy says why the AWS checks cannot run, "" when they can (diagnose's skip reason).
	AWSWhy string
	// SubjectTimeout bounds one subject's review, AWS lookups and waits for the audit's share of
	// the rate limit included; default 30s.
	SubjectTimeout time.Duration
	// Clock is the time source; nil means time.Now.
	Clock func() time.Time
}

// Auditor runs audit passes and holds the last one's state. Its methods are safe for concurrent
// use: the /audit endpoint reads while a pass runs.
type Auditor struct {
	o Options

	mu       sync.RWMutex
	subjects map[string]*Subject
	last     *Pass
	leader   bool
	holder   string // the current leader's identity, as last observed
	identity string // this replica's identity

	// resume is the subject the last pass stopped at (throttled); only Run uses it.
	resume string
}

// New builds an Auditor with o's defaults filled in.
func New(o Options) *Auditor {
	if o.SubjectTimeout <= 0 {
		o.SubjectTimeout = 30 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return &Auditor{o: o, subjects: map[string]*Subject{}}
}

// Run does one pass: list the subjects, review each, and report what changed. A failed listing
// leaves the previous state as it was. When AWS throttles the audit (or does not answer in time)
// the pass stops there: the subjects not reviewed keep their last findings, and the next pass,
// which the Runner starts later, begins where this one stopped, so a throttled account still
// sees every subject re-checked in turn.
func (a *Auditor) Run(ctx context.Context) Pass {
	log := logr.FromContextOrDiscard(ctx).WithName("audit")
	ctx = logr.NewContext(ctx, log)
	p := Pass{Started: a.o.Clock()}
	todo, err := a.listSubjects(ctx)
	if err != nil {
		p.Finished, p.Outcome, p.Error = a.o.Clock(), OutcomeFailed, err.Error()
		log.Error(err, "Audit pass failed: cannot list the subjects")
		a.finish(p, nil)
		return p
	}
	todo = resumeAt(todo, a.resume)
	prev := a.snapshot()
	cur := make(map[string]*Subject, len(todo))
	objects := make(objectIndex, len(todo))
	stopped := ""
	for _, t := range todo {
		if ctx.Err() != nil {
			p.Finished, p.Outcome, p.Error = a.o.Clock(), OutcomeFailed, "stopped: "+ctx.Err().Error()
			return p // no longer the leader, or shutting down: report nothing half done
		}
		key := t.key()
		if stopped != "" {
			if old := prev[key]; old != nil {
				kept := *old
				kept.Inconclusive = true
				cur[key], objects[key] = &kept, t.object()
				p.Inconclusive++
			}
			continue
		}
		old := prev[key]
		s, rv := a.review(ctx, t, old)
		if s == nil {
			continue // in mode off
		}
		switch {
		case rv.inconclusive && old != nil:
			kept := *old
			kept.Inconclusive = true
			s = &kept
			p.Inconclusive++
		case rv.inconclusive:
			p.Inconclusive++
			carrySince(nil, s, p.Started)
		default:
			carrySince(old, s, p.Started)
		}
		if rv.throttled {
			p.Throttled, stopped = true, key
			log.Info("Audit pass stopped: AWS throttled the audit or did not answer in time", "subject", key)
		}
		cur[key], objects[key] = s, t.object()
	}
	a.resume = stopped
	p.Subjects = len(cur)
	p.Finished, p.Outcome = a.o.Clock(), OutcomeComplete
	if p.Inconclusive > 0 {
		p.Outcome = OutcomePartial
	}
	a.report(ctx, prev, cur, objects)
	a.finish(p, cur)
	log.Info("Audit pass finished", "outcome", string(p.Outcome), "subjects", p.Subjects, "inconclusive", p.Inconclusive,
		"throttled", p.Throttled, "duration", p.Finished.Sub(p.Started).Round(time.Millisecond).String())
	return p
}

// resumeAt orders the subjects by key, starting at the first one not before resume.
func resumeAt(todo []target, resume string) []target {
	slices.SortFunc(todo, func(x, y target) int { return cmp.Compare(x.key(), y.key()) })
	i, _ := slices.BinarySearchFunc(todo, resume, func(t target, k string) int { return cmp.Compare(t.key(), k) })
	return append(todo[i:len(todo):len(todo)], todo[:i]...)
}

// finish stores the pass and its subjects (nil keeps the previous subjects) and exports them,
// if this replica still leads.
func (a *Auditor) finish(p Pass, cur map[string]*Subject) {
	a.mu.Lock()
	if !a.leader {
		a.mu.Unlock()
		return // the lease was lost while the pass ran: the new leader's state is the truth
	}
	if cur != nil {
		a.subjects = cur
	}
	a.last = &p
	subjects := a.subjects
	a.mu.Unlock()
	if a.o.Metrics != nil {
		a.o.Metrics.observe(p, subjects)
	}
}

// maxReportedChanges caps the log lines and Events of one pass.
const maxReportedChanges = 500

// report tells the world what changed: a log line per change, Events for warnings and errors,
// and the PolicyReports.
func (a *Auditor) report(ctx context.Context, prev, cur map[string]*Subject, objects objectIndex) {
	log := logr.FromContextOrDiscard(ctx)
	changes := diff(prev, cur)
	if len(changes) > maxReportedChanges {
		changes = mostUrgentFirst(changes)
	}
	for i, c := range changes {
		if i == maxReportedChanges {
			// A cluster-wide break (pod-identity-webhook deleted, the OIDC provider gone) changes
			// every subject at once: thousands of Events and log lines in one burst cost the API
			// server and this process (make scale) more than they tell. The rest are in the gauges,
			// /audit and the PolicyReports.
			log.Info("Audit findings changed on more subjects than it reports one by one: see irsa_guard_audit_findings, /audit or the PolicyReports",
				"changes", len(changes), "reported", maxReportedChanges)
			break
		}
		f := c.Finding
		msg := "Audit finding appeared"
		if c.Cleared {
			msg = "Audit finding cleared"
		}
		log.Info(msg, "check", string(f.Check), "severity", string(f.Severity), "subject", c.Subject.Key(),
			"object", f.Object.String(), "message", f.Message)
		a.event(c, objects)
	}
	if a.o.Reports != nil {
		a.o.Reports.write(ctx, cur)
	}
}

// mostUrgentFirst orders changes for a pass that reports only some of them one by one: errors that
// appeared, then warnings that appeared, then what cleared, then the rest (info, which gets no
// Event); diff's order within each. A change left out is not reported by the next pass either (it
// is no longer a change), so the slots must not go to whatever sorts first by name.
func mostUrgentFirst(changes []Change) []Change {
	rank := func(c Change) int {
		switch {
		case c.Cleared:
			return 2
		case c.Finding.Severity == validators.SeverityError:
			return 0
		case c.Finding.Severity == validators.SeverityWarning:
			return 1
		}
		return 3
	}
	out := slices.Clone(changes)
	slices.SortStableFunc(out, func(a, b Change) int { return rank(a) - rank(b) })
	return out
}

// snapshot is the current subjects, for reading without the lock.
func (a *Auditor) snapshot() map[string]*Subject {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.subjects
}

// setLeader records whether this replica leads. A replica that stops leading forgets its state:
// the new leader's is the truth, and its own gauges must not linger beside the new leader's.
func (a *Auditor) setLeader(leader bool) {
	a.mu.Lock()
	a.leader = leader
	if !leader {
		a.subjects, a.last = map[string]*Subject{}, nil
	}
	a.mu.Unlock()
	if a.o.Metrics != nil {
		a.o.Metrics.setLeader(leader)
	}
}

// setHolder records the leader's identity as last observed, and this replica's own.
func (a *Auditor) setHolder(holder, identity string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.holder, a.identity = holder, identity
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
