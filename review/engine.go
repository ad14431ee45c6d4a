// Package review is irsa-guard's one engine. Given a subject — a ServiceAccount, a Pod, or a
// workload's pod template — and the stage it is seen at, it decides which checks apply, gathers
// the facts they need from the cluster and from AWS, and returns the findings. Every front end
// (the admission webhook, lint, the benchmarks, the end-to-end tests, and the troubleshooting and
// audit commands to come) asks it the same question and gets the same answer; none of them picks
// checks itself. What to do with the findings (warn, deny) is decided elsewhere
// (webhook.Policy.Decide); how to print them is each front end's business.
package review

import (
	"context"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// Stage is when a subject is seen. It decides what the engine may assume about a pod.
type Stage int

// The stages.
const (
	// StageManifest is a manifest before it is applied (lint): nothing is injected yet, so pod
	// checks run on the pod as pod-identity-webhook will mutate it (validators.PredictInjection).
	StageManifest Stage = iota + 1
	// StageAdmission is an object being created or changed (the webhook): a pod is seen after
	// every mutating webhook, so what pod-identity-webhook did (or failed to do) is visible.
	StageAdmission
	// StageRunning is an object that exists in the cluster (troubleshooting, audit): like
	// admission, on the pod as it runs.
	StageRunning
)

func (s Stage) String() string {
	switch s {
	case StageManifest:
		return "manifest"
	case StageAdmission:
		return "admission"
	case StageRunning:
		return "running"
	}
	return "unknown"
}

// Subject is one thing to review: a ServiceAccount or a Pod (exactly one of them).
type Subject struct {
	Stage          Stage
	ServiceAccount *corev1.ServiceAccount
	// Pod is a Pod, or a workload's pod template as the Pod its controller would create, in the
	// workload's namespace.
	Pod *corev1.Pod
	// Object is what pod findings are reported on when it is not the Pod itself: the workload
	// ("Deployment shop/orders") whose template Pod is.
	Object validators.Object
}

// Cluster is what the engine reads about the cluster. Implementations (package kubefacts) answer
// from an informer cache, the API server, or the manifests being linted; ok is false when a fact
// is not known, and the checks that need it are then skipped, never guessed.
type Cluster interface {
	// ServiceAccount returns a ServiceAccount; ok is false when it is absent or unknown.
	ServiceAccount(ctx context.Context, namespace, name string) (sa *corev1.ServiceAccount, ok bool)
	// NamespaceLabels returns a namespace's labels; ok is false when they are not known.
	NamespaceLabels(ctx context.Context, namespace string) (labels map[string]string, ok bool)
	// MutatingWebhookConfigurations returns the cluster's mutating webhooks (pod-identity-webhook
	// among them); ok is false when they are not known.
	MutatingWebhookConfigurations(ctx context.Context) (configs []admissionregistrationv1.MutatingWebhookConfiguration, ok bool)
}

// AnalysedWebhooks is a Cluster that keeps pod-identity-webhook's configuration analysed as it
// changes (kubefacts.Informed): the engine reuses that analysis instead of analysing the
// MutatingWebhookConfigurations on every review. ok is false when there is none yet; the engine
// then analyses MutatingWebhookConfigurations itself.
type AnalysedWebhooks interface {
	PodIdentityWebhooks(ctx context.Context) (analysis *validators.PodIdentityWebhooks, ok bool)
}

// Options are an engine's sources.
type Options struct {
	// Facts answers the AWS questions; nil runs only the checks that need no AWS.
	Facts awsfacts.Source
	// Cluster answers the cluster questions; nil knows nothing about the cluster.
	Cluster Cluster
	// Issuer is the cluster's OIDC issuer, already resolved (config, discovery or
	// eks:DescribeCluster); "" runs no AWS checks.
	Issuer string
	// Clock is the time of the checks; nil means time.Now.
	Clock func() time.Time
}

// Engine reviews subjects. It is safe for concurrent use; one engine per process shares its
// memo of trust-policy evaluations.
type Engine struct {
	cluster  config.Cluster
	severity map[validators.CheckID]validators.Severity
	facts    awsfacts.Source
	state    Cluster
	issuer   string
	clock    func() time.Time
	memo     *awsMemo
}

// New builds an engine for the configuration's cluster and policy.
func New(cfg *config.Configuration, opts Options) *Engine {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	return &Engine{
		cluster: cfg.Cluster, severity: cfg.Policy.CheckSeverity, facts: opts.Facts, state: opts.Cluster,
		issuer: opts.Issuer, clock: clock, memo: newAWSMemo(),
	}
}

// Review returns every finding about the subject, with the configured severities applied. It
// never fails: what it cannot know is reported as "could not verify" (IRSA090) or not at all.
func (e *Engine) Review(ctx context.Context, s Subject) []validators.Finding {
	return e.Explain(ctx, s).Findings
}

// Report is a review with what it rested on, for a front end that explains it step by step
// (diagnose): the same findings Review returns, and the facts the checks saw.
type Report struct {
	Findings []validators.Finding
	// ServiceAccount is the ServiceAccount reviewed, or the pod's; nil when it was not known.
	ServiceAccount *corev1.ServiceAccount
	// Pod is the pod as the pod checks saw it: as admitted, or as pod-identity-webhook will inject
	// it before admission (Injection says how); nil for a ServiceAccount.
	Pod       *corev1.Pod
	Injection validators.Injection
	// Identity and AWS are the AWS identity checked and the facts the AWS checks used; nil when
	// they did not run (no AWS, no issuer, no valid role ARN, EKS Pod Identity in use).
	Identity *validators.Identity
	AWS      *validators.AWSFacts
	// PodIdentity is the ServiceAccount's EKS Pod Identity association as read; nil when it was
	// not asked (no cluster name, no AWS).
	PodIdentity *validators.PodIdentityFacts
	// WebhooksChecked is set when pod-identity-webhook's configuration was checked (IRSA050/051).
	WebhooksChecked bool
}

// Explain reviews the subject like Review and returns the report behind the findings.
func (e *Engine) Explain(ctx context.Context, s Subject) Report {
	var r Report
	switch {
	case s.ServiceAccount != nil:
		r.Findings = e.reviewServiceAccount(ctx, &r, s.Stage, s.ServiceAccount)
	case s.Pod != nil:
		r.Findings = e.reviewPod(ctx, &r, s)
	}
	for i, f := range r.Findings {
		if sev, ok := e.severity[f.Check]; ok {
			r.Findings[i] = f.WithSeverity(sev)
		}
	}
	return r
}

// AWSChecked reports whether the engine can run the AWS checks at all: a facts source and the
// cluster's issuer.
func (e *Engine) AWSChecked() bool { return e.facts != nil && e.issuer != "" }
