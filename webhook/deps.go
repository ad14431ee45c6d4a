package webhook

import (
	"context"
	"time"

	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
)

// Deps are what every admission handler shares: the review engine that decides which checks apply
// and returns the findings, the cluster facts Decide needs (a namespace's mode label), the
// decision policy, the decision budget and the event recorder.
type Deps struct {
	Engine  *review.Engine
	Cluster review.Cluster
	Policy  Policy
	// Budget is the whole decision's time, from the request's arrival; this adapter owns the
	// deadline and everything below it (the engine, the AWS facts) works within it.
	Budget time.Duration
	Events EventRecorder // nil records nothing
	// Observe is told every decision with its findings (the server counts them as metrics); nil
	// does nothing.
	Observe func(kind string, d Decision)
}

// withBudget bounds one decision. The budget is measured from the request's arrival.
func (d *Deps) withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.Budget <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d.Budget)
}

// subject is what Decide needs to know about an object besides its findings.
func (d *Deps) subject(ctx context.Context, namespace string, labels map[string]string) Subject {
	s := Subject{Namespace: namespace, ObjectLabels: labels}
	if d.Cluster != nil {
		s.NamespaceLabels, s.NamespaceKnown = d.Cluster.NamespaceLabels(ctx, namespace)
	}
	return s
}

// observe reports a decision to Observe.
func (d *Deps) observe(kind string, dec Decision) {
	if d.Observe != nil {
		d.Observe(kind, dec)
	}
}

// review asks the engine about one subject at admission.
func (d *Deps) review(ctx context.Context, s review.Subject) []validators.Finding {
	s.Stage = review.StageAdmission
	return d.Engine.Review(ctx, s)
}
