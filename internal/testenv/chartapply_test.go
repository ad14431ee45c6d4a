package testenv

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestDrift(t *testing.T) {
	tests := map[string]struct {
		rendered string
		stored   string
		want     []string
	}{
		"fields the API server defaults are not drift": {
			rendered: `{"spec":{"containers":[{"name":"app","ports":[{"containerPort":9443}]}]}}`,
			stored:   `{"spec":{"containers":[{"name":"app","terminationMessagePath":"/dev/termination-log","ports":[{"containerPort":9443,"protocol":"TCP"}]}],"dnsPolicy":"ClusterFirst"},"status":{}}`,
		},
		"a field dropped behind a disabled feature gate is drift": {
			rendered: `{"spec":{"trafficDistribution":"PreferClose","ports":[{"port":443}]}}`,
			stored:   `{"spec":{"ports":[{"port":443,"protocol":"TCP"}]}}`,
			want:     []string{`spec.trafficDistribution: rendered "PreferClose", dropped by the API server`},
		},
		"a quantity the API server canonicalises is drift (GitOps tools would show it forever)": {
			rendered: `{"resources":{"requests":{"cpu":"0.1","memory":"128Mi"}}}`,
			stored:   `{"resources":{"requests":{"cpu":"100m","memory":"128Mi"}}}`,
			want:     []string{`resources.requests.cpu: rendered "0.1", stored "100m"`},
		},
		"a list that lost an element is drift": {
			rendered: `{"rules":[{"verbs":["get"]},{"verbs":["list"]}]}`,
			stored:   `{"rules":[{"verbs":["get"]}]}`,
			want:     []string{`rules: rendered a list of 2, stored a list of 1`},
		},
		"empty objects and lists mean the same as absent ones": {
			rendered: `{"metadata":{"annotations":{},"finalizers":[]},"spec":{"selector":null}}`,
			stored:   `{"metadata":{"uid":"1"},"spec":{}}`,
		},
		"an object where a string was rendered is drift": {
			rendered: `{"data":{"config.yaml":"mode: warn\n"}}`,
			stored:   `{"data":{"config.yaml":{"mode":"warn"}}}`,
			want:     []string{`data.config.yaml: rendered "mode: warn\n", stored an object with 1 fields`},
		},
		"a long value is cut short so a key never lands whole in a failure message": {
			rendered: `{"data":{"tls.key":"` + strings.Repeat("A", 64) + `"}}`,
			stored:   `{"data":{"tls.key":"` + strings.Repeat("B", 64) + `"}}`,
			want:     []string{`data.tls.key: rendered "AAAAAAAAAAAAAAAA"... (64 bytes), stored "BBBBBBBBBBBBBBBB"... (64 bytes)`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var rendered, stored any
			if err := json.Unmarshal([]byte(tc.rendered), &rendered); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.stored), &stored); err != nil {
				t.Fatal(err)
			}
			if got := Drift(rendered, stored); !slices.Equal(got, tc.want) {
				t.Errorf("Drift =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestDecodeManifests(t *testing.T) {
	tests := map[string]struct {
		manifests string
		want      []string
		wantErr   string
	}{
		"helm template output, with a template that rendered only a comment": {
			manifests: "---\n# Source: irsa-guard/templates/servicemonitor.yaml\n---\n# Source: irsa-guard/templates/rbac.yaml\n" +
				"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: irsa-guard\n---\n" +
				"apiVersion: v1\nkind: Secret\nmetadata:\n  name: irsa-guard-tls\n  namespace: irsa-guard\n",
			want: []string{"ClusterRole irsa-guard", "Secret irsa-guard/irsa-guard-tls"},
		},
		"a document without a name says which document": {
			manifests: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
			wantErr:   "YAML document 2: an object needs kind and metadata.name",
		},
		"a document that is a list, not an object": {
			manifests: "- a\n- b\n",
			wantErr:   "YAML document 1 is not an object",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeManifests([]byte(tc.manifests))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("want error starting %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.String())
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("objects = %q, want %q", ids, tc.want)
			}
		})
	}
}

func TestDecodeApplied(t *testing.T) {
	tests := map[string]struct {
		output string
		want   []string
	}{
		"several objects come back as a List": {
			output: `{"apiVersion":"v1","kind":"List","items":[{"kind":"ServiceAccount","metadata":{"name":"irsa-guard","namespace":"irsa-guard"}},{"kind":"ValidatingWebhookConfiguration","metadata":{"name":"irsa-guard"}}]}`,
			want:   []string{"ServiceAccount irsa-guard/irsa-guard", "ValidatingWebhookConfiguration irsa-guard"},
		},
		"one object comes back alone": {
			output: `{"kind":"ConfigMap","metadata":{"name":"irsa-guard","namespace":"irsa-guard"}}`,
			want:   []string{"ConfigMap irsa-guard/irsa-guard"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := decodeApplied([]byte(tc.output))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.String())
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("objects = %q, want %q", ids, tc.want)
			}
		})
	}
}
