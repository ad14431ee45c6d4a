package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// What amazon-eks-pod-identity-webhook injects (pkg/handler/handler.go), and the names EKS registers it under.
const (
	PIWConfiguration = "pod-identity-webhook"
	PIWWebhook       = "iam-for-pods.amazonaws.com"
	PIWVolume        = "aws-iam-token"
	PIWMountPath     = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	PIWSkipLabel     = "eks.amazonaws.com/skip-pod-identity-webhook"
)

// PodIdentityWebhook stands in for EKS's pod-identity-webhook, which envtest lacks: a real mutating
// webhook, registered under the names EKS uses, that injects AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE
// and the aws-iam-token projected volume into pods whose ServiceAccount has a role-arn, the way the
// real one does. irsa-guard's pod checks then see what they would see on EKS.
type PodIdentityWebhook struct {
	config *admissionregistrationv1.MutatingWebhookConfiguration
	env    *Env
	stop   context.CancelFunc
	served chan error
}

// StartPodIdentityWebhook serves the fake on the harness's webhook endpoint (Env.Webhook) and registers
// it. Pods labelled eks.amazonaws.com/skip-pod-identity-webhook are not sent to it, as upstream.
func StartPodIdentityWebhook(ctx context.Context, env *Env) (*PodIdentityWebhook, error) {
	server := crwebhook.NewServer(crwebhook.Options{Host: env.Webhook.Host, Port: env.Webhook.Port, CertDir: env.Webhook.CertDir})
	server.Register("/mutate", &admission.Webhook{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		return injectIRSA(ctx, env, req)
	})})
	serveCtx, stop := context.WithCancel(context.Background())
	p := &PodIdentityWebhook{env: env, stop: stop, served: make(chan error, 1)}
	go func() { p.served <- server.Start(serveCtx) }()
	started := server.StartedChecker()
	deadline := time.Now().Add(30 * time.Second)
	for started(&http.Request{}) != nil {
		if time.Now().After(deadline) {
			_ = p.Stop()
			return nil, errors.New("the fake pod-identity-webhook did not start serving within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.config = &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: PIWConfiguration},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: PIWWebhook,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: "kube-system", Name: "pod-identity-webhook", Path: ptr.To("/mutate"),
			}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: PIWSkipLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{admissionv1.SchemeGroupVersion.Version},
			TimeoutSeconds:          ptr.To[int32](3),
		}},
	}
	if err := env.InstallWebhooks(ctx, []*admissionregistrationv1.MutatingWebhookConfiguration{p.config}, nil); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// Stop unregisters the fake and stops its server, returning the server's error if it failed.
func (p *PodIdentityWebhook) Stop() error {
	if p == nil || p.stop == nil {
		return nil
	}
	if p.config != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = p.env.Client.Delete(ctx, p.config)
		cancel()
	}
	p.stop()
	p.stop = nil
	if err := <-p.served; err != nil {
		return fmt.Errorf("the fake pod-identity-webhook's server: %w", err)
	}
	return nil
}

// injectIRSA is the fake's mutation; the patch is computed by controller-runtime from the mutated pod.
func injectIRSA(ctx context.Context, env *Env, req admission.Request) admission.Response {
	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	saName := pod.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	sa, err := env.Clientset.CoreV1().ServiceAccounts(req.Namespace).Get(ctx, saName, metav1.GetOptions{})
	if err != nil {
		return admission.Allowed(fmt.Sprintf("ServiceAccount %s not readable: %v", saName, err))
	}
	role := sa.Annotations["eks.amazonaws.com/role-arn"]
	if role == "" {
		return admission.Allowed("no role-arn")
	}
	audience := sa.Annotations["eks.amazonaws.com/audience"]
	if audience == "" {
		audience = "sts.amazonaws.com"
	}
	hasVolume := false
	for _, v := range pod.Spec.Volumes {
		hasVolume = hasVolume || v.Name == PIWVolume
	}
	if !hasVolume { // an existing aws-iam-token volume is kept, as upstream does
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: PIWVolume, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: audience, ExpirationSeconds: ptr.To[int64](86400), Path: "token",
			}}}},
		}})
	}
	inject := func(c *corev1.Container) {
		env := map[string]bool{}
		for _, e := range c.Env {
			env[e.Name] = true
		}
		for _, e := range []corev1.EnvVar{
			{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "regional"},
			{Name: "AWS_ROLE_ARN", Value: role},
			{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: PIWMountPath + "/token"},
		} {
			if !env[e.Name] {
				c.Env = append(c.Env, e)
			}
		}
		for _, m := range c.VolumeMounts {
			if m.Name == PIWVolume {
				return
			}
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: PIWVolume, MountPath: PIWMountPath, ReadOnly: true})
	}
	for i := range pod.Spec.InitContainers {
		inject(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		inject(&pod.Spec.Containers[i])
	}
	mutated, err := json.Marshal(pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, mutated)
}
