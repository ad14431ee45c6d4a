package validators

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// staticCredentialEnv lists the variables that come before web identity in every AWS SDK's
// default credential chain (environment, then shared config/profile), so they shadow IRSA.
var staticCredentialEnv = []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"}

// CheckPod runs the pod checks IRSA040-045 and IRSA062 on a pod as pod-identity-webhook left it:
// at admission the validating webhook sees it after every mutating webhook; before admission the
// caller passes PredictInjection's pod. Findings are reported on obj (the pod, or the workload
// whose template it is). sa is the pod's ServiceAccount, nil when it is not known (the checks
// that need it are then skipped rather than guessed). Containers named in
// eks.amazonaws.com/skip-containers are skipped exactly as pod-identity-webhook skips them.
func CheckPod(obj Object, pod *corev1.Pod, sa *corev1.ServiceAccount, s WebhookSettings) []Finding {
	if pod == nil {
		return nil
	}
	skip, _ := SkipContainers(pod.Annotations)
	p := podView{pod: pod, obj: obj, skip: map[string]bool{}}
	for _, n := range skip {
		p.skip[n] = true
	}
	if sa != nil {
		p.saRole, p.saHasRole = sa.Annotations[AnnotationRoleARN]
		p.expectedARN, _, p.expectedKnown = s.InjectedRoleARN(p.saRole)
	}
	containers := p.containers()
	injectedAny := false
	for _, c := range containers {
		injectedAny = injectedAny || hasEnv(c, envRoleARN) || hasEnv(c, envWebIdentityTokenFile)
	}
	p.podIdentity = pod.Labels[podLabelPodIdentity] == podLabelPodIdentityMode
	for _, c := range containers {
		p.podIdentity = p.podIdentity || hasEnv(c, envContainerCredsFullURI)
	}
	var out []Finding
	if p.podIdentity && p.saRole != "" && !injectedAny {
		out = append(out, NewFinding(CheckRoleARNIgnored, obj.WithField(""),
			"the ServiceAccount's role-arn is ignored: the pod gets EKS Pod Identity credentials").
			WithFix("Nothing to fix for this pod. Remove eks.amazonaws.com/role-arn from the ServiceAccount once every workload uses its Pod Identity association."))
	}
	for _, c := range containers {
		out = append(out, p.checkContainer(c, injectedAny)...)
	}
	if p.usesIRSA() || injectedAny {
		if pod.Spec.HostNetwork {
			out = append(out, NewFinding(CheckPodHostNetwork, obj.WithField("spec.hostNetwork"),
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
	pod  *corev1.Pod
	obj  Object
	skip map[string]bool
	// saRole is the ServiceAccount's role-arn annotation verbatim; saHasRole whether it has one.
	saRole    string
	saHasRole bool
	// expectedARN is the AWS_ROLE_ARN pod-identity-webhook injects for saRole (composed where the
	// cluster composes bare names); expectedKnown is false when it cannot be told.
	expectedARN   string
	expectedKnown bool
	// podIdentity is set when the pod got EKS Pod Identity credentials, which take precedence.
	podIdentity bool
}

// usesIRSA reports whether pod-identity-webhook injects web identity for this pod's
// ServiceAccount: a non-empty role-arn ("" means no IRSA to it) and no Pod Identity.
func (p podView) usesIRSA() bool { return p.saRole != "" && !p.podIdentity }

// containers returns the init and regular containers pod-identity-webhook would mutate.
func (p podView) containers() []indexedContainer {
	var cs []indexedContainer
	for i := range p.pod.Spec.InitContainers {
		if c := &p.pod.Spec.InitContainers[i]; !p.skip[c.Name] {
			cs = append(cs, indexedContainer{c, "spec.initContainers[" + strconv.Itoa(i) + "]"})
		}
	}
	for i := range p.pod.Spec.Containers {
		if c := &p.pod.Spec.Containers[i]; !p.skip[c.Name] {
			cs = append(cs, indexedContainer{c, "spec.containers[" + strconv.Itoa(i) + "]"})
		}
	}
	return cs
}

// indexedContainer is a container with its field path in the pod spec.
type indexedContainer struct {
	*corev1.Container
	path string
}

func (p podView) checkContainer(c indexedContainer, injectedAny bool) []Finding {
	var out []Finding
	obj := p.obj.WithContainer(c.Name).WithField(c.path)
	name := Quote(c.Name, 30)
	roleEnv, hasRole := envValue(c, envRoleARN)
	webIdentity := hasRole || hasEnv(c, envWebIdentityTokenFile)

	if p.usesIRSA() && !hasEnv(c, envContainerCredsFullURI) {
		if missing := p.missingInjection(c); missing != "" {
			cause, fix := p.likelyCause(c, injectedAny)
			out = append(out, NewFinding(CheckPodNotInjected, obj,
				"container "+Quote(c.Name, 20)+" "+missing+": "+cause).WithFix(fix))
		}
	}
	if p.usesIRSA() || webIdentity {
		out = append(out, staticCredentials(c, obj, name)...)
	}
	if webIdentity && (hasEnv(c, envContainerCredsFullURI) || hasEnv(c, envContainerAuthToken)) {
		out = append(out, NewFinding(CheckPodBothIdentities, obj,
			"container "+name+" has IRSA and EKS Pod Identity variables; the SDK picks web identity first"))
	}
	if p.saHasRole && hasRole && roleEnv.ValueFrom == nil && p.expectedKnown && roleEnv.Value != p.expectedARN {
		out = append(out, NewFinding(CheckPodRoleARNDiffers, obj.WithField(c.path+".env["+envRoleARN+"]"),
			"container "+name+" AWS_ROLE_ARN "+Quote(roleEnv.Value, 40)+" is not the ServiceAccount's role-arn"))
	}
	return out
}

// staticCredentials reports IRSA041: variables or mounts earlier in the SDK's credential chain. A
// variable taken from a Secret or ConfigMap key marked optional is set only when that object and
// key exist, so it is reported as info, saying what it depends on.
func staticCredentials(c indexedContainer, obj Object, name string) []Finding {
	var out []Finding
	for _, key := range staticCredentialEnv {
		e, ok := envValue(c, key)
		if !ok {
			continue
		}
		field := obj.WithField(c.path + ".env[" + key + "]")
		if from, optional := optionalSource(e); optional {
			out = append(out, NewFinding(CheckPodStaticCredentials, field,
				"container "+name+" "+key+" from optional "+from+" shadows the role only if it exists").
				WithSeverity(SeverityInfo).
				WithFix("Make sure "+from+" does not exist where the pod should use its IAM role, or drop the optional "+key+" reference."))
			continue
		}
		out = append(out, NewFinding(CheckPodStaticCredentials, field,
			"container "+name+" sets "+key+", which the AWS SDK uses before the web identity token"))
	}
	for i, m := range c.VolumeMounts {
		if path := strings.TrimRight(m.MountPath, "/"); strings.HasSuffix(path, "/.aws") || strings.HasSuffix(path, "/.aws/credentials") {
			out = append(out, NewFinding(CheckPodStaticCredentials, obj.WithField(c.path+".volumeMounts["+strconv.Itoa(i)+"]"),
				"container "+name+" mounts "+Quote(m.MountPath, 40)+": a credentials file there shadows the web identity"))
		}
	}
	return out
}

// optionalSource names the Secret or ConfigMap key an env var is optionally taken from.
func optionalSource(e *corev1.EnvVar) (string, bool) {
	if e.ValueFrom == nil {
		return "", false
	}
	if r := e.ValueFrom.SecretKeyRef; r != nil && r.Optional != nil && *r.Optional {
		return "Secret " + Quote(r.Name, 30), true
	}
	if r := e.ValueFrom.ConfigMapKeyRef; r != nil && r.Optional != nil && *r.Optional {
		return "ConfigMap " + Quote(r.Name, 30), true
	}
	return "", false
}

// missingInjection says what pod-identity-webhook should have added to c but did not, ""
// when nothing is missing.
func (p podView) missingInjection(c indexedContainer) string {
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
func (p podView) tokenMounted(c indexedContainer, tokenFile *corev1.EnvVar) bool {
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
func (p podView) likelyCause(c indexedContainer, injectedAny bool) (cause, fix string) {
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
			"Check pod-identity-webhook is installed and healthy (failurePolicy Ignore hides its failures), then recreate the pod" +
				recreateCommand(p.pod) + ": pods created before the ServiceAccount was annotated, or before its cache saw it, keep no credentials." + nodeRole
	}
}

// recreateCommand is the kubectl command that recreates a running pod through its controller
// (" (kubectl rollout restart deployment/cart -n shop)"), "" for a pod not yet created. A
// Deployment's pod is owned by a ReplicaSet named <deployment>-<pod-template-hash>
// (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#pod-template-hash-label).
func recreateCommand(pod *corev1.Pod) string {
	if pod.Name == "" || pod.Namespace == "" {
		return ""
	}
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		switch hash := pod.Labels["pod-template-hash"]; {
		case o.Kind == "ReplicaSet" && hash != "" && strings.HasSuffix(o.Name, "-"+hash):
			return " (kubectl rollout restart deployment/" + strings.TrimSuffix(o.Name, "-"+hash) + " -n " + pod.Namespace + ")"
		case o.Kind == "StatefulSet" || o.Kind == "DaemonSet":
			return " (kubectl rollout restart " + strings.ToLower(o.Kind) + "/" + o.Name + " -n " + pod.Namespace + ")"
		}
		return " (kubectl delete pod " + pod.Name + " -n " + pod.Namespace + ": its " + o.Kind + " creates a new one)"
	}
	return ""
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

func envValue(c indexedContainer, name string) (*corev1.EnvVar, bool) {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i], true
		}
	}
	return nil, false
}

func hasEnv(c indexedContainer, name string) bool {
	_, ok := envValue(c, name)
	return ok
}
