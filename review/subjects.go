package review

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/validators"
)

// reviewServiceAccount is every finding about a ServiceAccount: its annotations (IRSA001-003),
// what AWS says about its role and the cluster's OIDC provider (IRSA010-035) when the role ARN
// is one, the trust of roles about to be created that names a near miss of it (IRSA080), and, once it is in a cluster, whether pod-identity-webhook can inject for it
// (IRSA050/051).
func (e *Engine) reviewServiceAccount(ctx context.Context, tr *Report, stage Stage, sa *corev1.ServiceAccount) []validators.Finding {
	tr.ServiceAccount = sa
	settings := e.webhookSettings(ctx)
	out := e.serviceAccountFindings(ctx, tr, sa, settings, serviceAccountCall(sa, settings))
	out = append(out, e.plannedTrustFindings(ctx, sa, settings)...)
	if stage != StageManifest && usesIRSA(sa) {
		target := validators.InjectionTarget{Object: validators.ServiceAccountObject(sa)}
		target.NamespaceLabels, target.NamespaceKnown = e.namespaceLabels(ctx, sa.Namespace)
		out = append(out, e.webhookFindings(ctx, tr, target)...)
	}
	return out
}

// serviceAccountFindings is what a ServiceAccount itself says and what AWS says about its role:
// the part of a ServiceAccount's review that its pods share. A ServiceAccount with an EKS Pod
// Identity association is reviewed for that instead: pod-identity-webhook then injects container
// credentials, which the SDKs use, and EKS documents that the role-arn annotation is ignored
// (https://docs.aws.amazon.com/eks/latest/userguide/pod-identities.html), so nothing about the
// annotation may deny it.
func (e *Engine) serviceAccountFindings(ctx context.Context, tr *Report, sa *corev1.ServiceAccount, settings validators.WebhookSettings, call validators.WebIdentityCall) []validators.Finding {
	out := validators.CheckServiceAccount(sa, settings)
	pi, ok := e.podIdentity(ctx, sa)
	if ok {
		tr.PodIdentity = &pi
	}
	if ok && pi.HasAssociation() {
		return append(ignoreIRSA(sa, out, pi), e.podIdentityFindings(sa, pi)...)
	} else if ok {
		out = append(out, validators.CheckPodIdentityAssociation(validators.ServiceAccountObject(sa), pi)...)
	}
	if !usesIRSA(sa) {
		return out
	}
	role := sa.Annotations[validators.AnnotationRoleARN]
	arn, _, known := settings.InjectedRoleARN(role)
	switch {
	case e.facts == nil || e.issuer == "":
	case !known:
		out = append(out, validators.NewFinding(validators.CheckCouldNotVerify, validators.ServiceAccountObject(sa),
			"could not verify role "+validators.Quote(role, 40)+": the account it is composed with is unknown").
			WithFix("Set the cluster's account and partition (--account, --partition, or cluster.account in the configuration)."))
	case validArn(arn):
		id := validators.Identity{
			Object: validators.ServiceAccountObject(sa), Namespace: sa.Namespace, ServiceAccount: sa.Name,
			RoleARN: arn, Audience: audienceOf(sa, settings), Issuer: e.issuer, Cluster: e.cluster.Name, Call: call,
		}
		id.Call.Now = e.clock()
		tr.Identity = &id
		out = append(out, e.awsFindings(ctx, tr, id)...)
	}
	return out
}

