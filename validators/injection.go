package validators

import (
	"encoding/csv"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What amazon-eks-pod-identity-webhook injects and the names it uses, from its source at 3bf80a34:
// https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/pkg/handler/handler.go (the
// web identity volume aws-iam-token with file "token") and main.go (the mount paths, the EKS Pod
// Identity volume and the container credentials URI). Kept unexported: they are facts about
// another program, not an API of irsa-guard.
//
//nolint:gosec // G101: environment variable names and paths, not credentials
const (
	envRoleARN               = "AWS_ROLE_ARN"
	envWebIdentityTokenFile  = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envRoleSessionName       = "AWS_ROLE_SESSION_NAME"
	envContainerCredsFullURI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envContainerAuthToken    = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	envRegion                = "AWS_REGION"
	envDefaultRegion         = "AWS_DEFAULT_REGION"
	envSTSRegionalEndpoints  = "AWS_STS_REGIONAL_ENDPOINTS"

	irsaTokenVolume         = "aws-iam-token"
	irsaTokenPath           = "token"
	irsaMountPath           = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	podIdentityVolume       = "eks-pod-identity-token"
	podIdentityTokenPath    = "eks-pod-identity-token"
	podIdentityMountPath    = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	podIdentityFullURI      = "http://169.254.170.23/v1/credentials"
	podIdentityAudience     = "pods.eks.amazonaws.com"
	podLabelSkipPIW         = "eks.amazonaws.com/skip-pod-identity-webhook"
	podLabelPodIdentity     = "eks.amazonaws.com/pod-identity"
	podLabelPodIdentityMode = "enabled"
)

// WebhookSettings is how the cluster's pod-identity-webhook runs: its flags decide what it
// injects. The zero value is its defaults with nothing known about composing role names.
type WebhookSettings struct {
	Audience        string // --token-audience; "" means DefaultAudience
	ComposeRoleARN  bool   // --compose-role-arn
	Partition       string // what it composes bare names with; "" when unknown
	Account         string
	RegionalSTS     string // --sts-regional-endpoint: "true", "false", or "" when unknown
	DefaultRegion   string // --aws-default-region
	TokenExpiration int64  // --token-expiration; 0 means DefaultTokenExpirationSeconds
}

func (s WebhookSettings) audience() string {
	if s.Audience == "" {
		return DefaultAudience
	}
	return s.Audience
}

// TokenAudience is the audience of the token pod-identity-webhook projects for the
// ServiceAccount's pods: its eks.amazonaws.com/audience, else --token-audience.
func (s WebhookSettings) TokenAudience(sa *corev1.ServiceAccount) string {
	if a, ok := sa.Annotations[AnnotationAudience]; ok {
		return a
	}
	return s.audience()
}

func (s WebhookSettings) tokenExpiration() int64 {
	if s.TokenExpiration <= 0 {
		return DefaultTokenExpirationSeconds
	}
	return s.TokenExpiration
}

// ServiceAccountTokenExpiration is the token lifetime pod-identity-webhook uses for the
// ServiceAccount's pods when a pod does not set its own: the ServiceAccount's token-expiration
// (at least 600) when it parses, else --token-expiration (cache.go addSA).
func (s WebhookSettings) ServiceAccountTokenExpiration(sa *corev1.ServiceAccount) int64 {
	if sa != nil {
		if n, err := strconv.ParseInt(sa.Annotations[AnnotationTokenExpiration], 10, 64); err == nil {
			return max(n, MinTokenExpirationSeconds)
		}
	}
	return s.tokenExpiration()
}

// InjectedRoleARN is the AWS_ROLE_ARN pod-identity-webhook injects for a role-arn annotation value:
// the value verbatim (it does not trim), or with --compose-role-arn a value without "arn:" composed
// to arn:<partition>:iam::<account>:role/<value> (cache.go addSA). known is false when the value is
// composed but the partition or account is not known.
func (s WebhookSettings) InjectedRoleARN(annotation string) (arn string, composed, known bool) {
	if s.ComposeRoleARN && !strings.Contains(annotation, "arn:") {
		if s.Partition == "" || s.Account == "" {
			return "", true, false
		}
		return "arn:" + s.Partition + ":iam::" + s.Account + ":role/" + annotation, true, true
	}
	return annotation, false, true
}

// SkipContainers parses eks.amazonaws.com/skip-containers exactly as pod-identity-webhook does
// (handler.go getContainersToSkip): the first record of the value read by encoding/csv with its
// defaults, so quoted fields are unquoted, a space after a comma is part of the next name, and a
// value that does not parse skips nothing (parseErr says why).
func SkipContainers(annotations map[string]string) (names []string, parseErr error) {
	value, ok := annotations[AnnotationSkipContainers]
	if !ok {
		return nil, nil
	}
	record, err := csv.NewReader(strings.NewReader(value)).Read()
	if err != nil {
		return nil, err
	}
	return record, nil
}

// Injection is what pod-identity-webhook does to one pod.
type Injection int

// The three outcomes.
const (
	InjectNothing Injection = iota
	InjectWebIdentity
	InjectPodIdentity
)

// PredictInjection returns the pod as pod-identity-webhook would mutate it, and how: EKS Pod
// Identity container credentials when the ServiceAccount has an association (they take
// precedence), web identity when its role-arn annotation is not empty, else nothing. It models
// the webhook's code at 3bf80a34 (handler.go buildPodPatchConfig, getPodSpecPatch,
// addEnvToContainer), not assumptions about it; the end-to-end suite compares it with the real
// webhook. A pod labelled eks.amazonaws.com/skip-pod-identity-webhook is not sent to the webhook by
// the objectSelector of its upstream deployment. pod is not modified.
func PredictInjection(pod *corev1.Pod, sa *corev1.ServiceAccount, s WebhookSettings, association bool) (*corev1.Pod, Injection) {
	if pod == nil || pod.Labels[podLabelSkipPIW] == "true" {
		return pod, InjectNothing
	}
	var saAnnotations map[string]string
	if sa != nil {
		saAnnotations = sa.Annotations
	}
	role, hasRole := saAnnotations[AnnotationRoleARN]
	var roleARN string
	if hasRole {
		roleARN, _, _ = s.InjectedRoleARN(role)
		if roleARN == "" && role != "" {
			roleARN = role // composed with an unknown account: injected, value unknown
		}
	}
	mode := InjectNothing
	switch {
	case association:
		mode = InjectPodIdentity
	case roleARN != "":
		mode = InjectWebIdentity
	default:
		return pod, InjectNothing
	}
	out := pod.DeepCopy()
	expiration := s.ServiceAccountTokenExpiration(sa)
	regional := s.RegionalSTS == "true"
	if v, ok := saAnnotations[AnnotationSTSRegionalEndpoints]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			regional = b
		}
	}
	if v, ok := out.Annotations[AnnotationTokenExpiration]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			expiration = max(n, MinTokenExpirationSeconds)
		}
	}
	volume, mountPath, tokenPath, audience := irsaTokenVolume, irsaMountPath, irsaTokenPath, s.audience()
	if v, ok := saAnnotations[AnnotationAudience]; ok && mode == InjectWebIdentity {
		audience = v
	}
	if mode == InjectPodIdentity {
		volume, mountPath, tokenPath, audience = podIdentityVolume, podIdentityMountPath, podIdentityTokenPath, podIdentityAudience
		if out.Labels == nil {
			out.Labels = map[string]string{}
		}
		out.Labels[podLabelPodIdentity] = podLabelPodIdentityMode
	}
	tokenFile := path.Join(mountPath, tokenPath)
	if out.Spec.NodeSelector["kubernetes.io/os"] == "windows" || out.Spec.NodeSelector["beta.kubernetes.io/os"] == "windows" {
		tokenFile = "C:" + strings.ReplaceAll(tokenFile, "/", `\`)
	}
	skip, _ := SkipContainers(out.Annotations)
	inject := func(c *corev1.Container) {
		for _, n := range skip {
			if n == c.Name {
				return
			}
		}
		have := map[string]bool{}
		for _, e := range c.Env {
			have[e.Name] = true
		}
		credentialsSet := (mode == InjectWebIdentity && (have[envRoleARN] || have[envWebIdentityTokenFile])) ||
			(mode == InjectPodIdentity && (have[envContainerCredsFullURI] || have[envContainerAuthToken]))
		if credentialsSet && (have[envRegion] || have[envDefaultRegion]) && have[envSTSRegionalEndpoints] {
			return // "has necessary env variables already present": not even the volume is mounted
		}
		if regional && !have[envSTSRegionalEndpoints] {
			c.Env = append(c.Env, corev1.EnvVar{Name: envSTSRegionalEndpoints, Value: "regional"})
		}
		if s.DefaultRegion != "" && !have[envRegion] && !have[envDefaultRegion] {
			c.Env = append(c.Env, corev1.EnvVar{Name: envDefaultRegion, Value: s.DefaultRegion}, corev1.EnvVar{Name: envRegion, Value: s.DefaultRegion})
		}
		switch mode {
		case InjectPodIdentity:
			if !have[envContainerCredsFullURI] && !have[envContainerAuthToken] {
				c.Env = append(c.Env, corev1.EnvVar{Name: envContainerCredsFullURI, Value: podIdentityFullURI},
					corev1.EnvVar{Name: envContainerAuthToken, Value: tokenFile})
			}
		case InjectWebIdentity:
			if !have[envRoleARN] && !have[envWebIdentityTokenFile] {
				c.Env = append(c.Env, corev1.EnvVar{Name: envRoleARN, Value: roleARN},
					corev1.EnvVar{Name: envWebIdentityTokenFile, Value: tokenFile})
			}
		}
		for _, m := range c.VolumeMounts {
			if m.Name == volume {
				return
			}
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volume, ReadOnly: true, MountPath: mountPath})
	}
	for i := range out.Spec.InitContainers {
		inject(&out.Spec.InitContainers[i])
	}
	for i := range out.Spec.Containers {
		inject(&out.Spec.Containers[i])
	}
	for _, v := range out.Spec.Volumes {
		if v.Name == volume {
			return out, mode
		}
	}
	out.Spec.Volumes = append([]corev1.Volume{{Name: volume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: audience, ExpirationSeconds: &expiration, Path: tokenPath,
		}}},
	}}}}, out.Spec.Volumes...)
	return out, mode
}
