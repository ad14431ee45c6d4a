package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-guard/irsa-guard/fakeaws"
)

// TestFakeAWSPrintsEnvThatTheSDKUses runs the command as a script would: read the env lines,
// configure the SDK purely from them (config.LoadDefaultConfig), call IAM, then stop it.
func TestFakeAWSPrintsEnvThatTheSDKUses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runFakeAWS(ctx, fakeAWSOptions{statePath: "../../examples/demo/aws-state.yaml", listen: "127.0.0.1:0", oidcIssuer: true,
			oidcCAFile: filepath.Join(t.TempDir(), "ca.pem")}, pw, io.Discard)
		_ = pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() && sc.Text() != "" {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("stdout line %q is not KEY=value", sc.Text())
		}
		env[k] = v
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	for _, k := range []string{"AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_EKS", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_REGION", "IRSA_GUARD_FAKE_OIDC_ISSUER", "IRSA_GUARD_FAKE_OIDC_THUMBPRINT", "IRSA_GUARD_FAKE_OIDC_CA_FILE"} {
		if env[k] == "" {
			t.Errorf("%s missing from %v", k, env)
		}
		t.Setenv(k, env[k])
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_PROFILE", "")
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	out, err := iam.NewFromConfig(cfg).GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: aws.String("arn:aws:iam::111122223333:oidc-provider/" + strings.TrimPrefix(env["IRSA_GUARD_FAKE_OIDC_ISSUER"], "https://")),
	})
	if err != nil {
		t.Fatalf("GetOpenIDConnectProvider of the fake issuer: %v", err)
	}
	if got := out.ThumbprintList; len(got) != 1 || got[0] != env["IRSA_GUARD_FAKE_OIDC_THUMBPRINT"] {
		t.Errorf("ThumbprintList = %q, want the issuer's %s", got, env["IRSA_GUARD_FAKE_OIDC_THUMBPRINT"])
	}
	if b, err := os.ReadFile(env["IRSA_GUARD_FAKE_OIDC_CA_FILE"]); err != nil || !strings.Contains(string(b), "BEGIN CERTIFICATE") {
		t.Errorf("CA file: %v", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runFakeAWS after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("fake AWS did not stop on cancel")
	}
	if _, err := http.Get(env["AWS_ENDPOINT_URL_IAM"] + "/_fake/calls"); err == nil {
		t.Error("fake AWS still answers after stopping")
	}
}

func TestFakeAWSRefusals(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string
	}{
		"no state file": {
			args:    nil,
			wantErr: "--state FILE is required (see docs/aws-state.md)",
		},
		"a non-loopback listen address": {
			args:    []string{"--state", "../../examples/demo/aws-state.yaml", "--listen", "0.0.0.0:8080"},
			wantErr: `listen address "0.0.0.0:8080" is not loopback: the fake AWS accepts any credentials, so it only listens on 127.0.0.1 or ::1`,
		},
		"a state file that does not parse": {
			args:    []string{"--state", "main_test.go"},
			wantErr: "AWS state main_test.go: decode: yaml:",
		},
		"a trusted CA file without certificates": {
			args:    []string{"--state", "../../examples/demo/aws-state.yaml", "--trusted-ca-file", "main.go"},
			wantErr: "--trusted-ca-file main.go holds no PEM certificate",
		},
		"a trusted CA file that does not exist": {
			args:    []string{"--state", "../../examples/demo/aws-state.yaml", "--trusted-ca-file", "nope.pem"},
			wantErr: "--trusted-ca-file: open nope.pem:",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard)
			if !errors.As(err, new(usageError)) || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want a usage error starting with %q", err, tc.wantErr)
			}
		})
	}
}

// TestTrustedCAFileMakesAnIssuerPubliclyTrusted: with the issuer's CA passed as a trusted CA, a
// provider whose thumbprint does not match still verifies tokens, as IAM does for issuers whose
// chain its CA library trusts.
func TestTrustedCAFileMakesAnIssuerPubliclyTrusted(t *testing.T) {
	issuer, err := fakeaws.NewOIDCIssuer(fakeaws.OIDCIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	dir := t.TempDir()
	caFile, statePath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "state.yaml")
	hostPath := strings.TrimPrefix(issuer.URL(), "https://")
	state := `callerAccount: "111122223333"
accounts:
  "111122223333":
    oidcProviders:
      - {url: "` + issuer.URL() + `", clientIDs: [sts.amazonaws.com], thumbprints: [` + strings.Repeat("0", 40) + `]}
    roles:
      - name: app
        trustPolicy: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: sts:AssumeRoleWithWebIdentity,
          Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/` + hostPath + `"}}]}
`
	if err := os.WriteFile(caFile, issuer.RootPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--state", statePath, "--trusted-ca-file", caFile}, pw, io.Discard)
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	endpoint := ""
	for sc.Scan() && sc.Text() != "" {
		if v, ok := strings.CutPrefix(sc.Text(), "AWS_ENDPOINT_URL_STS="); ok {
			endpoint = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	tok, err := issuer.ServiceAccountToken("shop", "app", time.Hour, "sts.amazonaws.com")
	if err != nil {
		t.Fatal(err)
	}
	client := sts.New(sts.Options{Region: "us-west-2", BaseEndpoint: aws.String(endpoint), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	_, err = client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::111122223333:role/app"), RoleSessionName: aws.String("probe"), WebIdentityToken: aws.String(tok),
	})
	if err != nil {
		t.Errorf("AssumeRoleWithWebIdentity with the issuer's CA trusted: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