// reviewPod is every finding about a pod: its annotations (IRSA002-003), the pod checks
// (IRSA040-045, IRSA062) on the pod as pod-identity-webhook leaves it, its ServiceAccount's
// findings, and, once in a cluster, whether pod-identity-webhook can inject into it (IRSA050/051).
func (e *Engine) reviewPod(ctx context.Context, tr *Report, s Subject) []validators.Finding {
	pod := s.Pod
	obj := s.Object
	if obj.Kind == "" {
		obj = validators.PodObject(pod)
	}
	settings := e.webhookSettings(ctx)
	sa, saKnown := e.serviceAccount(ctx, pod.Namespace, ServiceAccountName(pod))
	var knownSA *corev1.ServiceAccount
	if saKnown {
		knownSA = sa
	}
	out := validators.CheckPodAnnotations(obj, pod.Annotations, &pod.Spec, knownSA, settings)
	checked := pod
	if s.Stage == StageManifest && saKnown {
		pi, _ := e.podIdentity(ctx, sa)
		checked, tr.Injection = validators.PredictInjection(pod, sa, settings, pi.HasAssociation())
	}
	if !saKnown {
		sa = nil
	}
	tr.ServiceAccount, tr.Pod = sa, checked
	pf := validators.CheckPod(obj, checked, sa, settings)
	out = append(out, pf...)
	if !saKnown || !usesIRSA(sa) {
		return out
	}
	if hasCheck(pf, validators.CheckRoleARNIgnored) {
		// EKS Pod Identity credentials: the role-arn does not matter to this pod, its association does.
		if pi, ok := e.podIdentity(ctx, sa); ok {
			tr.PodIdentity = &pi
			out = append(out, e.podIdentityFindings(sa, pi)...)
		}
		return out
	}
	out = append(out, e.serviceAccountFindings(ctx, tr, sa, settings, podCall(checked, sa, settings))...)
	if s.Stage != StageManifest {
		target := validators.InjectionTarget{Object: obj.WithContainer("").WithField(""), PodLabels: pod.Labels, IsPod: true}
		target.NamespaceLabels, target.NamespaceKnown = e.namespaceLabels(ctx, pod.Namespace)
		out = append(out, e.webhookFindings(ctx, tr, target)...)
	}
	return out
}

// podIdentity is the ServiceAccount's EKS Pod Identity association; ok is false when it cannot be
// asked (no cluster name configured, or no AWS).
func (e *Engine) podIdentity(ctx context.Context, sa *corev1.ServiceAccount) (validators.PodIdentityFacts, bool) {
	if e.facts == nil || e.cluster.Name == "" {
		return validators.PodIdentityFacts{}, false
	}
	return e.facts.PodIdentity(ctx, e.cluster.Name, sa.Namespace, sa.Name), true
}

// podIdentityFindings checks a ServiceAccount's association: its role exists (IRSA060), and
// trusts EKS Pod Identity (IRSA061).
func (e *Engine) podIdentityFindings(sa *corev1.ServiceAccount, pi validators.PodIdentityFacts) []validators.Finding {
	obj := validators.ServiceAccountObject(sa)
	out := validators.CheckPodIdentityAssociation(obj, pi)
	if pi.Role != nil {
		out = append(out, validators.CheckPodIdentityRoleTrust(obj, pi, sa.Namespace, sa.Name)...)
	}
	return out
}

// ignoreIRSA replaces what a ServiceAccount's IRSA annotations would mean by one note that they are
// ignored (IRSA062): the role-arn and audience findings go, and a mistyped IRSA key is at most
// info. Findings about values pod-identity-webhook also uses for Pod Identity credentials (token
// expiration, regional STS) stay.
func ignoreIRSA(sa *corev1.ServiceAccount, fs []validators.Finding, pi validators.PodIdentityFacts) []validators.Finding {
	var out []validators.Finding
	for _, f := range fs {
		switch {
		case f.Check == validators.CheckRoleARNInvalid,
			f.Object.Field == validators.AnnotationField(validators.AnnotationAudience):
			continue
		case f.Check == validators.CheckAnnotationKeyTypo:
			f = f.WithSeverity(validators.SeverityInfo)
		}
		out = append(out, f)
	}
	if _, has := sa.Annotations[validators.AnnotationRoleARN]; has {
		out = append(out, validators.NewFinding(validators.CheckRoleARNIgnored,
			validators.ServiceAccountObject(sa).WithField(validators.AnnotationField(validators.AnnotationRoleARN)),
			"role-arn is ignored: EKS Pod Identity association "+validators.Quote(pi.Association.ID, 24)+" gives its pods their role"))
	}
	return out
}

