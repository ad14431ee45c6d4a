package webhook

import (
	"context"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Verifier is what the webhook needs from the AWS adapter (awsfacts.Verifier): the findings
// IRSA010-035 for one identity. Infrastructure failures come back as IRSA090 findings.
type Verifier interface {
	Verify(ctx context.Context, id validators.Identity) []validators.Finding
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, id validators.Identity) []validators.Finding

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, id validators.Identity) []validators.Finding {
	return f(ctx, id)
}

// Deps are the facts and policies every handler shares. Reader is the manager's cached client
// (informers: ServiceAccounts, Namespaces, MutatingWebhookConfigurations); APIReader reads the
// API server directly and is only used when the cache has not seen a just-created object.
type Deps struct {
	Policy             Policy
	Reader             client.Reader
	APIReader          client.Reader
	Verifier           Verifier
	Issuer             string
	Audience           string        // default audience; "" means sts.amazonaws.com
	Budget             time.Duration // the whole decision's time; the AWS part gets what is left
	PodIdentityWebhook validators.PodIdentityWebhookNames
	Events             EventRecorder // nil records nothing
}

// serviceAccount reads a pod's ServiceAccount from the cache, falling back to a direct read
// when the cache has not caught up (the SA-created-just-before-the-pod race that
// pod-identity-webhook's --service-account-lookup-grace-period works around). nil if absent.
func (d *Deps) serviceAccount(ctx context.Context, ns, name string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{}
	key := client.ObjectKey{Namespace: ns, Name: name}
	err := d.Reader.Get(ctx, key, sa)
	if apierrors.IsNotFound(err) && d.APIReader != nil {
		err = d.APIReader.Get(ctx, key, sa)
	}
	if err != nil {
		logf.FromContext(ctx).V(1).Info("ServiceAccount not readable", "serviceAccount", name, "err", err.Error())
		return nil
	}
	return sa
}

// namespaceLabels returns a namespace's labels, nil when it cannot be read (Decide then uses
// the configured mode and IRSA051 skips the namespaceSelector).
func (d *Deps) namespaceLabels(ctx context.Context, ns string) map[string]string {
	n := &corev1.Namespace{}
	if err := d.Reader.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
		logf.FromContext(ctx).V(1).Info("Namespace not readable", "namespace", ns, "err", err.Error())
		return nil
	}
	if n.Labels == nil {
		return map[string]string{}
	}
	return n.Labels
}

// webhookFindings runs IRSA050/051 against the watched MutatingWebhookConfigurations. If they
// cannot be listed, nothing is reported: irsa-guard never guesses the webhook is missing.
func (d *Deps) webhookFindings(ctx context.Context, target validators.InjectionTarget) []validators.Finding {
	var list admissionregistrationv1.MutatingWebhookConfigurationList
	if err := d.Reader.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "Cannot list MutatingWebhookConfigurations")
		return nil
	}
	return validators.CheckPodIdentityWebhook(list.Items, d.PodIdentityWebhook, target)
}

// verify runs the AWS checks for id within ctx's deadline. If the verifier overruns the
// deadline the answer is an IRSA090 "could not verify" finding, never a wait past the budget.
// The verifier's own deadline is a little earlier, so a verifier that honours its context gets
// to say which lookup timed out; the generic answer is for one that does not.
func (d *Deps) verify(ctx context.Context, id validators.Identity) []validators.Finding {
	if d.Verifier == nil || d.Issuer == "" {
		return nil
	}
	vctx, cancel := context.WithCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		vctx, cancel = context.WithDeadline(ctx, dl.Add(-min(time.Until(dl)/10, verifierSlack)))
	}
	defer cancel()
	done := make(chan []validators.Finding, 1)
	go func() { done <- d.Verifier.Verify(vctx, id) }()
	select {
	case fs := <-done:
		return fs
	case <-ctx.Done():
		return []validators.Finding{validators.NewFinding(validators.CheckCouldNotVerify, id.Object,
			"AWS checks did not finish within the admission budget; role not verified")}
	}
}

// verifierSlack is the most the verifier's deadline is brought forward from the budget's.
const verifierSlack = 200 * time.Millisecond

// identity builds the AWS-check input for a ServiceAccount with a role-arn annotation.
func (d *Deps) identity(sa *corev1.ServiceAccount) validators.Identity {
	id, _ := validators.IdentityOf(saObject(sa), sa, d.Issuer)
	if id.Audience == "" && d.Audience != validators.DefaultAudience {
		id.Audience = d.Audience
	}
	return id
}

func saObject(sa *corev1.ServiceAccount) validators.Object {
	return validators.Object{Kind: "ServiceAccount", Namespace: sa.Namespace, Name: sa.Name}
}

// withBudget bounds one decision. The budget is measured from the request's arrival.
func (d *Deps) withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.Budget <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d.Budget)
}
