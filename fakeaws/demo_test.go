package fakeaws

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-guard/irsa-guard/validators"
)

// TestDemoStateProducesTheDocumentedFindings keeps examples/demo/aws-state.yaml and the table in
// examples/demo/README.md in step: each ServiceAccount's facts are read through the real SDK
// (assuming the reader role for the data account, as irsa-guard does) and checked with the real
// validators.
func TestDemoStateProducesTheDocumentedFindings(t *testing.T) {
	st, err := awsstate.LoadState("../examples/demo/aws-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(st)
	defer srv.Close()
	issuer := st.Clusters[0].Issuer
	tests := map[string]struct {
		namespace, name, roleARN, audience string
		want                               []validators.CheckID
	}{
		"payments-api is set up right":                           {"payments", "payments-api", "arn:aws:iam::111122223333:role/payments-api", "", nil},
		"orders-worker's annotation lacks the role's path":       {"shop", "orders-worker", "arn:aws:iam::111122223333:role/orders-worker", "", []validators.CheckID{"IRSA011"}},
		"orders-worker with the path is right":                   {"shop", "orders-worker", "arn:aws:iam::111122223333:role/workloads/orders-worker", "", nil},
		"inventory-sync's annotation has the wrong case":         {"shop", "inventory-sync", "arn:aws:iam::111122223333:role/inventory-sync", "", []validators.CheckID{"IRSA011"}},
		"reports-exporter's trust has a sub typo":                {"reports", "reports-exporter", "arn:aws:iam::111122223333:role/reports-exporter", "", []validators.CheckID{"IRSA032"}},
		"batch-runner uses StringEquals with a wildcard":         {"batch", "nightly", "arn:aws:iam::111122223333:role/batch-runner", "", []validators.CheckID{"IRSA032"}},
		"analytics-reader trusts every ServiceAccount":           {"analytics", "dashboard", "arn:aws:iam::111122223333:role/analytics-reader", "", []validators.CheckID{"IRSA034"}},
		"search-indexer trusts the old cluster":                  {"search", "search-indexer", "arn:aws:iam::111122223333:role/search-indexer", "", []validators.CheckID{"IRSA030"}},
		"ci-deployer allows the wrong action":                    {"ci", "deployer", "arn:aws:iam::111122223333:role/ci-deployer", "", []validators.CheckID{"IRSA031"}},
		"quarantined-app is denied explicitly":                   {"legacy", "quarantined-app", "arn:aws:iam::111122223333:role/quarantined-app", "", []validators.CheckID{"IRSA033"}},
		"custom-audience-app's audience is not a client ID":      {"payments", "custom-audience-app", "arn:aws:iam::111122223333:role/custom-audience-app", "payments.example.com", []validators.CheckID{"IRSA021"}},
		"cart's role does not exist":                             {"shop", "cart", "arn:aws:iam::111122223333:role/cart-service", "", []validators.CheckID{"IRSA010"}},
		"shared-data-reader works across accounts":               {"analytics", "shared-data-reader", "arn:aws:iam::444455556666:role/shared-data-reader", "", nil},
		"legacy-shared-writer trusts another account's provider": {"analytics", "legacy-shared-writer", "arn:aws:iam::444455556666:role/legacy-shared-writer", "", []validators.CheckID{"IRSA035"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			id := validators.Identity{
				Object:    validators.Object{Kind: "ServiceAccount", Namespace: tc.namespace, Name: tc.name},
				Namespace: tc.namespace, ServiceAccount: tc.name, RoleARN: tc.roleARN, Audience: tc.audience, Issuer: issuer,
			}
			facts := demoFacts(t, srv, st, id)
			var got []validators.CheckID
			for _, f := range validators.CheckAWS(id, facts) {
				if f.Severity != validators.SeverityInfo {
					got = append(got, f.Check)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				for _, f := range validators.CheckAWS(id, facts) {
					t.Logf("finding: %s %s: %s", f.Check, f.Severity, f.Message)
				}
				t.Errorf("checks = %v, want %v", got, tc.want)
			}
		})
	}
}

// demoFacts gathers what the AWS adapter would, through the SDK: credentials for the role's
// account (assuming irsa-guard-reader there when it is not the caller's), GetRole and
// GetOpenIDConnectProvider.
func demoFacts(t *testing.T, srv *Server, st *awsstate.State, id validators.Identity) validators.AWSFacts {
	t.Helper()
	ctx := testContext(t)
	arn, err := validators.ParseRoleARN(id.RoleARN)
	if err != nil {
		t.Fatal(err)
	}
	cfg := callerConfig(srv, st.CallerAccount)
	if arn.Account != st.CallerAccount {
		out, err := stsClient(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::" + arn.Account + ":role/irsa-guard-reader"), RoleSessionName: aws.String("irsa-guard"),
		})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		cfg = sdkConfig(srv, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	}
	client := iamClient(cfg)
	facts := validators.AWSFacts{Now: time.Now(), Partition: arn.Partition}
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(arn.Name)})
	var nse *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &nse):
		facts.RoleNotFound = true
	case err != nil:
		t.Fatal(err)
	default:
		policy, err := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		facts.Role = &validators.RoleFacts{ARN: aws.ToString(role.Role.Arn), Trust: validators.ParseTrustDocument(policy), CreateDate: aws.ToTime(role.Role.CreateDate)}
	}
	providerARN := validators.ProviderARN(arn.Partition, arn.Account, id.Issuer)
	p, err := client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	switch {
	case errors.As(err, &nse):
		facts.ProviderNotFound = true
	case err != nil:
		t.Fatal(err)
	default:
		facts.Provider = &validators.ProviderFacts{ARN: providerARN, ClientIDs: p.ClientIDList, Thumbprints: p.ThumbprintList, CreateDate: aws.ToTime(p.CreateDate)}
	}
	return facts
}
