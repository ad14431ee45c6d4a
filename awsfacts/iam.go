package awsfacts

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-guard/irsa-guard/validators"
)

// getRole calls iam:GetRole. The SDK leaves AssumeRolePolicyDocument URL-encoded (RFC 3986,
// aws/aws-sdk-go-v2#227); it is decoded here exactly once so a policy containing a literal
// "%" is never double-decoded.
func (v *Verifier) getRole(ctx context.Context, client *iam.Client, name string) (validators.RoleFacts, error) {
	start := time.Now()
	out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	v.metrics.observe("GetRole", start, err)
	if err != nil {
		return validators.RoleFacts{}, fmt.Errorf("get IAM role %q: %w", name, err)
	}
	if out.Role == nil {
		return validators.RoleFacts{}, fmt.Errorf("get IAM role %q: response has no Role", name)
	}
	policy, err := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return validators.RoleFacts{}, fmt.Errorf("get IAM role %q: AssumeRolePolicyDocument is not URL-encoded: %w", name, err)
	}
	// Parsed once per fetch: the cache entry carries the parsed policy to every warm admission.
	return validators.RoleFacts{ARN: aws.ToString(out.Role.Arn), Trust: validators.ParseTrustDocument(policy),
		CreateDate: aws.ToTime(out.Role.CreateDate)}, nil
}

// getProvider calls iam:GetOpenIDConnectProvider on the ARN built from the issuer: no listing
// needed, and the ARN is exactly the one STS resolves from the token's iss.
func (v *Verifier) getProvider(ctx context.Context, client *iam.Client, arn string) (validators.ProviderFacts, error) {
	start := time.Now()
	out, err := client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	v.metrics.observe("GetOpenIDConnectProvider", start, err)
	if err != nil {
		return validators.ProviderFacts{}, fmt.Errorf("get IAM OIDC provider %q: %w", arn, err)
	}
	return validators.ProviderFacts{ARN: arn, ClientIDs: out.ClientIDList, Thumbprints: out.ThumbprintList, CreateDate: aws.ToTime(out.CreateDate)}, nil
}

// ownAccount is irsa-guard's account, from Options or sts:GetCallerIdentity (cached like a role).
func (v *Verifier) ownAccount(ctx context.Context) (string, error) {
	if v.opts.Account != "" {
		return v.opts.Account, nil
	}
	r := v.self.get(ctx, "self", func(ctx context.Context) (string, error) {
		start := time.Now()
		out, err := sts.NewFromConfig(v.cfg, v.stsOptions).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		v.metrics.observe("GetCallerIdentity", start, err)
		if err != nil {
			return "", fmt.Errorf("get irsa-guard's own AWS account: %w", err)
		}
		return aws.ToString(out.Account), nil
	})
	return r.val, r.err
}
