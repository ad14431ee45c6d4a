package testenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Probe returns what the API server would store for a minimal pod using serviceAccount in namespace,
// after every mutating webhook: a server-side dry run, so nothing is stored. The probe is labelled
// irsa-guard.io/skip=true so irsa-guard's webhooks, if installed, leave it alone.
func (p *PodIdentityWebhook) Probe(ctx context.Context, namespace, serviceAccount string) (*corev1.Pod, error) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pod-identity-webhook-probe-", Labels: map[string]string{"irsa-guard.io/skip": "true"}},
		Spec: corev1.PodSpec{ServiceAccountName: serviceAccount, Containers: []corev1.Container{
			{Name: "probe", Image: "public.ecr.aws/eks-distro/kubernetes/pause:3.10"},
		}},
	}
	return p.env.Clientset.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
}

// WaitFor probes (see Probe) until ready accepts the pod and returns it; at most 30 seconds. The real
// webhook learns about ServiceAccounts from a watch and about associations from a file, so a test
// that creates either waits here before creating pods, as pods created too early on EKS get nothing.
func (p *PodIdentityWebhook) WaitFor(ctx context.Context, namespace, serviceAccount string, ready func(*corev1.Pod) bool) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		pod, err := p.Probe(ctx, namespace, serviceAccount)
		if err == nil && ready(pod) {
			return pod, nil
		}
		if exited, waitErr := p.real.exited(); exited {
			return nil, fmt.Errorf("pod-identity-webhook exited (%w)%s", waitErr, p.logTail())
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("the last probe was stored as %s", describeInjection(pod))
			}
			return nil, fmt.Errorf("probe pod with ServiceAccount %s/%s: %w", namespace, serviceAccount, errors.Join(ctx.Err(), err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createProbe creates the ServiceAccount Register probes with, in kube-system, which irsa-guard's
// webhooks never see, annotated with the webhook's annotation prefix.
func (p *PodIdentityWebhook) createProbe(ctx context.Context, o PodIdentityWebhookOptions) error {
	prefix := o.AnnotationPrefix
	if prefix == "" {
		prefix = "eks.amazonaws.com"
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "pod-identity-webhook-probe",
		Annotations: map[string]string{prefix + "/role-arn": "arn:aws:iam::111122223333:role/pod-identity-webhook-probe"}}}
	sas := p.env.Clientset.CoreV1().ServiceAccounts(sa.Namespace)
	_, err := sas.Create(ctx, sa, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) { // left by a run whose Stop failed: take it over
		_, err = sas.Update(ctx, sa, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("create the probe ServiceAccount: %w", err)
	}
	p.probe = sa
	return nil
}

// InjectedRoleARN is the AWS_ROLE_ARN pod-identity-webhook gave the pod's first container, "" if none.
func InjectedRoleARN(pod *corev1.Pod) string {
	if pod == nil || len(pod.Spec.Containers) == 0 {
		return ""
	}
	return EnvValue(pod.Spec.Containers[0], "AWS_ROLE_ARN")
}

// InjectedPodIdentity reports whether the pod's first container got EKS Pod Identity's variables.
func InjectedPodIdentity(pod *corev1.Pod) bool {
	return pod != nil && len(pod.Spec.Containers) > 0 && EnvValue(pod.Spec.Containers[0], "AWS_CONTAINER_CREDENTIALS_FULL_URI") != ""
}

// EnvValue is the literal value of the container's variable name, "" if unset.
func EnvValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func describeInjection(pod *corev1.Pod) string {
	switch {
	case InjectedPodIdentity(pod):
		return "injected with EKS Pod Identity"
	case InjectedRoleARN(pod) != "":
		return "injected with AWS_ROLE_ARN=" + InjectedRoleARN(pod)
	}
	return "not injected"
}
