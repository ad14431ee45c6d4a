package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const exampleIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

// runCLI runs irsa-guard in-process from the repository root, as `make examples` does, and
// returns stdout and the exit code main would use (with the message it would print).
func runCLI(t *testing.T, stdin string, args ...string) (string, int, string) {
	t.Helper()
	t.Chdir("../..")
	return execCLI(t, stdin, args...)
}

// execCLI runs irsa-guard in-process in the current directory, as runCLI does.
func execCLI(t *testing.T, stdin string, args ...string) (string, int, string) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0, ""
	case errors.As(err, &ee):
		return out.String(), ee.code, ee.Error()
	default:
		return out.String(), 2, err.Error()
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("cmd", "irsa-guard", "testdata", name) // runCLI works from the repository root
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/irsa-guard -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/irsa-guard -run %s -update to accept):\n%s", path, t.Name(), got)
	}
}

func TestLintGolden(t *testing.T) {
	// The demo folder belongs to `make demo`; the examples here are the ones lint documents.
	examples := []string{"-f", "examples/good", "-f", "examples/broken", "-f", "examples/pods", "--offline"}
	tests := map[string]struct {
		args     []string
		golden   string
		wantCode int
	}{
		"the examples as text":                             {args: examples, golden: "lint-examples.txt", wantCode: 1},
		"the examples as JSON":                             {args: append([]string{"-o", "json"}, examples...), golden: "lint-examples.json", wantCode: 1},
		"the good examples pass":                           {args: []string{"-f", "examples/good", "--offline"}, golden: "lint-good.txt", wantCode: 0},
		"a correct trust policy":                           {args: trustArgs("good"), golden: "lint-trust-good.txt", wantCode: 0},
		"no statement for the issuer":                      {args: trustArgs("irsa030-no-provider"), golden: "lint-trust-irsa030.txt", wantCode: 1},
		"the wrong action":                                 {args: trustArgs("irsa031-action"), golden: "lint-trust-irsa031.txt", wantCode: 1},
		"StringEquals with a *":                            {args: trustArgs("irsa032-conditions"), golden: "lint-trust-irsa032.txt", wantCode: 1},
		"an explicit Deny":                                 {args: trustArgs("irsa033-explicit-deny"), golden: "lint-trust-irsa033.txt", wantCode: 1},
		"trust without a sub":                              {args: trustArgs("irsa034-too-broad"), golden: "lint-trust-irsa034.txt", wantCode: 0},
		"a guard Deny on insecure transport never applies": {args: trustArgs("working-deny-insecure-transport"), golden: "lint-trust-working-deny.txt", wantCode: 0},
		"a time window warns before it ends":               {args: trustArgs("irsa038-time-window"), golden: "lint-trust-irsa038.txt", wantCode: 0},
		"an IP allow-list cannot be known before the call": {args: trustArgs("irsa039-ip-allowlist"), golden: "lint-trust-irsa039.txt", wantCode: 0},
		"working setups are never errors":                  {args: []string{"-f", "examples/working", "--offline"}, golden: "lint-working.txt", wantCode: 0},
		"a Pod Identity migration is a note, not a denial": {
			args:   []string{"-f", "examples/working/pod-identity-migration.yaml", "--aws-state", "examples/demo/aws-state.yaml", "--cluster", "demo"},
			golden: "lint-working-pod-identity.txt", wantCode: 0,
		},
		"a provider of another account": {
			args: append([]string{"-o", "json"}, trustArgs("irsa035-cross-account")...), golden: "lint-trust-irsa035.json", wantCode: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, code, msg := runCLI(t, "", append([]string{"lint"}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit code = %d (%s), want %d", code, msg, tc.wantCode)
			}
			golden(t, tc.golden, out)
		})
	}
}

func trustArgs(dir string) []string {
	d := "examples/trust/" + dir + "/"
	return []string{"-f", d, "--trust-policy", d + "trust-policy.json", "--issuer", exampleIssuer}
}

func TestLintJSONIsAlwaysAnArray(t *testing.T) {
	out, code, _ := runCLI(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n", "lint", "-f", "-", "-o", "json")
	if code != 0 || out != "{\n  \"findings\": []\n}\n" {
		t.Fatalf("exit %d, output %q", code, out)
	}
	var doc struct{ Findings []map[string]any }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Findings == nil {
		t.Fatalf("not {\"findings\":[]}: %v", err)
	}
}

func TestLintBadInput(t *testing.T) {
	dir := t.TempDir()
	badPolicy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(badPolicy, []byte(`{"Version": "2012-10-17", "Statement": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"no manifests given": {
			args: []string{"lint"},
			want: "lint needs -f FILE|DIR|- (the manifests to check)",
		},
		"an unknown output format": {
			args: []string{"lint", "-f", "-", "-o", "yaml"},
			want: `-o "yaml": use text, json, sarif or github`,
		},
		"a file that does not exist": {
			args: []string{"lint", "-f", "examples/nope.yaml"},
			want: "read manifests: stat examples/nope.yaml: no such file or directory",
		},
		"malformed YAML on stdin": {
			stdin: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n    namespace: b\n",
			args:  []string{"lint", "-f", "-"},
			want:  "read manifests: -: document 1 (line 1): yaml: line 5: mapping values are not allowed in this context",
		},
		"an unquoted annotation value": {
			stdin: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  annotations:\n    eks.amazonaws.com/token-expiration: 3600\n",
			args:  []string{"lint", "-f", "-"},
			want:  `read manifests: -: document 1 (line 1): field metadata.annotations["eks.amazonaws.com/token-expiration"]: got a JSON number, want a string; quote the value, e.g. "3600" or "true"`,
		},
		"a trust policy without an issuer": {
			args: []string{"lint", "-f", "examples/good", "--trust-policy", "examples/trust/good/trust-policy.json"},
			want: "--trust-policy needs --issuer: the cluster's OIDC issuer URL (aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer)",
		},
		"an issuer without https": {
			args: []string{"lint", "-f", "examples/good", "--issuer", "oidc.eks.us-west-2.amazonaws.com/id/X"},
			want: `--issuer (cluster.issuer): issuer "oidc.eks.us-west-2.amazonaws.com/id/X" must start with https:// (IAM OIDC providers only accept https)`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, code, msg := runCLI(t, tc.stdin, tc.args...)
			if code != 2 || msg != tc.want {
				t.Fatalf("exit %d, message:\n%s\nwant exit 2 and:\n%s", code, msg, tc.want)
			}
		})
	}
	t.Run("a trust policy that is not JSON", func(t *testing.T) {
		_, code, msg := runCLI(t, "", "lint", "-f", "examples/good", "--trust-policy", badPolicy, "--issuer", exampleIssuer)
		if code != 2 || !strings.HasPrefix(msg, "--trust-policy "+badPolicy+": ") {
			t.Fatalf("exit %d, message %q", code, msg)
		}
	})
}

func TestLintWorkloadUsesItsServiceAccountFromTheInput(t *testing.T) {
	in := `apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/app"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: app
      hostNetwork: true
      containers: [{name: web, image: web:1}]
`
	out, code, _ := runCLI(t, in, "lint", "-f", "-", "-o", "json")
	var doc struct {
		Findings []struct{ Check, Object, Source string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if code != 0 || len(doc.Findings) != 1 || doc.Findings[0].Check != "IRSA043" ||
		doc.Findings[0].Object != "Deployment shop/web" || doc.Findings[0].Source != "-:5" {
		t.Fatalf("exit %d, findings %+v; want one IRSA043 on Deployment shop/web at -:5", code, doc.Findings)
	}
}
