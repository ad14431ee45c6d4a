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
	return AnalysePodIdentityWebhooks(configs, names).Check(target)
}

// PodIdentityWebhooks is the cluster's pod-identity-webhook configuration, analysed: the
// webhooks that are pod-identity-webhook and, for each, what does not depend on the object being
// admitted (its rules, its selectors parsed, its clientConfig). It depends only on the
// MutatingWebhookConfigurations, so a watcher computes it when they change and every review
// reuses it (docs/performance.md). It is immutable and safe for concurrent use.
type PodIdentityWebhooks struct {
	names    PodIdentityWebhookNames
	webhooks []analysedWebhook
}

// analysedWebhook is one candidate webhook with its target-independent verdicts.
type analysedWebhook struct {
	name              string // quoted for messages
	coversPodCreate   bool
	namespaceSelector labels.Selector // nil: matches everything
	namespaceErr      error
	objectSelector    labels.Selector
	objectErr         error
	// client is why the API server cannot call it ("" when it can), with its fix and severity.
	client, clientFix string
	clientSeverity    Severity
}

// AnalysePodIdentityWebhooks finds pod-identity-webhook among configs by names and analyses it.
// The result keeps nothing of configs.
func AnalysePodIdentityWebhooks(configs []admissionregistrationv1.MutatingWebhookConfiguration, names PodIdentityWebhookNames) *PodIdentityWebhooks {
	p := &PodIdentityWebhooks{names: names}
	for i := range configs {
		cfg := &configs[i]
		byConfig := names.Configuration != "" && cfg.Name == names.Configuration
		for j := range cfg.Webhooks {
			if byConfig || (names.Webhook != "" && cfg.Webhooks[j].Name == names.Webhook) {
				p.webhooks = append(p.webhooks, analyseWebhook(&cfg.Webhooks[j]))
			}
		}
	}
	return p
}

// Names are the names the analysis recognised pod-identity-webhook by.
func (p *PodIdentityWebhooks) Names() PodIdentityWebhookNames { return p.names }

// Check is CheckPodIdentityWebhook for target on the analysed configuration.
func (p *PodIdentityWebhooks) Check(target InjectionTarget) []Finding {
	if len(p.webhooks) == 0 {
		return []Finding{NewFinding(CheckWebhookMissing, target.Object,
			"no pod-identity-webhook MutatingWebhookConfiguration: pods get no IRSA credentials")}
	}
	var first *Finding
	for i := range p.webhooks {
		f, ok := p.webhooks[i].cannotInject(target)
		if !ok {
			return nil // one webhook that can inject is enough
		}
		if first == nil || f.Severity.Rank() > first.Severity.Rank() {
			first = &f
		}
	}
	return []Finding{*first}
}

func analyseWebhook(wh *admissionregistrationv1.MutatingWebhook) analysedWebhook {
	a := analysedWebhook{name: Quote(wh.Name, 40), coversPodCreate: coversPodCreate(wh.Rules)}
	a.namespaceSelector, a.namespaceErr = parseSelector(wh.NamespaceSelector)
	a.objectSelector, a.objectErr = parseSelector(wh.ObjectSelector)
	cc := wh.ClientConfig
	switch {
	case len(cc.CABundle) > 0:
		if block, _ := pem.Decode(cc.CABundle); block == nil {
			a.client, a.clientFix = "has a caBundle that is not PEM: the API server cannot call it",
				"Set clientConfig.caBundle to the base64 of the PEM CA that signed the webhook's serving certificate."
		}
	case cc.Service != nil:
		a.client, a.clientFix = "calls a Service with no caBundle: TLS to it fails",
			"Set clientConfig.caBundle to the base64 of the PEM CA that signed the webhook's serving certificate (pod-identity-webhook #135)."
	case cc.URL != nil:
		a.client, a.clientFix, a.clientSeverity = "calls a URL with no caBundle: fails unless its cert chains to system roots",
			"Set clientConfig.caBundle unless the webhook's certificate is signed by a CA the API server's host trusts.", SeverityWarning
	}
	return a
}

// cannotInject returns the first reason the webhook cannot inject into target, ok=false if it can.
func (a *analysedWebhook) cannotInject(target InjectionTarget) (Finding, bool) {
	fail := func(msg, fix string) (Finding, bool) {
		return NewFinding(CheckWebhookCannotInject, target.Object, "webhook "+a.name+" "+msg).WithFix(fix), true
	}
	if !a.coversPodCreate {
		return fail("has no rule for pods CREATE",
			"Add a rule {apiGroups: [\"\"], apiVersions: [\"v1\"], operations: [\"CREATE\"], resources: [\"pods\"]} to the pod-identity-webhook configuration.")
	}
	if target.NamespaceKnown {
		if a.namespaceErr != nil {
			return fail("has an invalid namespaceSelector", "Fix the namespaceSelector of the pod-identity-webhook configuration: "+a.namespaceErr.Error())
		} else if !selectorMatches(a.namespaceSelector, target.NamespaceLabels) {
			return fail("namespaceSelector skips this namespace",
				"Change the namespace's labels or the webhook's namespaceSelector so this namespace is included.")
		}
	}
	if target.IsPod {
		if a.objectErr != nil {
			return fail("has an invalid objectSelector", "Fix the objectSelector of the pod-identity-webhook configuration: "+a.objectErr.Error())
		} else if !selectorMatches(a.objectSelector, target.PodLabels) {
			return fail("objectSelector skips this pod",
				"Remove the pod label that opts out (e.g. eks.amazonaws.com/skip-pod-identity-webhook) or widen the objectSelector.")
		}
	}
	if a.client == "" {
		return Finding{}, false
	}
	f, _ := fail(a.client, a.clientFix)
	if a.clientSeverity != "" {
		f = f.WithSeverity(a.clientSeverity)
	}
	return f, true
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

// parseSelector parses a webhook selector; nil (no selector) matches everything, as the API
// server does.
func parseSelector(sel *metav1.LabelSelector) (labels.Selector, error) {
	if sel == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(sel)
}

// selectorMatches applies a parsed selector; nil matches everything.
func selectorMatches(s labels.Selector, set map[string]string) bool {
	return s == nil || s.Matches(labels.Set(set))
}
