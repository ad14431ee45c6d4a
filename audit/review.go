package audit

import (
	"context"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// reviewed says how a subject's review went besides its findings.
type reviewed struct {
	// inconclusive: AWS could not be read for it (throttled, timed out, network, AWS or
	// irsa-guard's access failing), so its findings are not the truth about it.
	inconclusive bool
	// throttled: AWS throttled the audit or did not answer in time; the audit pauses.
	throttled bool
}

// review asks the engine about one subject at StageRunning, with the audit's share of the IAM
// rate limit, and applies the modes. It returns nil for a subject in mode off.
// old is the subject as the previous pass left it: its walk through the article's steps is reused
// when nothing it rests on changed, so a pass over an unchanged cluster does not evaluate every
// trust policy again for the explanation and the corrected policy (docs/performance.md).
func (a *Auditor) review(ctx context.Context, t target, old *Subject) (*Subject, reviewed) {
	ctx, cancel := context.WithTimeout(awsfacts.Background(ctx), a.o.SubjectTimeout)
	defer cancel()
	s := &Subject{CheckedAt: a.o.Clock()}
	in := diagnose.Input{AWSWhy: a.o.AWSWhy}
	var labels map[string]string
	switch {
	case t.sa != nil:
		sa := t.sa
		s.Kind, s.Namespace, s.Name, s.UID, labels = "ServiceAccount", sa.Namespace, sa.Name, string(sa.UID), sa.Labels
		in.Report = a.o.Engine.Explain(ctx, review.Subject{Stage: review.StageRunning, ServiceAccount: sa})
	default:
		pod := t.pod
		s.Kind, s.Namespace, s.Name, s.UID, labels = "Pod", pod.Namespace, pod.Name, string(pod.UID), pod.Labels
		s.Owner = ownerOf(pod)
		in.Report = a.o.Engine.Explain(ctx, review.Subject{Stage: review.StageRunning, Pod: pod})
		in.IsPod = true
		in.ImagesWhy = "not scanned by the audit: run irsa-guard diagnose pod " + pod.Namespace + "/" + pod.Name
	}
	if a.o.Context.Cluster == "" {
		in.PodIdentityWhy = "EKS Pod Identity associations were not read: the EKS cluster's name is not configured (cluster.name)"
	}
	subject := webhook.Subject{Namespace: s.Namespace, ObjectLabels: labels}
	if a.o.Cluster != nil {
		subject.NamespaceLabels, subject.NamespaceKnown = a.o.Cluster.NamespaceLabels(ctx, s.Namespace)
	}
	d := a.o.Policy.Decide(subject, in.Report.Findings)
	if d.Mode == config.ModeOff {
		return nil, reviewed{}
	}
	s.Findings = d.Reported
	if s.Findings == nil {
		s.Findings = []validators.Finding{}
	}
	s.Result = worst(s.Findings)
	in.Subject = s.Kind + " " + s.Namespace + "/" + s.Name
	s.Diagnosis = diagnose.Result{Subject: in.Subject, Context: a.o.Context}
	if s.Result == ResultPass {
		// A subject that passes keeps no steps, and one that does not keeps only the steps that do
		// not pass: the walk's passing and skipped steps were most of a large cluster's audit state
		// (docs/performance.md, make scale), and `irsa-guard diagnose` shows every step of one
		// subject on demand.
		return s, conclusiveness(in.Report)
	}
	s.walk = walkKeyOf(t, in.Report)
	if reuseWalks && old != nil && old.walk == s.walk && old.Diagnosis.Steps != nil {
		s.Diagnosis.Steps = old.Diagnosis.Steps // never modified once built
	} else {
		s.Diagnosis.Steps = notPassing(diagnose.Walk(in))
	}
	return s, conclusiveness(in.Report)
}

// notPassing is the steps that fail, could not be checked or pass with a warning, in a slice of
// their own (never nil).
func notPassing(steps []diagnose.Step) []diagnose.Step {
	keep := func(st diagnose.Step) bool {
		return st.Status == diagnose.StatusFail || st.Status == diagnose.StatusUnknown || st.Warning
	}
	n := 0
	for _, st := range steps {
		if keep(st) {
			n++
		}
	}
	out := make([]diagnose.Step, 0, n)
	for _, st := range steps {
		if keep(st) {
			out = append(out, st)
		}
	}
	return out
}

// reuseWalks is off only in BenchmarkAuditPass's baseline.
var reuseWalks = true

// walkKey is everything a subject's diagnose.Walk rests on: the objects' versions, the AWS facts
// by pointer (the caches replace, never modify, a fact: a changed trust policy is a new pointer),
// and the findings. Equal keys walk to the same steps.
type walkKey struct {
	uid, resourceVersion, serviceAccountVersion string
	role                                        *validators.RoleFacts
	provider                                    *validators.ProviderFacts
	chain                                       *validators.ChainFacts
	association                                 *validators.PodIdentityAssociation
	associationRole                             *validators.RoleFacts
	webhooksChecked                             bool
	findings, unverified                        string
	// clock is the time of the check when the trust policy compares it (aws:CurrentTime,
	// aws:EpochTime): the walk's explanation prints it.
	clock time.Time
}

func walkKeyOf(t target, r review.Report) walkKey {
	var k walkKey
	if t.sa != nil {
		k.uid, k.resourceVersion = string(t.sa.UID), t.sa.ResourceVersion
	} else {
		k.uid, k.resourceVersion = string(t.pod.UID), t.pod.ResourceVersion
	}
	if r.ServiceAccount != nil {
		k.serviceAccountVersion = string(r.ServiceAccount.UID) + "/" + r.ServiceAccount.ResourceVersion
	}
	var b strings.Builder
	if r.AWS != nil {
		k.role, k.provider, k.chain = r.AWS.Role, r.AWS.Provider, r.AWS.Chain
		if r.Identity != nil && r.AWS.Role != nil && r.AWS.Role.Trust.Policy != nil &&
			len(trustpolicy.Instants(r.AWS.Role.Trust.Policy, "aws:CurrentTime", "aws:EpochTime")) > 0 {
			k.clock = r.Identity.Call.Now
		}
		for _, u := range r.AWS.Unverified {
			b.WriteString(u.What + "\x00" + u.Reason + "\x00")
		}
		for _, st := range r.AWS.Stale {
			b.WriteString(st.What + "\x00" + st.Reason + "\x00")
		}
	}
	if r.PodIdentity != nil {
		k.association, k.associationRole = r.PodIdentity.Association, r.PodIdentity.Role
		for _, u := range r.PodIdentity.Unverified {
			b.WriteString(u.What + "\x00" + u.Reason + "\x00")
		}
	}
	k.unverified = b.String()
	k.webhooksChecked = r.WebhooksChecked
	b.Reset()
	for _, f := range r.Findings {
		b.WriteString(string(f.Check) + "\x00" + string(f.Severity) + "\x00" + f.Object.String() + "\x00" + f.Object.Field + "\x00" +
			f.Message + "\x00" + f.Fix + "\x00" + f.PredictedError + "\x00")
	}
	k.findings = b.String()
	return k
}

// The awsfacts reasons that say nothing about the subject and may pass (everything but "not
// found", and "no access to account", which is how irsa-guard is set up).
var transientReasons = []awsfacts.Reason{
	awsfacts.ReasonThrottled, awsfacts.ReasonTimeout, awsfacts.ReasonNetwork, awsfacts.ReasonServer,
	awsfacts.ReasonAccessDenied, awsfacts.ReasonUnknown, awsfacts.ReasonUntrustedTLS,
}

// conclusiveness reads from the facts the review rested on whether AWS answered for it now.
func conclusiveness(r review.Report) reviewed {
	var us []validators.Unverified
	if r.AWS != nil {
		us = append(us, r.AWS.Unverified...)
	} else if r.Identity != nil {
		// The AWS checks were due but did not finish within the subject's time.
		return reviewed{inconclusive: true, throttled: true}
	}
	if r.PodIdentity != nil {
		us = append(us, r.PodIdentity.Unverified...)
	}
	var reasons []string
	for _, u := range us {
		reasons = append(reasons, u.Reason)
	}
	if r.AWS != nil {
		// Facts served from the cache past their lifetime because IAM failed: the review is the
		// last one's, so it can neither show drift nor clear a finding.
		for _, st := range r.AWS.Stale {
			reasons = append(reasons, st.Reason)
		}
	}
	var out reviewed
	for _, got := range reasons {
		for _, reason := range transientReasons {
			// A reason may end in " via reader role NAME", or start "own account unknown: ".
			if strings.HasPrefix(got, string(reason)) || strings.HasSuffix(got, ": "+string(reason)) {
				out.inconclusive = true
				out.throttled = out.throttled || reason == awsfacts.ReasonThrottled || reason == awsfacts.ReasonTimeout
			}
		}
	}
	return out
}
