package validators

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// What the pod identity webhook injects
// (https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/pkg/handler/handler.go) and the variables of EKS Pod Identity. Kept unexported: they are
// facts about another program, not an API of irsa-guard.
//
//nolint:gosec // G101: environment variable names, not credentials
const (
	envRoleARN               = "AWS_ROLE_ARN"
	envWebIdentityTokenFile  = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envContainerCredsFullURI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envContainerAuthToken    = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	irsaTokenVolume          = "aws-iam-token"
	podAnnoRoleARN           = "eks.amazonaws.com/role-arn"
	podAnnoSkipContainers    = "eks.amazonaws.com/skip-containers"
	podLabelSkipPIW          = "eks.amazonaws.com/skip-pod-identity-webhook"
	podLabelPodIdentity      = "eks.amazonaws.com/pod-identity"
)

// staticCredentialEnv lists the variables that come before web identity in every AWS SDK's
// default credential chain (environment, then shared config/profile), so they shadow IRSA.
var staticCredentialEnv = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"}

// CheckPod runs the pod checks IRSA040-045 on a pod as the validating webhook sees it: after
// every mutating webhook, so what pod-identity-webhook injected (or failed to) is visible.
// sa is the pod's ServiceAccount, nil when it could not be read (the IRSA-expected checks are
// then skipped rather than guessed). Containers named in eks.amazonaws.com/skip-containers
// are skipped exactly as pod-identity-webhook skips them.
func CheckPod(pod *corev1.Pod, sa *corev1.ServiceAccount) []Finding {
	if pod == nil {
		return nil
	}
	p := podView{pod: pod, obj: PodObject(pod), skip: skippedContainers(pod)}
	if sa != nil {
		p.saRoleARN = strings.TrimSpace(sa.Annotations[podAnnoRoleARN])
	}
	var out []Finding
	containers := p.containers()
	injectedAny := false
	for _, c := range containers {
		if hasEnv(c, envRoleARN) || hasEnv(c, envWebIdentityTokenFile) {
			injectedAny = true
		}
	}
	podIdentity := pod.Labels[podLabelPodIdentity] == "enabled"
	for _, c := range containers {
		out = append(out, p.checkContainer(c, injectedAny, podIdentity)...)
	}
	if p.saRoleARN != "" || injectedAny {
		if pod.Spec.HostNetwork {
			out = append(out, NewFinding(CheckPodHostNetwork, p.obj,
				"hostNetwork pod can reach IMDS: if web identity fails it silently uses the node role"))
		}
		out = append(out, checkTokenReadable(p, containers)...)
	}
	return out
}

// PodObject names a pod for findings. A pod being created may only have generateName.
func PodObject(pod *corev1.Pod) Object {
	name := pod.Name
	if name == "" && pod.GenerateName != "" {
		name = pod.GenerateName + "*"
	}
	return Object{Kind: "Pod", Namespace: pod.Namespace, Name: name}
}

type podView struct {
	pod       *corev1.Pod
	obj       Object
	skip      map[string]bool
	saRoleARN string
}

// containers returns the init and regular containers pod-identity-webhook would mutate.
func (p podView) containers() []*corev1.Container {
	var cs []*corev1.Container
	for i := range p.pod.Spec.InitContainers {
		if c := &p.pod.Spec.InitContainers[i]; !p.skip[c.Name] {
			cs = append(cs, c)
		}
	}
	for i := range p.pod.Spec.Containers {
		if c := &p.pod.Spec.Containers[i]; !p.skip[c.Name] {
			cs = append(cs, c)
		}
	}
	return cs
}

func (p podView) checkContainer(c *corev1.Container, injectedAny, podIdentity bool) []Finding {
	var out []Finding
	obj := p.obj
	obj.Container = c.Name
	name := Quote(c.Name, 30)
	roleEnv, hasRole := envValue(c, envRoleARN)
	webIdentity := hasRole || hasEnv(c, envWebIdentityTokenFile)
	irsa := p.saRoleARN != "" || webIdentity

	if p.saRoleARN != "" && !podIdentity && !hasEnv(c, envContainerCredsFullURI) {
		if missing := p.missingInjection(c); missing != "" {
			cause, fix := p.likelyCause(c, injectedAny)
			out = append(out, NewFinding(CheckPodNotInjected, obj,
				"container "+Quote(c.Name, 20)+" "+missing+": "+cause).WithFix(fix))
		}
	}
	if irsa {
		for _, key := range staticCredentialEnv {
			if hasEnv(c, key) {
				out = append(out, NewFinding(CheckPodStaticCredentials, obj,
					"container "+name+" sets "+key+", which the AWS SDK uses before the web identity token"))
			}
		}
		for _, m := range c.VolumeMounts {
			if path := strings.TrimRight(m.MountPath, "/"); strings.HasSuffix(path, "/.aws") || strings.HasSuffix(path, "/.aws/credentials") {
				out = append(out, NewFinding(CheckPodStaticCredentials, obj,
					"container "+name+" mounts "+Quote(m.MountPath, 40)+": a credentials file there shadows the web identity"))
			}
		}
	}
	if webIdentity && (hasEnv(c, envContainerCredsFullURI) || hasEnv(c, envContainerAuthToken)) {
		out = append(out, NewFinding(CheckPodBothIdentities, obj,
			"container "+name+" has IRSA and EKS Pod Identity variables; the SDK picks web identity first"))
	}
	if p.saRoleARN != "" && hasRole && roleEnv != nil && roleEnv.ValueFrom == nil && roleEnv.Value != p.saRoleARN {
		out = append(out, NewFinding(CheckPodRoleARNDiffers, obj,
			"container "+name+" AWS_ROLE_ARN "+Quote(roleEnv.Value, 40)+" is not the ServiceAccount's role-arn"))
	}
	return out
}

