package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-guard/irsa-guard/fakeaws"
)

// newDevCommand groups the developer tools: local stand-ins for AWS used by tests and the demo.
func newDevCommand() *cobra.Command {
	dev := &cobra.Command{
		Use:   "dev",
		Short: "Developer tools: a local fake AWS for tests and the demo",
	}
	dev.AddCommand(newDevFakeAWSCommand())
	return dev
}

type fakeAWSOptions struct {
	statePath  string
	listen     string
	oidcIssuer bool
	oidcCAFile string
}

func newDevFakeAWSCommand() *cobra.Command {
	var o fakeAWSOptions
	cmd := &cobra.Command{
		Use:   "fake-aws --state FILE",
		Short: "Serve IAM, STS and EKS from an AWS state file on loopback until stopped",
		Long: `Serve a fake IAM, STS and EKS that speak AWS's wire protocols, answering from an AWS state
file (docs/aws-state.md). The first lines of stdout are KEY=value environment variables that point
the AWS SDK and CLI at it; everything else goes to stderr. Stop it with Ctrl-C or SIGTERM.

Faults can be injected at run time: curl -X POST $URL/_fake/faults -d '{"faults":[{"error":"Throttling"}]}'

With --oidc-issuer it also starts an HTTPS OIDC issuer with a generated CA chain, adds an IAM OIDC
provider for it (with the right thumbprint) to the caller's account, and prints its URL,
thumbprint and CA file.`,
		Example: `  irsa-guard dev fake-aws --state examples/demo/aws-state.yaml >/tmp/fake-aws.env &
  sleep 1; set -a; . /tmp/fake-aws.env; set +a
  aws iam get-role --role-name payments-api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.statePath == "" {
				return usageErrorf("dev fake-aws: --state FILE is required (see docs/aws-state.md)")
			}
			return runFakeAWS(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&o.statePath, "state", "", "AWS state YAML file to serve")
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free one)")
	cmd.Flags().BoolVar(&o.oidcIssuer, "oidc-issuer", false, "also start an HTTPS OIDC issuer and register its provider in the caller's account")
	cmd.Flags().StringVar(&o.oidcCAFile, "oidc-ca-file", "", "where to write the OIDC issuer's root CA (default: a temporary file)")
	return cmd
}

// runFakeAWS serves until ctx ends (SIGTERM or Ctrl-C through main's signal context).
func runFakeAWS(ctx context.Context, o fakeAWSOptions, stdout, stderr io.Writer) error {
	state, err := fakeaws.LoadState(o.statePath)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	env := [][2]string{}
	if o.oidcIssuer {
		issuer, err := fakeaws.NewOIDCIssuer(fakeaws.OIDCIssuerOptions{})
		if err != nil {
			return err
		}
		defer issuer.Close()
		caFile, err := writeCAFile(o.oidcCAFile, issuer.RootPEM())
		if err != nil {
			return err
		}
		if o.oidcCAFile == "" {
			defer os.Remove(caFile) // a temporary file we chose; the user's own path is kept
		}
		addProvider(state, issuer.URL(), issuer.Thumbprint())
		env = append(env,
			[2]string{"IRSA_GUARD_FAKE_OIDC_ISSUER", issuer.URL()},
			[2]string{"IRSA_GUARD_FAKE_OIDC_THUMBPRINT", issuer.Thumbprint()},
			[2]string{"IRSA_GUARD_FAKE_OIDC_CA_FILE", caFile})
	}
	srv, err := fakeaws.Listen(o.listen, state)
	if err != nil {
		return usageErrorf("dev fake-aws: %v", err)
	}
	region := "us-east-1"
	if len(state.Clusters) > 0 {
		region = state.Clusters[0].Region
	}
	env = append([][2]string{
		{"AWS_ENDPOINT_URL_IAM", srv.URL()},
		{"AWS_ENDPOINT_URL_STS", srv.URL()},
		{"AWS_ENDPOINT_URL_EKS", srv.URL()},
		{"AWS_ACCESS_KEY_ID", fakeaws.CallerAccessKeyID(state.CallerAccount)},
		{"AWS_SECRET_ACCESS_KEY", fakeaws.CallerSecretAccessKey},
		{"AWS_REGION", region},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	}, env...)
	for _, kv := range env {
		if _, err := fmt.Fprintf(stdout, "%s=%s\n", kv[0], kv[1]); err != nil {
			srv.Close()
			return err
		}
	}
	_, _ = fmt.Fprintln(stdout)
	_, _ = fmt.Fprintf(stderr, "fake AWS serving %s for account %s on %s; faults at %s/_fake/faults; stop with Ctrl-C\n",
		o.statePath, state.CallerAccount, srv.URL(), srv.URL())

	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop fake AWS: %w", err)
	}
	return nil
}

// addProvider registers an IAM OIDC provider for the fake issuer in the caller's account, so the
// live checks find it, unless the state already has one for that URL.
func addProvider(state *fakeaws.State, issuerURL, thumbprint string) {
	acct := state.Accounts[state.CallerAccount]
	if acct == nil {
		acct = &fakeaws.Account{}
		state.Accounts[state.CallerAccount] = acct
	}
	for _, p := range acct.OIDCProviders {
		if p.URL == issuerURL {
			return
		}
	}
	acct.OIDCProviders = append(acct.OIDCProviders, fakeaws.OIDCProvider{
		URL: issuerURL, ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{thumbprint},
		CreateDate: fakeaws.DefaultCreateDate(),
	})
}

func writeCAFile(path string, pemBytes []byte) (string, error) {
	if path == "" {
		f, err := os.CreateTemp("", "irsa-guard-fake-oidc-ca-*.pem")
		if err != nil {
			return "", fmt.Errorf("write OIDC CA: %w", err)
		}
		path = f.Name()
		_ = f.Close()
	}
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		return "", fmt.Errorf("write OIDC CA to %s: %w", path, err)
	}
	return filepath.Clean(path), nil
}
