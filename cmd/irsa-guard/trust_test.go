package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const explainProvider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

// checkTime is the time of the check in the goldens.
const checkTime = "2026-06-01T00:00:00Z"

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

		// The request context: time windows, guards, call-time keys and what-ifs.
		"time-boxed-warns-before-it-ends": {
			args: []string{"--policy", filepath.Join(td, "time-boxed.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app"}},
		"time-boxed-expired": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "time-boxed.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--at", "2027-02-01T00:00:00Z"}},
		"time-boxed-expired-by-context-json": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "time-boxed.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--context", "aws:EpochTime=1801958400", "-o", "json"}},
		"ip-allow-list-undetermined": {wantCode: 3,
			args: []string{"--policy", filepath.Join(td, "ip-allow-list.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app"}},
		"ip-allow-list-undetermined-json": {wantCode: 3,
			args: []string{"--policy", filepath.Join(td, "ip-allow-list.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "-o", "json"}},
		"ip-allow-list-what-if-inside": {
			args: []string{"--policy", filepath.Join(td, "ip-allow-list.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--context", "aws:SourceIp=10.1.2.3"}},
		"ip-allow-list-what-if-outside": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "ip-allow-list.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--context", "aws:SourceIp=192.0.2.1"}},
		"ip-allow-list-what-if-vpc-endpoint": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "ip-allow-list.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--context", "aws:SourceIp="}},
		"guards-region-unknown": {wantCode: 3,
			args: []string{"--policy", filepath.Join(td, "guards.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app"}},
		"guards-in-the-fenced-region": {
			args: []string{"--policy", filepath.Join(td, "guards.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--region", "us-west-2", "--sts-regional-endpoints", "regional"}},
		"guards-outside-the-fenced-region": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "guards.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app", "--region", "ap-south-1", "--sts-regional-endpoints", "regional"}},
		"resource-is-rejected-by-iam": {wantCode: 1,
			args: []string{"--policy", filepath.Join(td, "resource.json"), "--provider-arn", explainProvider, "--namespace", "prod", "--service-account", "my-app"}},
		"duplicate-key-says-where": {wantCode: 2,
			args: []string{"--policy", filepath.Join(td, "duplicate-key.json"), "--provider-arn", explainProvider, "--sub", "x"}},
		"context-without-value":      {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "x", "--context", "aws:SourceIp"}},
		"context-clock-twice":        {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "x", "--at", checkTime, "--context", "aws:CurrentTime=2027-01-01T00:00:00Z"}},
		"bad-at":                     {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "x", "--at", "tomorrow"}},
		"bad-sts-regional-endpoints": {wantCode: 2, args: []string{"--policy", filepath.Join(td, "eks-scoped.json"), "--provider-arn", explainProvider, "--sub", "x", "--sts-regional-endpoints", "true"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			stdin, err := os.ReadFile(filepath.Join(td, "eks-scoped.json"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			cmd := newRootCommand()
			args := append([]string{"trust", "explain"}, tt.args...)
			if !slices.Contains(args, "--at") && !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "Time=") }) {
				args = append(args, "--at", checkTime) // the goldens must not depend on today's date
			}
			cmd.SetArgs(args)
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

// TestTrustExplainRefusesALargeFile checks that a file over 1 MiB is refused by name instead of
// being cut and reported as broken JSON.
func TestTrustExplainRefusesALargeFile(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, append([]byte(`{"Statement":"`), bytes.Repeat([]byte("a"), 1<<20)...), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"a file": {"--policy", big},
		"stdin":  {"--policy", "-"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := newRootCommand()
			cmd.SetArgs(append([]string{"trust", "explain", "--provider-arn", explainProvider, "--sub", "x"}, args...))
			cmd.SetIn(bytes.NewReader(bytes.Repeat([]byte(" "), 1<<20+1)))
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 || !strings.HasSuffix(err.Error(), ": larger than 1 MiB; a trust policy is a few KiB at most") {
				t.Errorf("error = %v, want exit 2 saying the file is larger than 1 MiB", err)
			}
		})
	}
}

// TestTrustExplainExitCodes pins the exit status for each decision, the contract scripts branch on.
func TestTrustExplainExitCodes(t *testing.T) {
	td := filepath.Join("testdata", "trust")
	tests := map[string]struct {
		policy string
		extra  []string
		want   int
	}{
		"allow is 0":         {"eks-scoped.json", nil, 0},
		"implicit deny is 1": {"eks-scoped.json", []string{"--audience", "other"}, 1},
		"explicit deny is 1": {"guards.json", []string{"--region", "ap-south-1", "--sts-regional-endpoints", "regional"}, 1},
		"undetermined is 3":  {"ip-allow-list.json", nil, 3},
		"a policy IAM rejects is 1 even when allowed": {"resource.json", nil, 1},
		"bad input is 2": {"duplicate-key.json", nil, 2},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			cmd := newRootCommand()
			cmd.SetArgs(append([]string{"trust", "explain", "--policy", filepath.Join(td, tt.policy), "--provider-arn", explainProvider,
				"--sub", "system:serviceaccount:prod:my-app", "--at", checkTime}, tt.extra...))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			if got := exitCodeOf(cmd.Execute()); got != tt.want {
				t.Errorf("exit status = %d, want %d", got, tt.want)
			}
		})
	}
}

func exitCodeOf(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 2
}
