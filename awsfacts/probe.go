package awsfacts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// ProbeResult is what STS answered to a real sts:AssumeRoleWithWebIdentity. The credentials STS
// returns are dropped at once: never kept, printed or logged.
type ProbeResult struct {
	// Allowed is set when STS issued credentials; AssumedRole is the session's ARN then.
	Allowed     bool
	AssumedRole string
	// Code and Message are STS's error, e.g. InvalidIdentityToken, "Incorrect token audience".
	Code, Message string
	// Err is set when STS could not be asked (network, timeout); Code and Message are then empty.
	Err error
}

// AssumeRoleWithWebIdentity asks STS for the role with a ServiceAccount token, as the pod's SDK
// would: unsigned (the call takes no AWS credentials), through the bounded retryer and the rate
// limit, within ctx's deadline. The STS endpoint is the SDK's for the configured region (or
// AWS_ENDPOINT_URL_STS). It leaves a CloudTrail entry in the role's account, so callers only make
// it when asked to (diagnose --probe).
func (v *SDK) AssumeRoleWithWebIdentity(ctx context.Context, roleARN, token, sessionName string) ProbeResult {
	client := sts.NewFromConfig(v.cfg, v.stsOptions, func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} })
	start := time.Now()
	out, err := client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), WebIdentityToken: aws.String(token), RoleSessionName: aws.String(sessionName),
	})
	v.metrics.observe("AssumeRoleWithWebIdentity", start, err)
	var apiErr smithy.APIError
	switch {
	case err == nil:
		r := ProbeResult{Allowed: true}
		if out.AssumedRoleUser != nil {
			r.AssumedRole = aws.ToString(out.AssumedRoleUser.Arn)
		}
		return r // out.Credentials goes out of scope here, unread
	case errors.As(err, &apiErr):
		return ProbeResult{Code: apiErr.ErrorCode(), Message: apiErr.ErrorMessage()}
	default:
		return ProbeResult{Err: fmt.Errorf("ask STS for %s: %w", roleARN, err)}
	}
}
