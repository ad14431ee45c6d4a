package testenv

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
)

// FakeAWS is the AWS an irsa-guard under test talks to: fakeaws's IAM, STS and EKS on loopback, and a
// fake HTTPS OIDC issuer standing in for the cluster's (so the issuer's TLS thumbprint, IRSA022, is
// checked for real instead of failing to reach oidc.eks.*.amazonaws.com).
type FakeAWS struct {
	Server *fakeaws.Server
	Issuer *fakeaws.OIDCIssuer // nil when the API server is the issuer (StartFakeAWSWithClusterIssuer)
	// IssuerURL is the cluster's OIDC issuer as irsa-guard must be configured with it: the fake's URL.
	IssuerURL string
	// StandsFor is the state's original issuer URL that IssuerURL replaced.
	StandsFor string
	// CAFile holds the fake issuer's root CA; irsa-guard trusts it through SSL_CERT_FILE, as a
	// public CA. Empty when the API server is the issuer.
	CAFile string
	// IssuerCAFile holds the API server's CA when it is the issuer (StartFakeAWSWithClusterIssuer):
	// a private CA, for irsa-guard's --issuer-ca.
	IssuerCAFile string
	// State is the world being served, after the issuer was replaced.
	State *awsstate.State
}

// StartFakeAWS serves an AWS state document (docs/aws-state.md) whose first cluster's issuer is
// replaced by a fake OIDC issuer with the same path on 127.0.0.1: every mention of the issuer's host
// (provider URLs, trust principals, condition keys) is rewritten, and the providers for the issuer get
// the fake's real thumbprint. A state for issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
// thus behaves exactly as documented, offline. dir receives the CA file. Close the result when done.
func StartFakeAWS(stateYAML []byte, dir string) (*FakeAWS, error) {
	orig, err := awsstate.ParseState(stateYAML)
	if err != nil {
		return nil, fmt.Errorf("AWS state: %w", err)
	}
	if len(orig.Clusters) == 0 {
		return nil, fmt.Errorf("AWS state: list the cluster under clusters: with its issuer, so the fake knows which issuer to stand in for")
	}
	standsFor := orig.Clusters[0].Issuer
	u, err := url.Parse(standsFor)
	if err != nil || u.Host == "" || u.Path == "" || u.Path == "/" {
		return nil, fmt.Errorf("AWS state: cluster %q: issuer %q needs a host and a path like /id/EXAMPLED539D4633E53DE1B716D3041E", orig.Clusters[0].Name, standsFor)
	}
	issuer, err := fakeaws.NewOIDCIssuer(fakeaws.OIDCIssuerOptions{Path: u.Path})
	if err != nil {
		return nil, fmt.Errorf("start the fake OIDC issuer: %w", err)
	}
	fakeHost, err := url.Parse(issuer.URL())
	if err != nil {
		issuer.Close()
		return nil, err
	}
	state, err := awsstate.ParseState(bytes.ReplaceAll(stateYAML, []byte(u.Host), []byte(fakeHost.Host)))
	if err != nil {
		issuer.Close()
		return nil, fmt.Errorf("AWS state with the issuer replaced: %w", err)
	}
	for _, acct := range state.Accounts {
		for i := range acct.OIDCProviders {
			if acct.OIDCProviders[i].URL == issuer.URL() {
				acct.OIDCProviders[i].Thumbprints = []string{issuer.Thumbprint()}
			}
		}
	}
	caFile := filepath.Join(dir, "fake-oidc-ca.pem")
	if err := os.WriteFile(caFile, issuer.RootPEM(), 0o600); err != nil {
		issuer.Close()
		return nil, fmt.Errorf("write the fake issuer's CA: %w", err)
	}
	srv, err := fakeaws.Listen("127.0.0.1:0", state)
	if err != nil {
		issuer.Close()
		return nil, err
	}
	return &FakeAWS{Server: srv, Issuer: issuer, IssuerURL: issuer.URL(), StandsFor: standsFor, CAFile: caFile, State: state}, nil
}

// Env is the environment that points the AWS SDK (LoadDefaultConfig) at the fake with the caller
// account's credentials, keeps it away from any real AWS configuration on the machine, and makes Go's
// TLS trust the fake issuer.
func (f *FakeAWS) Env() []string {
	region := f.State.Clusters[0].Region
	env := []string{
		"AWS_ENDPOINT_URL_IAM=" + f.Server.URL(),
		"AWS_ENDPOINT_URL_STS=" + f.Server.URL(),
		"AWS_ENDPOINT_URL_EKS=" + f.Server.URL(),
		"AWS_ACCESS_KEY_ID=" + fakeaws.CallerAccessKeyID(f.State.CallerAccount),
		"AWS_SECRET_ACCESS_KEY=" + fakeaws.CallerSecretAccessKey,
		"AWS_REGION=" + region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	}
	if f.CAFile != "" {
		env = append(env, "SSL_CERT_FILE="+f.CAFile)
	}
	return env
}

// Close stops the fake AWS and the issuer.
func (f *FakeAWS) Close() {
	if f == nil {
		return
	}
	f.Server.Close()
	if f.Issuer != nil {
		f.Issuer.Close()
	}
}
