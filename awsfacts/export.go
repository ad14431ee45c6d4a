package awsfacts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

// Export reads irsa-guard's own account into an AWS state file: the IAM OIDC provider for issuer
// (found reports whether there is one) and the roles whose trust policy mentions it, or every role
// with allRoles. Every call goes through the SDK source's rate limit, retryer and metrics; trust
// policies are decoded as GetRole's are, exactly once.
func (v *SDK) Export(ctx context.Context, issuer string, allRoles bool) (_ *awsstate.State, found bool, _ error) {
	partition, account, err := v.CallerAccount(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("find your AWS account: %w", err)
	}
	acct := &awsstate.Account{}
	st := &awsstate.State{Partition: partition, CallerAccount: account, Accounts: map[string]*awsstate.Account{account: acct}}
	want := validators.ProviderARN(partition, account, issuer)
	start := time.Now()
	list, err := v.iam.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	v.metrics.observe("ListOpenIDConnectProviders", start, err)
	if err != nil {
		return nil, false, fmt.Errorf("list IAM OIDC providers: %w", err)
	}
	for _, p := range list.OpenIDConnectProviderList {
		if aws.ToString(p.Arn) != want {
			continue
		}
		facts, err := v.getProvider(ctx, v.iam, want)
		if err != nil {
			return nil, false, err
		}
		found = true
		acct.OIDCProviders = append(acct.OIDCProviders, awsstate.OIDCProvider{
			URL: issuer, ClientIDs: facts.ClientIDs, Thumbprints: facts.Thumbprints, CreateDate: facts.CreateDate,
		})
	}
	pages := iam.NewListRolesPaginator(v.iam, &iam.ListRolesInput{})
	for pages.HasMorePages() {
		start := time.Now()
		page, err := pages.NextPage(ctx)
		v.metrics.observe("ListRoles", start, err)
		if err != nil {
			return nil, false, fmt.Errorf("list IAM roles: %w", err)
		}
		for _, r := range page.Roles {
			policy, err := decodePolicy(aws.ToString(r.AssumeRolePolicyDocument))
			if err != nil {
				return nil, false, fmt.Errorf("IAM role %s: %w", aws.ToString(r.RoleName), err)
			}
			if !allRoles && !strings.Contains(policy, validators.IssuerHostPath(issuer)) {
				continue
			}
			acct.Roles = append(acct.Roles, awsstate.Role{
				Name: aws.ToString(r.RoleName), Path: aws.ToString(r.Path), CreateDate: aws.ToTime(r.CreateDate),
				MaxSessionDuration: aws.ToInt32(r.MaxSessionDuration), Description: aws.ToString(r.Description),
				TrustPolicy: awsstate.PolicyText(policy),
			})
		}
	}
	return st, found, nil
}
