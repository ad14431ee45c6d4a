package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartFakeAWSStandsInForTheClusterIssuer(t *testing.T) {
	state, err := os.ReadFile("../../examples/demo/aws-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := StartFakeAWS(state, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const eks = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	if f.StandsFor != eks || !strings.HasPrefix(f.IssuerURL, "https://127.0.0.1:") || !strings.HasSuffix(f.IssuerURL, "/id/EXAMPLED539D4633E53DE1B716D3041E") {
		t.Fatalf("issuer %s standing for %s; want a loopback issuer with the EKS path standing for %s", f.IssuerURL, f.StandsFor, eks)
	}
	if got := f.State.Clusters[0].Issuer; got != f.IssuerURL {
		t.Errorf("cluster issuer = %s, want %s", got, f.IssuerURL)
	}
	hostPath := strings.TrimPrefix(f.IssuerURL, "https://")
	for id, acct := range f.State.Accounts {
		for _, p := range acct.OIDCProviders {
			if p.URL == f.IssuerURL && (len(p.Thumbprints) != 1 || p.Thumbprints[0] != f.Issuer.Thumbprint()) {
				t.Errorf("account %s: provider thumbprints %v, want the fake issuer's %s", id, p.Thumbprints, f.Issuer.Thumbprint())
			}
		}
		for _, r := range acct.Roles {
			if strings.Contains(string(r.TrustPolicy), "oidc.eks.") {
				t.Errorf("account %s role %s still trusts an oidc.eks host: %s", id, r.Name, r.TrustPolicy)
			}
		}
	}
	payments := string(f.State.Accounts["111122223333"].Roles[0].TrustPolicy)
	if !strings.Contains(payments, `"`+hostPath+`:sub":"system:serviceaccount:payments:payments-api"`) {
		t.Errorf("payments-api's trust condition key was not moved to %s: %s", hostPath, payments)
	}
	env := strings.Join(f.Env(), "\n")
	for _, want := range []string{"AWS_ENDPOINT_URL_IAM=" + f.Server.URL(), "AWS_ACCESS_KEY_ID=", "AWS_REGION=us-west-2", "SSL_CERT_FILE=" + f.CAFile} {
		if !strings.Contains(env, want) {
			t.Errorf("Env() lacks %q:\n%s", want, env)
		}
	}
}

func TestStartFakeAWSRejectsStatesItCannotStandIn(t *testing.T) {
	tests := map[string]struct{ state, wantErr string }{
		"no cluster to take the issuer from": {
			state:   "callerAccount: \"111122223333\"\n",
			wantErr: "AWS state: list the cluster under clusters: with its issuer",
		},
		"an issuer without a path": {
			state:   "callerAccount: \"111122223333\"\nclusters:\n  - {name: demo, region: us-west-2, issuer: \"https://oidc.example.com\"}\n",
			wantErr: `AWS state: cluster "demo": issuer "https://oidc.example.com" needs a host and a path`,
		},
		"a state that is not valid": {
			state:   "callerAccount: 42\n",
			wantErr: "AWS state: callerAccount",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f, err := StartFakeAWS([]byte(tc.state), t.TempDir())
			if err == nil {
				f.Close()
				t.Fatalf("want error %q, got none", tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("want error starting %q, got %v", tc.wantErr, err)
			}
			if _, statErr := os.Stat(filepath.Join(t.TempDir(), "fake-oidc-ca.pem")); statErr == nil {
				t.Fatal("a CA file was left behind")
			}
		})
	}
}
