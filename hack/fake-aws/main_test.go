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
