package webhook

import (
	"context"
	"errors"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/review"
)

// ServiceAccountValidator admits ServiceAccounts: the engine's findings about it, decided.
type ServiceAccountValidator struct{ Deps *Deps }

var _ admission.Validator[*corev1.ServiceAccount] = (*ServiceAccountValidator)(nil)

// ValidateCreate checks a new ServiceAccount.
func (v *ServiceAccountValidator) ValidateCreate(ctx context.Context, sa *corev1.ServiceAccount) (admission.Warnings, error) {
	return v.validate(ctx, sa)
}

// ValidateUpdate checks a ServiceAccount only when one of its eks.amazonaws.com/* annotations
// changed: other updates (labels, secrets, imagePullSecrets) cannot change what IRSA does.
func (v *ServiceAccountValidator) ValidateUpdate(ctx context.Context, oldSA, sa *corev1.ServiceAccount) (admission.Warnings, error) {
	if maps.Equal(irsaAnnotations(oldSA), irsaAnnotations(sa)) {
		return nil, nil
	}
	return v.validate(ctx, sa)
}

// ValidateDelete never objects: deleting a ServiceAccount cannot break IRSA for pods not yet made.
func (v *ServiceAccountValidator) ValidateDelete(context.Context, *corev1.ServiceAccount) (admission.Warnings, error) {
	return nil, nil
}

func (v *ServiceAccountValidator) validate(ctx context.Context, sa *corev1.ServiceAccount) (admission.Warnings, error) {
	if sa.Labels[config.LabelSkip] == "true" {
		return nil, nil
	}
	ctx, cancel := v.Deps.withBudget(ctx)
	defer cancel()
	findings := v.Deps.review(ctx, review.Subject{ServiceAccount: sa})
	d := v.Deps.Policy.Decide(v.Deps.subject(ctx, sa.Namespace, sa.Labels), findings)
	logDecision(ctx, d)
	v.Deps.observe("ServiceAccount", d)
	if d.Allowed && d.Mode == config.ModeWarn {
		v.Deps.recordEvents(ctx, sa, d.Reported)
	}
	if !d.Allowed {
		return d.Warnings, errors.New(d.Denial)
	}
	return d.Warnings, nil
}

func irsaAnnotations(sa *corev1.ServiceAccount) map[string]string {
	out := map[string]string{}
	for k, v := range sa.Annotations {
		// Typo'd keys (IRSA002) count too: fixing eks.amazon.com/role-arn must be re-checked.
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(k)), "eks.") {
			out[k] = v
		}
	}
	return out
}

// logDecision logs the outcome with check IDs only, never the object or annotation values: at
// V(0) when there is something to say (a finding, a denial), at V(1) for a silent allow, the
// common case, which would otherwise be a log line per pod created.
func logDecision(ctx context.Context, d Decision) {
	log := logf.FromContext(ctx)
	if d.Allowed && len(d.Reported) == 0 {
		log.V(1).Info("Admission decided", "allowed", true, "mode", string(d.Mode))
		return
	}
	checks := make([]string, 0, len(d.Reported))
	for _, f := range d.Reported {
		checks = append(checks, string(f.Check))
	}
	log.Info("Admission decided", "allowed", d.Allowed, "mode", string(d.Mode), "checks", checks)
}
