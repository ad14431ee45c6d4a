package validators

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testCA = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAAMB4XDTAwMDEwMTAwMDAwMFoXDTAw\n-----END CERTIFICATE-----\n"

// eksWebhook is the configuration EKS manages (quoted in eks-pod-identity-agent#153, PIW#225).
func eksWebhook() admissionregistrationv1.MutatingWebhookConfiguration {
	url := "https://127.0.0.1:23443/mutate"
	ignore := admissionregistrationv1.Ignore
	return admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:          "iam-for-pods.amazonaws.com",
			FailurePolicy: &ignore,
			ClientConfig:  admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: []byte(testCA)},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "eks.amazonaws.com/skip-pod-identity-webhook", Operator: metav1.LabelSelectorOpDoesNotExist}}},
		}},
	}
}

func TestCheckPodIdentityWebhook(t *testing.T) {
	names := PodIdentityWebhookNames{Configuration: DefaultPodIdentityWebhookConfiguration, Webhook: DefaultPodIdentityWebhookName}
	podTarget := InjectionTarget{
		Object:          Object{Kind: "Pod", Namespace: "shop", Name: "cart"},
		NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": "shop"}, NamespaceKnown: true,
		PodLabels: map[string]string{"app": "cart"}, IsPod: true,
	}
	saTarget := InjectionTarget{Object: Object{Kind: "ServiceAccount", Namespace: "shop", Name: "cart"}}
	mutate := func(f func(*admissionregistrationv1.MutatingWebhookConfiguration)) []admissionregistrationv1.MutatingWebhookConfiguration {
		c := eksWebhook()
		f(&c)
		return []admissionregistrationv1.MutatingWebhookConfiguration{c}
	}
	tests := map[string]struct {
		configs  []admissionregistrationv1.MutatingWebhookConfiguration
		names    PodIdentityWebhookNames
		target   InjectionTarget
		want     CheckID
		severity Severity
		message  string
	}{
		"the EKS-managed webhook can inject": {configs: mutate(func(*admissionregistrationv1.MutatingWebhookConfiguration) {}), target: podTarget},
		"no webhook configurations at all": {
			target: podTarget, want: CheckWebhookMissing, severity: SeverityError,
			message: "no pod-identity-webhook MutatingWebhookConfiguration: pods get no IRSA credentials",
		},
		"a renamed configuration is still found by its webhook name": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) { c.Name = "eks-managed" }),
			target:  saTarget,
		},
		"a custom name configured by the admin": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Name = "irsa"
				c.Webhooks[0].Name = "irsa.example.com"
			}),
			names:  PodIdentityWebhookNames{Configuration: "irsa"},
			target: saTarget,
		},
		"a rule that only covers UPDATE": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].Rules[0].Operations = []admissionregistrationv1.OperationType{admissionregistrationv1.Update}
			}),
			target: podTarget, want: CheckWebhookCannotInject, severity: SeverityError,
			message: `webhook "iam-for-pods.amazonaws.com" has no rule for pods CREATE`,
		},
		"wildcard rules cover pods": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].Rules[0] = admissionregistrationv1.RuleWithOperations{
					Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.OperationAll},
					Rule:       admissionregistrationv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*/*"}},
				}
			}),
			target: podTarget,
		},
		"a namespaceSelector that excludes the pod's namespace": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"irsa": "enabled"}}
			}),
			target: podTarget, want: CheckWebhookCannotInject, severity: SeverityError,
			message: `webhook "iam-for-pods.amazonaws.com" namespaceSelector skips this namespace`,
		},
		"a pod that opts out with the skip label": {
			configs: mutate(func(*admissionregistrationv1.MutatingWebhookConfiguration) {}),
			target: func() InjectionTarget {
				t := podTarget
				t.PodLabels = map[string]string{"eks.amazonaws.com/skip-pod-identity-webhook": "true"}
				return t
			}(),
			want: CheckWebhookCannotInject, severity: SeverityError,
			message: `webhook "iam-for-pods.amazonaws.com" objectSelector skips this pod`,
		},
		"the objectSelector is not applied to a ServiceAccount": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"inject": "yes"}}
			}),
			target: saTarget,
		},
		"a Service webhook without a caBundle (pod-identity-webhook #135)": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{
					Service: &admissionregistrationv1.ServiceReference{Namespace: "kube-system", Name: "pod-identity-webhook"}}
			}),
			target: podTarget, want: CheckWebhookCannotInject, severity: SeverityError,
			message: `webhook "iam-for-pods.amazonaws.com" calls a Service with no caBundle: TLS to it fails`,
		},
		"a URL webhook without a caBundle may still work with a public certificate": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].ClientConfig.CABundle = nil
			}),
			target: podTarget, want: CheckWebhookCannotInject, severity: SeverityWarning,
			message: `webhook "iam-for-pods.amazonaws.com" calls a URL with no caBundle: fails unless its cert chains to system roots`,
		},
		"a caBundle that is not PEM": {
			configs: mutate(func(c *admissionregistrationv1.MutatingWebhookConfiguration) {
				c.Webhooks[0].ClientConfig.CABundle = []byte("TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0")
			}),
			target: podTarget, want: CheckWebhookCannotInject, severity: SeverityError,
			message: `webhook "iam-for-pods.amazonaws.com" has a caBundle that is not PEM: the API server cannot call it`,
		},
		"one broken and one working webhook means injection works": {
			configs: func() []admissionregistrationv1.MutatingWebhookConfiguration {
				c := eksWebhook()
				broken := c.Webhooks[0]
				broken.Rules = nil
				c.Webhooks = append([]admissionregistrationv1.MutatingWebhook{broken}, c.Webhooks...)
				return []admissionregistrationv1.MutatingWebhookConfiguration{c}
			}(),
			target: podTarget,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n := tc.names
			if n == (PodIdentityWebhookNames{}) {
				n = names
			}
			got := CheckPodIdentityWebhook(tc.configs, n, tc.target)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("want no findings, got:\n%s", render(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one %s, got:\n%s", tc.want, render(got))
			}
			f := got[0]
			if f.Check != tc.want || f.Severity != tc.severity || f.Message != tc.message || f.Object.String() != tc.target.Object.String() {
				t.Errorf("got %s [%s, %s], want %s: %s [%s]", f, f.Severity, f.Object, tc.want, tc.message, tc.severity)
			}
		})
	}
}
