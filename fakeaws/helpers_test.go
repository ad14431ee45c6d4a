package fakeaws

import (
	"context"
	"net/http"
	"os"
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

// testState is awsstate's test world: the caller's account with an IRSA role and the cluster's
// provider, and a second account reachable through a reader role.
var testState = func() string {
	b, err := os.ReadFile("../awsstate/testdata/world.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

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
