package awsfacts

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/validators"
)

const (
	ownAccount    = "111122223333"
	remoteAccount = "444455556666"
	strangerAcct  = "777788889999"
)

// testNow is the fake clock's start: well after the state's default CreateDate.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for cache TTL tests: no sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// issuer is fakeaws's HTTPS OIDC issuer (root -> intermediate -> leaf) and the facts the
// tests compare with.
type issuer struct {
	*fakeaws.OIDCIssuer
	url        string
	thumbprint string // of the jwks_uri host's chain, what IAM should hold
	root       *x509.Certificate
}

func startIssuer(t testing.TB, opts fakeaws.OIDCIssuerOptions) *issuer {
	t.Helper()
	o, err := fakeaws.NewOIDCIssuer(opts)
	if err != nil {
		t.Fatalf("NewOIDCIssuer: %v", err)
	}
	t.Cleanup(o.Close)
	block, _ := pem.Decode(o.RootPEM())
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("parse the fake issuer's root: %v", err)
	}
	return &issuer{OIDCIssuer: o, url: o.URL(), thumbprint: o.JWKSThumbprint(), root: root}
}

// baseState is a realistic account: an IRSA role for shop/app, a role with a path, a role whose
// trust was written for sts:AssumeRole, the cluster's provider, and a second account reachable
// through a reader role. ISSUER, HOSTPATH and THUMB are filled in per test.
const baseState = `
callerAccount: "111122223333"
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
              Condition:
                StringEquals:
                  "HOSTPATH:sub": system:serviceaccount:shop:app
                  "HOSTPATH:aud": sts.amazonaws.com
      - name: Team-Writer
        path: /teams/payments/
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals: {"HOSTPATH:sub": system:serviceaccount:shop:app}
      - name: percent
        trustPolicy: '{"Version":"2012-10-17","Statement":[{"Sid":"Save100%25","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/HOSTPATH"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"HOSTPATH:sub":"system:serviceaccount:shop:app"}}}]}'
    oidcProviders:
      - url: ISSUER
        clientIDs: [sts.amazonaws.com]
        thumbprints: [THUMB]
  "444455556666":
    roles:
      - name: irsa-guard-reader
        trustPolicy:
          Version: "2012-10-17"
          Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::111122223333:root"}, Action: sts:AssumeRole}
      - name: untrusting-reader
        trustPolicy:
          Version: "2012-10-17"
          Statement: {Effect: Allow, Principal: {AWS: "arn:aws:iam::999999999999:root"}, Action: sts:AssumeRole}
      - name: remote-app
        path: /irsa/
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::444455556666:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals: {"HOSTPATH:sub": system:serviceaccount:shop:app, "HOSTPATH:aud": sts.amazonaws.com}
    oidcProviders:
      - url: ISSUER
        clientIDs: [sts.amazonaws.com]
        thumbprints: [THUMB]
`

// env is one test's world: fake AWS, fake issuer, clock, metrics registry.
type env struct {
	aws       *fakeaws.Server
	stateText string
	issuer    *issuer
	clock     *fakeClock
	reg       *prometheus.Registry
}

func newEnv(t testing.TB, edit func(*awsstate.State)) *env {
	t.Helper()
	return newEnvWithIssuer(t, fakeaws.OIDCIssuerOptions{}, edit)
}

func newEnvWithIssuer(t testing.TB, opts fakeaws.OIDCIssuerOptions, edit func(*awsstate.State)) *env {
	t.Helper()
	return newEnvOn(t, startIssuer(t, opts), edit)
}

// newEnvOn shares one issuer between subtests: generating its RSA key and chain is the slow part.
func newEnvOn(t testing.TB, iss *issuer, edit func(*awsstate.State)) *env {
	t.Helper()
	text := strings.NewReplacer("HOSTPATH", validators.IssuerHostPath(iss.url), "ISSUER", iss.url, "THUMB", iss.thumbprint).Replace(baseState)
	st, err := awsstate.ParseState([]byte(text))
	if err != nil {
		t.Fatalf("ParseState: %v", err)
	}
	if edit != nil {
		edit(st)
	}
	srv := fakeaws.NewServer(st)
	t.Cleanup(srv.Close)
	return &env{aws: srv, stateText: text, issuer: iss, clock: &fakeClock{t: testNow}, reg: prometheus.NewRegistry()}
}

// config is what cmd/irsa-guard builds from the default chain, pointed at the fake.
func (e *env) config() aws.Config {
	return aws.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider(fakeaws.CallerAccessKeyID(ownAccount), fakeaws.CallerSecretAccessKey, ""),
		BaseEndpoint: aws.String(e.aws.URL()),
	}
}

// verifier builds a SDK on the fake whose issuer chain counts as publicly trusted.
func (e *env) verifier(t testing.TB, edit func(*Options)) *SDK {
	t.Helper()
	opts := Options{Clock: e.clock.Now, Registerer: e.reg, PublicRoots: []*x509.Certificate{e.issuer.root}}
	if edit != nil {
		edit(&opts)
	}
	v, err := NewSDK(e.config(), opts)
	if err != nil {
		t.Fatalf("NewSDK: %v", err)
	}
	return v
}

func (e *env) identity(roleARN string) validators.Identity {
	return validators.Identity{
		Object:    validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"},
		Namespace: "shop", ServiceAccount: "app", RoleARN: roleARN, Issuer: e.issuer.url,
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// summary renders findings as "IRSA010/error" for exact comparisons.
func summary(fs []validators.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.Check)+"/"+string(f.Severity))
	}
	return out
}

func findingWith(fs []validators.Finding, id validators.CheckID) (validators.Finding, bool) {
	for _, f := range fs {
		if f.Check == id {
			return f, true
		}
	}
	return validators.Finding{}, false
}

// check is what the review engine does with a source's answer for one identity: the AWS checks.
func check(s Source, ctx context.Context, id validators.Identity) []validators.Finding {
	return validators.CheckAWS(id, s.IdentityFacts(ctx, id))
}
