package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/validators"
)

// liveState is one account as a team would have it: a working role, one annotated without its
// path, one trusting another ServiceAccount, and an unrelated role export leaves out.
const liveState = `
callerAccount: "111122223333"
clusters:
  - {name: demo, region: us-west-2, issuer: ISSUER}
accounts:
  "111122223333":
    roles:
      - name: app
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition: {StringEquals: {"HOSTPATH:sub": "system:serviceaccount:shop:app", "HOSTPATH:aud": sts.amazonaws.com}}
      - name: writer
        path: /teams/payments/
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition: {StringEquals: {"HOSTPATH:sub": "system:serviceaccount:shop:writer"}}
      - name: billing
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition: {StringEquals: {"HOSTPATH:sub": "system:serviceaccount:billing:worker"}}
      - name: ci-deployer
        trustPolicy:
          Version: "2012-10-17"
          Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::111122223333:root"}, Action: sts:AssumeRole}
    oidcProviders:
      - {url: ISSUER, clientIDs: [sts.amazonaws.com], thumbprints: [THUMB]}
`

const liveManifests = `apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/app"}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: writer, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/writer"}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: billing, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/billing"}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: gone, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/decommissioned"}}
`

// TestExportThenLintOfflineMatchesLive exports an account from the fake through the real SDK,
// then lints the same manifests live and against the exported file: the findings must agree.
func TestExportThenLintOfflineMatchesLive(t *testing.T) {
	iss, err := fakeaws.NewOIDCIssuer(fakeaws.OIDCIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	dir := t.TempDir()
	ca, manifests, state := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "sa.yaml"), filepath.Join(dir, "aws-state.yaml")
	writeFile(t, ca, string(iss.RootPEM()))
	writeFile(t, manifests, liveManifests)
	text := strings.NewReplacer("HOSTPATH", validators.IssuerHostPath(iss.URL()), "ISSUER", iss.URL(), "THUMB", iss.JWKSThumbprint()).Replace(liveState)
	st, err := awsstate.ParseState([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeaws.NewServer(st)
	t.Cleanup(srv.Close)
	useFakeAWS(t, srv.URL())

	if out, code, msg := runCLI(t, "", "aws-state", "export", "--cluster", "demo", "-o", state); code != 0 {
		t.Fatalf("export: exit %d %s %s", code, msg, out)
	}
	exported, err := awsstate.LoadState(state)
	if err != nil {
		t.Fatalf("the exported file does not load: %v", err)
	}
	var names []string
	for _, r := range exported.Accounts["111122223333"].Roles {
		names = append(names, r.Path+r.Name)
	}
	if want := []string{"/app", "/teams/payments/writer", "/billing"}; !slices.Equal(names, want) {
		t.Errorf("exported roles = %v, want %v (ci-deployer does not trust the provider)", names, want)
	}

	live, liveCode, _ := runCLI(t, "", "lint", "-f", manifests, "--issuer", iss.URL(), "--issuer-ca", ca, "-o", "json")
	if srv.Calls("GetRole") == 0 {
		t.Fatal("live lint made no GetRole call")
	}
	srv.Close() // from here on AWS is gone: only the file can answer
	offline, offlineCode, _ := runCLI(t, "", "lint", "-f", manifests, "--issuer", iss.URL(), "--aws-state", state, "-o", "json")
	if live != offline || liveCode != offlineCode {
		t.Errorf("live (exit %d):\n%s\noffline (exit %d):\n%s", liveCode, live, offlineCode, offline)
	}
	// Exported with --cluster, the file also answers eks:DescribeCluster for that cluster.
	byCluster, _, _ := runCLI(t, "", "lint", "-f", manifests, "--cluster", "demo", "--aws-state", state, "-o", "json")
	if byCluster != offline {
		t.Errorf("lint --cluster --aws-state:\n%s\nwant\n%s", byCluster, offline)
	}
	if got, want := checksOf(t, live), []string{"IRSA011", "IRSA032", "IRSA010"}; !slices.Equal(got, want) || liveCode != 1 {
		t.Errorf("live checks = %v exit %d, want %v exit 1\n%s", got, liveCode, want, live)
	}
}

func TestLiveLintFlagErrors(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"an AWS state file with --offline": {
			args: []string{"lint", "-f", "examples/good", "--offline", "--issuer", exampleIssuer, "--aws-state", "x.yaml"},
			want: "--offline runs no AWS checks; drop it to check against --aws-state",
		},
		"an AWS state file without an issuer or a cluster": {
			args: []string{"lint", "-f", "examples/good", "--aws-state", "x.yaml"},
			want: "--aws-state needs --issuer or --cluster: the AWS checks need the cluster's OIDC issuer",
		},
		"a trust policy with an AWS state file": {
			args: []string{"lint", "-f", "examples/good", "--issuer", exampleIssuer, "--trust-policy", "x.json", "--aws-state", "x.yaml"},
			want: "--trust-policy checks one given policy; it cannot be combined with --aws-state",
		},
		"an AWS state file that does not exist": {
			args: []string{"lint", "-f", "examples/good", "--issuer", exampleIssuer, "--aws-state", "/nonexistent/aws-state.yaml"},
			want: "--aws-state: ",
		},
		"export with both an issuer and a cluster": {
			args: []string{"aws-state", "export", "--issuer", exampleIssuer, "--cluster", "demo"},
			want: "aws-state export needs exactly one of --issuer URL or --cluster NAME",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, code, msg := runCLI(t, "", tc.args...)
			if code != 2 || !strings.HasPrefix(msg, tc.want) {
				t.Errorf("exit %d %q, want 2 and a message starting %q", code, msg, tc.want)
			}
		})
	}
}

// useFakeAWS points the default credential chain and every service endpoint at the fake.
func useFakeAWS(t *testing.T, url string) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": url, "AWS_REGION": "us-west-2", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "",
		"AWS_ACCESS_KEY_ID": fakeaws.CallerAccessKeyID("111122223333"), "AWS_SECRET_ACCESS_KEY": fakeaws.CallerSecretAccessKey,
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func checksOf(t *testing.T, out string) []string {
	t.Helper()
	var doc struct {
		Findings []struct {
			Check string `json:"check"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("lint -o json: %v\n%s", err, out)
	}
	var ids []string
	for _, f := range doc.Findings {
		ids = append(ids, f.Check)
	}
	return ids
}
