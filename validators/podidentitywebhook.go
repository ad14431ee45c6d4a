package validators

import (
	"encoding/pem"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// PodIdentityWebhookNames says how to recognise "the" pod identity webhook among the cluster's
// MutatingWebhookConfigurations: by configuration name and/or by webhook name. Either match is
// enough; an empty field never matches.
type PodIdentityWebhookNames struct {
	Configuration string // EKS and the upstream manifests use "pod-identity-webhook"
	Webhook       string // EKS uses "iam-for-pods.amazonaws.com"
}

// The names EKS and amazon-eks-pod-identity-webhook's deploy/ manifests use.
const (
	DefaultPodIdentityWebhookConfiguration = "pod-identity-webhook"
	DefaultPodIdentityWebhookName          = "iam-for-pods.amazonaws.com"
)

// InjectionTarget is the object pod-identity-webhook would have to mutate.
type InjectionTarget struct {
	Object Object // what findings are reported on (a Pod or a ServiceAccount)
	// NamespaceLabels are the labels of the target's namespace; the namespaceSelector is
	// evaluated only when NamespaceKnown.
	NamespaceLabels map[string]string
	NamespaceKnown  bool
	// PodLabels are the pod's labels; the objectSelector applies to pods, so it is evaluated only
	// when IsPod (a ServiceAccount is checked for every pod it may get).
	PodLabels map[string]string
	IsPod     bool
}

// CheckPodIdentityWebhook predicts whether pod-identity-webhook can inject into target
// (IRSA050 none installed, IRSA051 installed but cannot). Callers only ask for objects that use
// IRSA: a cluster without the webhook is fine for everyone else. configs come from a watch.
func CheckPodIdentityWebhook(configs []admissionregistrationv1.MutatingWebhookConfiguration, names PodIdentityWebhookNames, target InjectionTarget) []Finding {
	var candidates []*admissionregistrationv1.MutatingWebhook
	for i := range configs {
		cfg := &configs[i]
		byConfig := names.Configuration != "" && cfg.Name == names.Configuration
		for j := range cfg.Webhooks {
			if byConfig || (names.Webhook != "" && cfg.Webhooks[j].Name == names.Webhook) {
				candidates = append(candidates, &cfg.Webhooks[j])
			}
		}
	}
	if len(candidates) == 0 {
		return []Finding{NewFinding(CheckWebhookMissing, target.Object,
			"no pod-identity-webhook MutatingWebhookConfiguration: pods get no IRSA credentials")}
	}
	var first *Finding
	for _, wh := range candidates {
		f, ok := cannotInject(wh, target)
		if !ok {
			return nil // one webhook that can inject is enough
		}
		if first == nil || f.Severity.Rank() > first.Severity.Rank() {
			first = &f
		}
	}
	return []Finding{*first}
}

// cannotInject returns the first reason wh cannot inject into target, ok=false if it can.
func cannotInject(wh *admissionregistrationv1.MutatingWebhook, target InjectionTarget) (Finding, bool) {
	name := Quote(wh.Name, 40)
	fail := func(msg, fix string) (Finding, bool) {
		return NewFinding(CheckWebhookCannotInject, target.Object, "webhook "+name+" "+msg).WithFix(fix), true
	}
	if !coversPodCreate(wh.Rules) {
		return fail("has no rule for pods CREATE",
			"Add a rule {apiGroups: [\"\"], apiVersions: [\"v1\"], operations: [\"CREATE\"], resources: [\"pods\"]} to the pod-identity-webhook configuration.")
	}
	if target.NamespaceKnown {
		if matched, err := selectorMatches(wh.NamespaceSelector, target.NamespaceLabels); err != nil {
			return fail("has an invalid namespaceSelector", "Fix the namespaceSelector of the pod-identity-webhook configuration: "+err.Error())
		} else if !matched {
			return fail("namespaceSelector skips this namespace",
				"Change the namespace's labels or the webhook's namespaceSelector so this namespace is included.")
		}
	}
	if target.IsPod {
		if matched, err := selectorMatches(wh.ObjectSelector, target.PodLabels); err != nil {
			return fail("has an invalid objectSelector", "Fix the objectSelector of the pod-identity-webhook configuration: "+err.Error())
		} else if !matched {
			return fail("objectSelector skips this pod",
				"Remove the pod label that opts out (e.g. eks.amazonaws.com/skip-pod-identity-webhook) or widen the objectSelector.")
		}
	}
	cc := wh.ClientConfig
	switch {
	case len(cc.CABundle) > 0:
		if block, _ := pem.Decode(cc.CABundle); block == nil {
			return fail("has a caBundle that is not PEM: the API server cannot call it",
				"Set clientConfig.caBundle to the base64 of the PEM CA that signed the webhook's serving certificate.")
		}
	case cc.Service != nil:
		return fail("calls a Service with no caBundle: TLS to it fails",
			"Set clientConfig.caBundle to the base64 of the PEM CA that signed the webhook's serving certificate (pod-identity-webhook #135).")
	case cc.URL != nil:
		f, _ := fail("calls a URL with no caBundle: fails unless its cert chains to system roots",
			"Set clientConfig.caBundle unless the webhook's certificate is signed by a CA the API server's host trusts.")
		return f.WithSeverity(SeverityWarning), true
	}
	return Finding{}, false
}

// coversPodCreate reports whether some rule sends core/v1 pods CREATE to the webhook, with the
// wildcards the API server accepts ("*" for groups, versions, operations; "*" or "*/*" resources).
func coversPodCreate(rules []admissionregistrationv1.RuleWithOperations) bool {
	for _, r := range rules {
		if !slices.Contains(r.APIGroups, "") && !slices.Contains(r.APIGroups, "*") {
			continue
		}
		if !slices.Contains(r.APIVersions, "v1") && !slices.Contains(r.APIVersions, "*") {
			continue
		}
		if !slices.Contains(r.Operations, admissionregistrationv1.Create) && !slices.Contains(r.Operations, admissionregistrationv1.OperationAll) {
			continue
		}
		if !slices.Contains(r.Resources, "pods") && !slices.Contains(r.Resources, "*") && !slices.Contains(r.Resources, "*/*") {
			continue
		}
		if r.Scope != nil && *r.Scope == admissionregistrationv1.ClusterScope {
			continue
		}
		return true
	}
	return false
}

// selectorMatches applies a webhook selector; nil matches everything, as the API server does.
func selectorMatches(sel *metav1.LabelSelector, set map[string]string) (bool, error) {
	if sel == nil {
		return true, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(set)), nil
}
