package review

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/validators"
)

// The environment variables the AWS SDKs read for the STS call, besides the credentials
// (https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html).
const (
	envRegion               = "AWS_REGION"
	envDefaultRegion        = "AWS_DEFAULT_REGION"
	envSTSRegionalEndpoints = "AWS_STS_REGIONAL_ENDPOINTS"
	envRoleSessionName      = "AWS_ROLE_SESSION_NAME"
	envRoleARN              = "AWS_ROLE_ARN"
)

// serviceAccountCall is what is known about the STS call of the ServiceAccount's pods before any
// pod exists: what pod-identity-webhook injects into every one of them (its --aws-default-region
// as AWS_REGION, and regional STS endpoints when its flag or the ServiceAccount's annotation asks).
// A pod may set its own values; its review uses them.
func serviceAccountCall(sa *corev1.ServiceAccount, s validators.WebhookSettings) validators.WebIdentityCall {
	call := validators.WebIdentityCall{Region: s.DefaultRegion}
	annotation := sa.Annotations[validators.AnnotationSTSRegionalEndpoints]
	if s.RegionalSTS == "true" {
		annotation = "true"
	}
	call.STSRegionalEndpoints = validators.STSEndpointsMode("", false, annotation)
	return call
}

// podCall reads the call's context from the pod as pod-identity-webhook left it: the environment of
// the container that got the role (the first one with AWS_ROLE_ARN, else the first container).
func podCall(pod *corev1.Pod, sa *corev1.ServiceAccount, s validators.WebhookSettings) validators.WebIdentityCall {
	var env []corev1.EnvVar
	for i, c := range pod.Spec.Containers {
		if i == 0 {
			env = c.Env
		}
		if envOf(c.Env, envRoleARN) != nil {
			env = c.Env
			break
		}
	}
	call := validators.WebIdentityCall{}
	region, defaultRegion := envOf(env, envRegion), envOf(env, envDefaultRegion)
	switch {
	case region != nil && defaultRegion != nil && region.Value != defaultRegion.Value:
		// SDKs differ in which one they prefer: unknown.
	case region != nil && region.ValueFrom == nil:
		call.Region = region.Value
	case defaultRegion != nil && defaultRegion.ValueFrom == nil:
		call.Region = defaultRegion.Value
	}
	annotation := sa.Annotations[validators.AnnotationSTSRegionalEndpoints]
	if s.RegionalSTS == "true" {
		annotation = "true"
	}
	if e := envOf(env, envSTSRegionalEndpoints); e != nil && e.ValueFrom == nil {
		call.STSRegionalEndpoints = validators.STSEndpointsMode(e.Value, true, annotation)
	} else if e == nil {
		call.STSRegionalEndpoints = validators.STSEndpointsMode("", false, annotation)
	}
	if e := envOf(env, envRoleSessionName); e != nil && e.ValueFrom == nil {
		call.SessionName = e.Value
	}
	return call
}

func envOf(env []corev1.EnvVar, name string) *corev1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}
