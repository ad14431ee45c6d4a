package awsfacts

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-guard/irsa-guard/validators"
)

// getRole calls iam:GetRole.
func (v *SDK) getRole(ctx context.Context, client *iam.Client, name string) (*validators.RoleFacts, error) {
	start := time.Now()
	out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	v.metrics.observe("GetRole", start, err)
	if err != nil {
		return nil, fmt.Errorf("get IAM role %q: %w", name, err)
	}
	if out.Role == nil {
		return nil, fmt.Errorf("get IAM role %q: response has no Role", name)
	}
	policy, err := decodePolicy(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return nil, fmt.Errorf("get IAM role %q: %w", name, err)
	}
	// Parsed once per fetch: the cache entry carries the parsed policy to every warm admission.
	return &validators.RoleFacts{ARN: aws.ToString(out.Role.Arn), Trust: validators.ParseTrustDocument(policy),
		CreateDate: aws.ToTime(out.Role.CreateDate)}, nil
}

// getProvider calls iam:GetOpenIDConnectProvider on the ARN built from the issuer: no listing
// needed, and the ARN is exactly the one STS resolves from the token's iss.
func (v *SDK) getProvider(ctx context.Context, client *iam.Client, arn string) (*validators.ProviderFacts, error) {
	start := time.Now()
	out, err := client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	v.metrics.observe("GetOpenIDConnectProvider", start, err)
	if err != nil {
		return nil, fmt.Errorf("get IAM OIDC provider %q: %w", arn, err)
	}
	return &validators.ProviderFacts{ARN: arn, ClientIDs: out.ClientIDList, Thumbprints: out.ThumbprintList, CreateDate: aws.ToTime(out.CreateDate)}, nil
}

// identity is who irsa-guard's credentials are, from sts:GetCallerIdentity.
type identity struct{ partition, account string }

// CallerAccount is the partition and account of irsa-guard's credentials: Options.Partition and
// Options.Account where set, else sts:GetCallerIdentity, asked once and cached like a role, within
// the rate limit, with the bounded retryer and the caller's deadline.
func (v *SDK) CallerAccount(ctx context.Context) (partition, account string, err error) {
	if v.opts.Account != "" && v.opts.Partition != "" {
		return v.opts.Partition, v.opts.Account, nil
	}
	r := v.self.get(ctx, "self", func(ctx context.Context) (identity, error) {
		start := time.Now()
		out, err := v.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		v.metrics.observe("GetCallerIdentity", start, err)
		if err != nil {
			return identity{}, fmt.Errorf("get irsa-guard's own AWS account (sts:GetCallerIdentity): %w", err)
		}
		id := identity{account: aws.ToString(out.Account)}
		if arn := strings.SplitN(aws.ToString(out.Arn), ":", 3); len(arn) == 3 {
			id.partition = arn[1]
		}
		return id, nil
	})
	if r.err != nil {
		return "", "", r.err
	}
	partition, account = r.val.partition, r.val.account
	if v.opts.Partition != "" {
		partition = v.opts.Partition
	}
	if v.opts.Account != "" {
		account = v.opts.Account
	}
	return partition, account, nil
}

// ownAccount is irsa-guard's account: Options.Account, else from CallerAccount.
func (v *SDK) ownAccount(ctx context.Context) (string, error) {
	if v.opts.Account != "" {
		return v.opts.Account, nil
	}
	_, account, err := v.CallerAccount(ctx)
	return account, err
}

// decodePolicy decodes a trust policy as IAM returns it: URL-encoded per RFC 3986, which the SDK
// leaves as is (https://github.com/aws/aws-sdk-go-v2/issues/227). It is decoded exactly once, so a
// policy holding a literal "%" is never double-decoded.
func decodePolicy(encoded string) (string, error) {
	policy, err := url.QueryUnescape(encoded)
	if err != nil {
		return "", fmt.Errorf("AssumeRolePolicyDocument is not URL-encoded: %w", err)
	}
	return policy, nil
}
