package fakeaws

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	testIssuer   = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	testAccount  = "111122223333"
	otherAccount = "444455556666"
)

// testState is a small realistic world: the caller's account with an IRSA role and the cluster's
// provider, and a second account reachable through a reader role.
const testState = `
callerAccount: "111122223333"
clusters:
  - name: demo
    region: us-west-2
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
accounts:
  "111122223333":
    roles:
      - name: app-reader
        createDate: 2025-03-04T05:06:07Z
        maxSessionDuration: 7200
        description: reads the app bucket
        tags:
          - {key: team, value: payments}
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                Federated: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals:
                  oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub: system:serviceaccount:shop:app
                  oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:aud: sts.amazonaws.com
      - name: Team-Writer
        path: /teams/payments/
        trustPolicy: '{"Version":"2012-10-17","Statement":[]}'
    oidcProviders:
      - url: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
        clientIDs: [sts.amazonaws.com]
        thumbprints: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]
        createDate: 2024-06-01T12:00:00Z
  "444455556666":
    roles:
      - name: irsa-guard-reader
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            Effect: Allow
            Principal: {AWS: "arn:aws:iam::111122223333:root"}
            Action: sts:AssumeRole
      - name: untrusting
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            Effect: Allow
            Principal: {AWS: "arn:aws:iam::999999999999:root"}
            Action: sts:AssumeRole
      - name: remote-app
        path: /irsa/
        trustPolicy: {Version: "2012-10-17", Statement: []}
    oidcProviders:
      - url: https://oidc.eks.eu-west-1.amazonaws.com/id/REMOTE0000000000000000000000000A
        clientIDs: [sts.amazonaws.com]
`

// startFake parses state and serves it for the test's lifetime.
func startFake(t *testing.T, state string) *Server {
	t.Helper()
	st, err := awsstate.ParseState([]byte(state))
	if err != nil {
		t.Fatalf("ParseState: %v", err)
	}
	srv := NewServer(st)
	t.Cleanup(srv.Close)
	return srv
}

// sdkConfig is what a real caller builds: static credentials of account, one retry attempt so
// call counts are exact, and a short timeout.
func sdkConfig(srv *Server, akid, secret, token string) aws.Config {
	return aws.Config{
		Region:           "us-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider(akid, secret, token),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(srv.URL()),
		HTTPClient:       &http.Client{Timeout: 10 * time.Second},
	}
}

func callerConfig(srv *Server, account string) aws.Config {
	return sdkConfig(srv, CallerAccessKeyID(account), CallerSecretAccessKey, "")
}

func iamClient(cfg aws.Config) *iam.Client { return iam.NewFromConfig(cfg) }
func stsClient(cfg aws.Config) *sts.Client { return sts.NewFromConfig(cfg) }
func eksClient(cfg aws.Config) *eks.Client { return eks.NewFromConfig(cfg) }

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