// ServiceAccountName is the ServiceAccount a pod (template) runs as: "default" when unset, as
// the API server's ServiceAccount admission plugin sets it before any webhook sees the pod.
func ServiceAccountName(pod *corev1.Pod) string {
	switch {
	case pod.Spec.ServiceAccountName != "":
		return pod.Spec.ServiceAccountName
	case pod.Spec.DeprecatedServiceAccount != "":
		return pod.Spec.DeprecatedServiceAccount
	}
	return "default"
}

// usesIRSA reports whether pod-identity-webhook injects web identity for the ServiceAccount:
// it has a role-arn annotation that is not empty ("" means no IRSA to it).
func usesIRSA(sa *corev1.ServiceAccount) bool {
	return sa != nil && sa.Annotations[validators.AnnotationRoleARN] != ""
}

// audienceOf is the token audience pod-identity-webhook gives the ServiceAccount's pods: its
// eks.amazonaws.com/audience annotation, else the webhook's --token-audience.
func audienceOf(sa *corev1.ServiceAccount, s validators.WebhookSettings) string {
	if a, ok := sa.Annotations[validators.AnnotationAudience]; ok {
		return a
	}
	return s.Audience
}

func validArn(arn string) bool {
	_, err := validators.ParseRoleARN(arn)
	return err == nil
}

func hasCheck(fs []validators.Finding, id validators.CheckID) bool {
	for _, f := range fs {
		if f.Check == id {
			return true
		}
	}
	return false
}

// webhookSettings is how the cluster's pod-identity-webhook runs, with the account a bare role
// name is composed with when it composes them and the configuration does not say.
func (e *Engine) webhookSettings(ctx context.Context) validators.WebhookSettings {
	p := e.cluster.PodIdentityWebhook
	s := validators.WebhookSettings{
		Audience: p.Audience, ComposeRoleARN: p.ComposeRoleARN, Partition: e.cluster.Partition, Account: e.cluster.Account,
		RegionalSTS: p.RegionalSTS, DefaultRegion: p.DefaultRegion, TokenExpiration: p.TokenExpiration,
	}
	if s.ComposeRoleARN && (s.Partition == "" || s.Account == "") && e.facts != nil {
		if partition, account, err := e.facts.CallerAccount(ctx); err == nil {
			if s.Partition == "" {
				s.Partition = partition
			}
			if s.Account == "" {
				s.Account = account
			}
		}
	}
	return s
}

func (e *Engine) serviceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, bool) {
	if e.state == nil {
		return nil, false
	}
	return e.state.ServiceAccount(ctx, namespace, name)
}

func (e *Engine) namespaceLabels(ctx context.Context, namespace string) (map[string]string, bool) {
	if e.state == nil {
		return nil, false
	}
	return e.state.NamespaceLabels(ctx, namespace)
}

// webhookFindings runs IRSA050/051 when the cluster's webhook configurations are known; irsa-guard
// never guesses that pod-identity-webhook is missing.
func (e *Engine) webhookFindings(ctx context.Context, tr *Report, target validators.InjectionTarget) []validators.Finding {
	if e.state == nil {
		return nil
	}
	names := validators.PodIdentityWebhookNames{Configuration: e.cluster.PodIdentityWebhook.Configuration, Webhook: e.cluster.PodIdentityWebhook.Name}
	if a, ok := e.state.(AnalysedWebhooks); ok {
		if p, ok := a.PodIdentityWebhooks(ctx); ok && p.Names() == names {
			tr.WebhooksChecked = true
			return p.Check(target)
		}
	}
	configs, ok := e.state.MutatingWebhookConfigurations(ctx)
	if !ok {
		return nil
	}
	tr.WebhooksChecked = true
	return validators.CheckPodIdentityWebhook(configs, names, target)
}
