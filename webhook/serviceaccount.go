package webhook

import (
	"context"
	"errors"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/validators"
)

// ServiceAccountValidator checks a ServiceAccount's IRSA annotations (IRSA001-003) and, with
// AWS, the role, provider and trust behind them (IRSA010-035), plus whether pod-identity-webhook
// could inject for it (IRSA050/051).
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
	ctx, cancel := v.Deps.withBudget(ctx)
	defer cancel()
	subject := Subject{Namespace: sa.Namespace, ObjectLabels: sa.Labels}
	if sa.Labels[LabelSkip] == "true" {
		return nil, nil
	}
	subject.NamespaceLabels = v.Deps.namespaceLabels(ctx, sa.Namespace)
	findings := v.Deps.serviceAccountFindings(ctx, sa, subject.NamespaceLabels, nil)
	d := v.Deps.Policy.Decide(subject, findings)
	logDecision(ctx, d)
	if d.Allowed && d.Mode == "warn" {
		v.Deps.recordEvents(ctx, sa, d.Reported)
	}
	if !d.Allowed {
		return d.Warnings, errors.New(d.Denial)
	}
	return d.Warnings, nil
}

// serviceAccountFindings is every finding about a ServiceAccount: annotations, AWS facts (only
// for a well-formed role ARN) and pod-identity-webhook's ability to inject. podLabels is set
// when the ServiceAccount is checked for a pod.
func (d *Deps) serviceAccountFindings(ctx context.Context, sa *corev1.ServiceAccount, nsLabels, podLabels map[string]string) []validators.Finding {
	findings := validators.CheckServiceAccount(sa)
	role := sa.Annotations[validators.AnnotationRoleARN]
	if role == "" {
		return findings
	}
	if !hasCheck(findings, validators.CheckRoleARNInvalid) {
		findings = append(findings, d.verify(ctx, d.identity(sa))...)
	}
	if podLabels == nil {
		findings = append(findings, d.webhookFindings(ctx, validators.InjectionTarget{
			Object: saObject(sa), NamespaceLabels: nsLabels})...)
	}
	return findings
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

func hasCheck(fs []validators.Finding, id validators.CheckID) bool {
	for _, f := range fs {
		if f.Check == id {
			return true
		}
	}
	return false
}

// logDecision logs the outcome at V(0) with check IDs only: never the object or annotation values.
func logDecision(ctx context.Context, d Decision) {
	checks := make([]string, 0, len(d.Reported))
	for _, f := range d.Reported {
		checks = append(checks, string(f.Check))
	}
	logf.FromContext(ctx).Info("Admission decided", "allowed", d.Allowed, "mode", string(d.Mode), "checks", checks)
}