// missingInjection says what pod-identity-webhook should have added to c but did not, ""
// when nothing is missing.
func (p podView) missingInjection(c *corev1.Container) string {
	tokenFile, hasTokenFile := envValue(c, envWebIdentityTokenFile)
	hasRole, mounted := hasEnv(c, envRoleARN), p.tokenMounted(c, tokenFile)
	if !hasRole && !hasTokenFile && !mounted {
		return "got no IRSA env or token"
	}
	var missing []string
	if !hasRole {
		missing = append(missing, envRoleARN)
	}
	if !hasTokenFile {
		missing = append(missing, "token file env")
	}
	if !mounted {
		missing = append(missing, "token mount")
	}
	if len(missing) == 0 {
		return ""
	}
	return "lacks " + strings.Join(missing, ", ")
}

// tokenMounted reports whether c mounts the web identity token: the aws-iam-token volume, or a
// projected serviceAccountToken volume under which AWS_WEB_IDENTITY_TOKEN_FILE points.
func (p podView) tokenMounted(c *corev1.Container, tokenFile *corev1.EnvVar) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == irsaTokenVolume {
			return true
		}
		if tokenFile != nil && isTokenVolume(p.volume(m.Name)) &&
			strings.HasPrefix(tokenFile.Value, strings.TrimRight(m.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

// likelyCause says why pod-identity-webhook most probably did not inject into c, judged from
// what the pod shows, as a short cause for the message and a longer fix.
func (p podView) likelyCause(c *corev1.Container, injectedAny bool) (cause, fix string) {
	const nodeRole = " Until then the container silently uses the node's IAM role."
	switch {
	case p.pod.Labels[podLabelSkipPIW] == "true":
		return "pod opted out of pod-identity-webhook",
			"Remove the label " + podLabelSkipPIW + " from the pod template, or drop the role-arn annotation." + nodeRole
	case hasEnv(c, envRoleARN) || hasEnv(c, envWebIdentityTokenFile):
		return "hand-set AWS_* env blocked injection",
			"pod-identity-webhook adds nothing when AWS_ROLE_ARN or AWS_WEB_IDENTITY_TOKEN_FILE is already set: remove them from the container." + nodeRole
	case injectedAny:
		return "other containers were injected",
			"The container was probably added after pod-identity-webhook ran (by a later webhook), or is listed in skip-containers by mistake." + nodeRole
	default:
		return "pod-identity-webhook did not mutate it",
			"Check pod-identity-webhook is installed and healthy (failurePolicy Ignore hides its failures), then recreate the pod: " +
				"pods created before the ServiceAccount was annotated, or before its cache saw it, keep no credentials." + nodeRole
	}
}

func (p podView) volume(name string) *corev1.Volume {
	for i := range p.pod.Spec.Volumes {
		if p.pod.Spec.Volumes[i].Name == name {
			return &p.pod.Spec.Volumes[i]
		}
	}
	return nil
}

func isTokenVolume(v *corev1.Volume) bool {
	if v == nil || v.Projected == nil {
		return false
	}
	for _, s := range v.Projected.Sources {
		if s.ServiceAccountToken != nil {
			return true
		}
	}
	return false
}

// skippedContainers parses eks.amazonaws.com/skip-containers the way pod-identity-webhook
// does (comma-separated names, spaces trimmed). Invalid names are IRSA003's business.
func skippedContainers(pod *corev1.Pod) map[string]bool {
	skip := map[string]bool{}
	for _, n := range strings.Split(pod.Annotations[podAnnoSkipContainers], ",") {
		if n = strings.TrimSpace(n); n != "" {
			skip[n] = true
		}
	}
	return skip
}

func envValue(c *corev1.Container, name string) (*corev1.EnvVar, bool) {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i], true
		}
	}
	return nil, false
}

func hasEnv(c *corev1.Container, name string) bool {
	_, ok := envValue(c, name)
	return ok
}
