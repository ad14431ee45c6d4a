package testenv

import (
	"strings"
	"testing"
)

func TestDecodeWebhookConfigurations(t *testing.T) {
	tests := map[string]struct {
		manifests      string
		wantMutating   []string
		wantValidating []string
		wantErr        string
	}{
		"helm template output keeps only the webhook configurations": {
			manifests: `---
# Source: irsa-guard/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: irsa-guard
---
# Source: irsa-guard/templates/webhooks.yaml
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: irsa-guard
webhooks:
- name: serviceaccounts.irsa-guard.io
  clientConfig:
    service: {name: irsa-guard, namespace: irsa-guard, path: /validate--v1-serviceaccount}
  admissionReviewVersions: [v1]
  sideEffects: None
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: irsa-guard-fixers
webhooks: []
`,
			wantMutating:   []string{"irsa-guard-fixers"},
			wantValidating: []string{"irsa-guard"},
		},
		"an older admissionregistration version is not ours to install": {
			manifests: "apiVersion: admissionregistration.k8s.io/v1beta1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: old\n",
		},
		"an empty stream decodes to nothing": {manifests: "---\n# nothing rendered\n"},
		"a misspelt field is an error, not a silently ignored setting": {
			manifests: "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: typo\nwebhook: []\n",
			wantErr:   `YAML document 1: ValidatingWebhookConfiguration: error unmarshaling JSON: while decoding JSON: json: unknown field "webhook"`,
		},
		"a broken document names its position": {
			manifests: "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: [\n",
			wantErr:   "YAML document 2: ",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mutating, validating, err := DecodeWebhookConfigurations([]byte(tc.manifests))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("want error starting %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotM, gotV []string
			for _, m := range mutating {
				gotM = append(gotM, m.Name)
			}
			for _, v := range validating {
				gotV = append(gotV, v.Name)
			}
			if strings.Join(gotM, ",") != strings.Join(tc.wantMutating, ",") || strings.Join(gotV, ",") != strings.Join(tc.wantValidating, ",") {
				t.Fatalf("got mutating %v validating %v, want %v %v", gotM, gotV, tc.wantMutating, tc.wantValidating)
			}
		})
	}
}
