package testenv

import (
	"slices"
	"strings"
	"testing"
)

// renderedChart is a trimmed `helm template` of charts/irsa-guard with ci/e2e-values.yaml.
const renderedChart = `---
# Source: irsa-guard/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: irsa-guard
---
# Source: irsa-guard/templates/tls-secret.yaml
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: irsa-guard-tls
data:
  ca.crt: Q0E=
  tls.crt: Q0VSVA==
  tls.key: S0VZ
---
# Source: irsa-guard/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: irsa-guard
data:
  config.yaml: |
    mode: warn
---
# Source: irsa-guard/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: irsa-guard
spec:
  selector:
    matchLabels: {app: irsa-guard}
  template:
    spec:
      containers:
        - name: irsa-guard
          image: ghcr.io/irsa-guard/irsa-guard:0.1.0
          args:
            - serve
            - --config=/etc/irsa-guard/config/config.yaml
            - --cert-dir=/etc/irsa-guard/tls
          volumeMounts:
            - {name: tls, mountPath: /etc/irsa-guard/tls, readOnly: true}
            - {name: config, mountPath: /etc/irsa-guard/config, readOnly: true}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: tls
          secret: {secretName: irsa-guard-tls}
        - name: config
          configMap: {name: irsa-guard}
        - name: tmp
          emptyDir: {}
---
# Source: irsa-guard/templates/validatingwebhookconfiguration.yaml
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: irsa-guard
webhooks: []
`

func TestSplitChart(t *testing.T) {
	tests := map[string]struct {
		manifests   string
		wantArgs    []string
		wantFiles   map[string]string
		wantObjects []string // kinds, in order
		wantErr     string
	}{
		"the Deployment becomes arguments and mounted files, the webhooks wait, the rest is applied": {
			manifests: renderedChart,
			wantArgs:  []string{"serve", "--config=/etc/irsa-guard/config/config.yaml", "--cert-dir=/etc/irsa-guard/tls"},
			wantFiles: map[string]string{
				"/etc/irsa-guard/tls/ca.crt": "CA", "/etc/irsa-guard/tls/tls.crt": "CERT", "/etc/irsa-guard/tls/tls.key": "KEY",
				"/etc/irsa-guard/config/config.yaml": "mode: warn\n",
			},
			wantObjects: []string{"ServiceAccount", "Secret", "ConfigMap"},
		},
		"a render without the Deployment cannot be run": {
			manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
			wantErr:   "the chart rendered no Deployment with a container",
		},
		"a Deployment mounting a Secret the chart did not render (cert-manager's) says so": {
			manifests: strings.Replace(renderedChart, "kind: Secret\n", "kind: Certificate\n", 1),
			wantErr:   "the Deployment mounts Secret irsa-guard-tls, which the chart did not render (use its generated TLS)",
		},
		"a misspelt field in a rendered Deployment is an error": {
			manifests: strings.Replace(renderedChart, "  selector:", "  selectr:", 1),
			wantErr:   "rendered Deployment irsa-guard: ",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := SplitChart([]byte(tc.manifests))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("want error starting %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Args, tc.wantArgs) {
				t.Errorf("args = %q, want %q", c.Args, tc.wantArgs)
			}
			if len(c.Files) != len(tc.wantFiles) {
				t.Errorf("files = %v, want %v", c.Files, tc.wantFiles)
			}
			for path, want := range tc.wantFiles {
				if got := string(c.Files[path]); got != want {
					t.Errorf("file %s = %q, want %q", path, got, want)
				}
			}
			var kinds []string
			for line := range strings.Lines(string(c.Objects)) {
				if k, ok := strings.CutPrefix(line, "kind: "); ok {
					kinds = append(kinds, strings.TrimSpace(k))
				}
			}
			if !slices.Equal(kinds, tc.wantObjects) {
				t.Errorf("applied kinds = %v, want %v", kinds, tc.wantObjects)
			}
			if !strings.Contains(string(c.Webhooks), "kind: ValidatingWebhookConfiguration") {
				t.Errorf("webhook configurations were not kept apart: %q", c.Webhooks)
			}
		})
	}
}
