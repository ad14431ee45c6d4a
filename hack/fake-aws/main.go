// Command fake-aws serves an AWS state file (docs/aws-state.md) as a local fake IAM, STS and EKS
// that speak AWS's wire protocols, for the demo and for development. It is test tooling: the
// irsa-guard binary never contains the fake (go list -deps ./cmd/irsa-guard does not list fakeaws).
//
// Usage: fake-aws --state FILE [--listen 127.0.0.1:0] [--oidc-issuer] [--oidc-ca-file FILE] [--trusted-ca-file FILE]
//
// The first lines of stdout are KEY=value environment variables that point the AWS SDK and CLI at
// it, then an empty line; everything else goes to stderr. Stop it with Ctrl-C or SIGTERM. Faults can
// be injected at run time: curl -X POST $URL/_fake/faults -d '{"faults":[{"error":"Throttling"}]}'
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
)

type fakeAWSOptions struct {
	statePath  string
	listen     string
	oidcIssuer bool
	oidcCAFile string
	trustedCAs string
}

// usageError is bad input: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "fake-aws:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "fake-aws:", err)
		os.Exit(1)
	}
}

// run parses args and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o fakeAWSOptions
	fs := flag.NewFlagSet("fake-aws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.statePath, "state", "", "AWS state YAML file to serve (docs/aws-state.md)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free one)")
	fs.BoolVar(&o.oidcIssuer, "oidc-issuer", false, "also start an HTTPS OIDC issuer and register its provider in the caller's account")
	fs.StringVar(&o.oidcCAFile, "oidc-ca-file", "", "where to write the OIDC issuer's root CA (default: a temporary file)")
	fs.StringVar(&o.trustedCAs, "trusted-ca-file", "", "PEM CAs that play AWS's trusted CAs when AssumeRoleWithWebIdentity fetches an issuer's keys (default: the system roots; other issuers need their thumbprint)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if o.statePath == "" {
		return usageError{errors.New("--state FILE is required (see docs/aws-state.md)")}
	}
	return runFakeAWS(ctx, o, stdout, stderr)
}

// runFakeAWS serves until ctx ends (SIGTERM or Ctrl-C through main's signal context).
func runFakeAWS(ctx context.Context, o fakeAWSOptions, stdout, stderr io.Writer) error {
	state, err := awsstate.LoadState(o.statePath)
	if err != nil {
		return usageError{err}
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
	roots, err := readCAFile(o.trustedCAs)
	if err != nil {
		return usageError{err}
	}
	srv, err := fakeaws.Listen(o.listen, state)
	if err != nil {
		return usageError{err}
	}
	srv.SetIssuerRoots(roots)
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
func addProvider(state *awsstate.State, issuerURL, thumbprint string) {
	acct := state.Accounts[state.CallerAccount]
	if acct == nil {
		acct = &awsstate.Account{}
		state.Accounts[state.CallerAccount] = acct
	}
	for _, p := range acct.OIDCProviders {
		if p.URL == issuerURL {
			return
		}
	}
	acct.OIDCProviders = append(acct.OIDCProviders, awsstate.OIDCProvider{
		URL: issuerURL, ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{thumbprint},
		CreateDate: awsstate.DefaultCreateDate(),
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

// readCAFile reads a PEM bundle into a pool; "" is nil, the system roots.
func readCAFile(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--trusted-ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--trusted-ca-file %s holds no PEM certificate", path)
	}
	return pool, nil
}
