package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// standInPIW stands in for EKS's pod-identity-webhook where its source is not available (a plain
// clone): a mutating webhook that injects AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the
// aws-iam-token projected volume into pods whose ServiceAccount has a role-arn. It is written from the
// same reading of upstream as irsa-guard's checks, so it shares their assumptions (it knows nothing of
// skip-containers, token-expiration or Pod Identity): prefer the real webhook, which
// StartPodIdentityWebhook runs whenever it can.
type standInPIW struct {
	url    string
	stop   func() error
	served chan error
}

// startStandInPIW serves the stand-in on the harness's webhook endpoint (Env.Webhook).
func startStandInPIW(ctx context.Context, env *Env, o PodIdentityWebhookOptions) (*standInPIW, error) {
	server := crwebhook.NewServer(crwebhook.Options{Host: env.Webhook.Host, Port: env.Webhook.Port, CertDir: env.Webhook.CertDir})
	server.Register("/mutate", &admission.Webhook{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		return injectIRSA(ctx, env, o, req)
	})})
	serveCtx, cancel := context.WithCancel(context.Background())
	s := &standInPIW{url: fmt.Sprintf("https://%s:%d/mutate", env.Webhook.Host, env.Webhook.Port), served: make(chan error, 1)}
	s.stop = func() error {
		cancel()
		if err := <-s.served; err != nil {
			return fmt.Errorf("the stand-in pod-identity-webhook's server: %w", err)
		}
		return nil
	}
	go func() { s.served <- server.Start(serveCtx) }()
	started := server.StartedChecker()
	for deadline := time.Now().Add(30 * time.Second); started(&http.Request{}) != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			_ = s.stop()
			return nil, errors.New("the stand-in pod-identity-webhook did not start serving within 30s")
		}
	}
	return s, nil
}

// injectIRSA is the stand-in's mutation; the patch is computed by controller-runtime from the mutated pod.
func injectIRSA(ctx context.Context, env *Env, o PodIdentityWebhookOptions, req admission.Request) admission.Response {
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
	add := []corev1.EnvVar{
		{Name: "AWS_ROLE_ARN", Value: role},
		{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: PIWMountPath + "/token"},
	}
	if o.RegionalSTS {
		add = append([]corev1.EnvVar{{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "regional"}}, add...)
	}
	inject := func(c *corev1.Container) {
		env := map[string]bool{}
		for _, e := range c.Env {
			env[e.Name] = true
		}
		for _, e := range add {
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
