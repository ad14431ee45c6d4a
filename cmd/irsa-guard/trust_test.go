package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const explainProvider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

// TestTrustExplainGolden pins `irsa-guard trust explain` output and exit codes, the contract scripts
// rely on. Regenerate with UPDATE_GOLDEN=1 go test ./cmd/irsa-guard -run TestTrustExplainGolden
// and review the diff.
func TestTrustExplainGolden(t *testing.T) {
	td := filepath.Join("testdata", "trust")
	tests := map[string]struct {
		args     []string
		wantCode int
	}{
		"eks-scoped-allow": {
			args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app"}},
		"eks-scoped-allow-json": {
			args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "system:serviceaccount:prod:my-app", "-o", "json"}},
		"eks-scoped-wrong-namespace": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--namespace", "staging", "--service-account", "my-app"}},
		"eks-scoped-wrong-audience-json": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--audience", "sts.amazonaws.com.cn", "-o", "json"}},
		"crossplane-stringequals-star-json": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "crossplane-stringequals-star.json"), "--provider-arn", explainProvider, "--namespace", "crossplane-system", "--service-account", "provider-aws-a1b2c3", "-o", "json"}},
		"deny-namespace-explicit-deny": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "deny-namespace.json"), "--provider-arn", explainProvider, "--sub", "system:serviceaccount:kube-system:aws-node"}},
		"deny-namespace-allowed-but-broad": {
			args: []string{"--policy", filepath.Join(td, "deny-namespace.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app"}},
		"other-account-provider": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", strings.Replace(explainProvider, "111122223333", "444455556666", 1), "--namespace", "prod", "--service-account", "my-app"}},
		"from-stdin-json": {
			args: []string{"--policy", "-", "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "-o", "json"}},
		"bad-json-says-where":       {wantCode: 2, args: []string{"--policy", filepath.Join(td, "broken-trailing-comma.json"), "--provider-arn", explainProvider, "--sub", "x"}},
		"not-a-policy-says-where":   {wantCode: 2, args: []string{"--policy", filepath.Join(td, "not-a-policy.json"), "--provider-arn", explainProvider, "--sub", "x"}},
		"missing-policy-file":       {wantCode: 2, args: []string{"--policy", filepath.Join(td, "nope.json"), "--provider-arn", explainProvider, "--sub", "x"}},
		"provider-arn-with-https":   {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", "arn:aws:iam::111122223333:oidc-provider/https://oidc.eks.us-west-2.amazonaws.com/id/X", "--sub", "x"}},
		"provider-arn-is-a-role":    {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", "arn:aws:iam::111122223333:role/my-app", "--sub", "x"}},
		"sub-and-namespace":         {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "x", "--namespace", "prod"}},
		"namespace-without-account": {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--namespace", "prod"}},
		"unknown-output":            {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "x", "-o", "yaml"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			stdin, err := os.ReadFile(filepath.Join(td, "eks-scoped.json"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			cmd := newRootCommand()
			cmd.SetArgs(append([]string{"trust", "explain"}, tt.args...))
			cmd.SetIn(bytes.NewReader(stdin))
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err = cmd.Execute()
			code, msg := 0, ""
			var ee *exitError
			switch {
			case errors.As(err, &ee):
				code, msg = ee.code, ee.err.Error()
			case err != nil:
				code, msg = 2, err.Error()
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d (%v), want %d", code, err, tt.wantCode)
			}
			got := out.String() + "--- exit " + string(rune('0'+code)) + "\n"
			if msg != "" {
				got += "--- stderr\nirsa-guard: " + msg + "\n"
			}
			golden := filepath.Join(td, name+".golden")
			if os.Getenv("UPDATE_GOLDEN") != "" {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (UPDATE_GOLDEN=1 creates it): %v", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}
