package webhook

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/review"
)

// PodValidator admits pods as created, after every mutating webhook: the engine's findings about
// the pod, decided.
type PodValidator struct{ Deps *Deps }

var _ admission.Validator[*corev1.Pod] = (*PodValidator)(nil)

// ValidateCreate checks a new pod. A pod's ServiceAccount cannot change after creation, so
// there is nothing to check on update.
func (v *PodValidator) ValidateCreate(ctx context.Context, pod *corev1.Pod) (admission.Warnings, error) {
	if pod.Labels[config.LabelSkip] == "true" {
		return nil, nil
	}
	ctx, cancel := v.Deps.withBudget(ctx)
	defer cancel()
	if pod.Namespace == "" {
		if req, err := admission.RequestFromContext(ctx); err == nil {
			pod.Namespace = req.Namespace
		}
	}
	findings := v.Deps.review(ctx, review.Subject{Pod: pod})
	d := v.Deps.Policy.Decide(v.Deps.subject(ctx, pod.Namespace, pod.Labels), findings)
	logDecision(ctx, d)
	v.Deps.observe("Pod", d)
	if !d.Allowed {
		return d.Warnings, errors.New(d.Denial)
	}
	return d.Warnings, nil
}

// ValidateUpdate allows every pod update.
func (v *PodValidator) ValidateUpdate(context.Context, *corev1.Pod, *corev1.Pod) (admission.Warnings, error) {
	return nil, nil
}

// ValidateDelete allows every pod deletion.
func (v *PodValidator) ValidateDelete(context.Context, *corev1.Pod) (admission.Warnings, error) {
	return nil, nil
}
