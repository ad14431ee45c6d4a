package awsfacts

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-guard/irsa-guard/validators"
)

// iamFor returns an IAM client that can read the given account: irsa-guard's own client for
// its own account, or one signed with a configured reader role's credentials for another (via
// names it, for messages). When there is none, it returns why, for an info "could not verify"
// instead of a false error.
func (v *SDK) iamFor(ctx context.Context, ref validators.RoleARN) (client *iam.Client, via, why string) {
	own, err := v.ownAccount(ctx)
	if err != nil {
		return nil, "", "own account unknown: " + string(Classify(err))
	}
	if ref.Account == own {
		return v.iam, "", ""
	}
	reader, ok := v.opts.ReaderRoles[ref.Account]
	if !ok {
		return nil, "", "no access to account " + ref.Account
	}
	arn := readerRoleARN(ref, reader)
	via = "reader role " + arn[strings.LastIndexByte(arn, '/')+1:]
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.readers[ref.Account]; ok {
		return c, via, ""
	}
	cfg := v.cfg.Copy()
	// The credentials cache refreshes the assumed role's credentials before they expire and
	// shares them between all lookups in that account.
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(
		sts.NewFromConfig(v.cfg, v.stsOptions), arn,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "irsa-guard" }))
	c := iam.NewFromConfig(cfg, v.iamOptions)
	v.readers[ref.Account] = c
	return c, via, ""
}

// readerRoleARN accepts a reader role as a full ARN or as a bare name (with optional path) in
// the role's account and partition.
func readerRoleARN(ref validators.RoleARN, reader string) string {
	if strings.HasPrefix(reader, "arn:") {
		return reader
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", ref.Partition, ref.Account, strings.TrimPrefix(reader, "/"))
}
