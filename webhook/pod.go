package webhook

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/validators"
)

// PodValidator checks a pod as created, after every mutating webhook: whether IRSA was really
// injected and will work (IRSA040-045), pod-identity-webhook's configuration (IRSA050/051) and
// the IRSA checks of the pod's ServiceAccount.
type PodValidator struct{ Deps *Deps }

var _ admission.Validator[*corev1.Pod] = (*PodValidator)(nil)

// ValidateCreate checks a new pod. A pod's ServiceAccount cannot change after creation, so
// there is nothing to check on update.
func (v *PodValidator) ValidateCreate(ctx context.Context, pod *corev1.Pod) (admission.Warnings, error) {
	if pod.Labels[LabelSkip] == "true" {
		return nil, nil
	}
	ctx, cancel := v.Deps.withBudget(ctx)
	defer cancel()
	if pod.Namespace == "" {
		if req, err := admission.RequestFromContext(ctx); err == nil {
			pod.Namespace = req.Namespace
		}
	}
	saName := pod.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	subject := Subject{Namespace: pod.Namespace, ObjectLabels: pod.Labels,
		NamespaceLabels: v.Deps.namespaceLabels(ctx, pod.Namespace)}
	sa := v.Deps.serviceAccount(ctx, pod.Namespace, saName)
	findings := validators.CheckPodAnnotations(validators.PodObject(pod), pod.Annotations, &pod.Spec)
	findings = append(findings, validators.CheckPod(pod, sa)...)
	if sa != nil && sa.Annotations[validators.AnnotationRoleARN] != "" {
		podLabels := pod.Labels
		if podLabels == nil {
			podLabels = map[string]string{}
		}
		findings = append(findings, v.Deps.serviceAccountFindings(ctx, sa, subject.NamespaceLabels, podLabels)...)
		findings = append(findings, v.Deps.webhookFindings(ctx, validators.InjectionTarget{
			Object: validators.PodObject(pod), NamespaceLabels: subject.NamespaceLabels, PodLabels: podLabels})...)
	}
	d := v.Deps.Policy.Decide(subject, findings)
	logDecision(ctx, d)
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
