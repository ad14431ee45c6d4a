package fakeaws

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestGetCallerIdentity(t *testing.T) {
	srv := startFake(t, testState)
	out, err := stsClient(callerConfig(srv, testAccount)).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	got := []string{aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId)}
	want := []string{testAccount, "arn:aws:iam::111122223333:user/fake-caller", "AIDAFAKE111122223333"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("identity = %q, want %q", got, want)
	}
}

// TestAssumeRoleSwitchesAccount follows irsa-guard's cross-account path: assume the reader role in
// the role's account, then read that account's IAM with the issued credentials.
func TestAssumeRoleSwitchesAccount(t *testing.T) {
	srv := startFake(t, testState)
	ctx := testContext(t)
	out, err := stsClient(callerConfig(srv, testAccount)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::444455556666:role/irsa-guard-reader"),
		RoleSessionName: aws.String("irsa-guard"),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := out.Credentials
	if akid := aws.ToString(c.AccessKeyId); len(akid) != 20 || !strings.HasPrefix(akid, "ASIA") {
		t.Errorf("AccessKeyId = %q, want ASIA + 16 characters", akid)
	}
	if aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		t.Errorf("secret or session token missing: %+v", c)
	}
	if d := time.Until(aws.ToTime(c.Expiration)); d < 13*time.Minute || d > 16*time.Minute {
		t.Errorf("Expiration in %v, want about 15 minutes", d)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::444455556666:assumed-role/irsa-guard-reader/irsa-guard" {
		t.Errorf("AssumedRoleUser.Arn = %q", got)
	}

	assumed := sdkConfig(srv, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	id, err := stsClient(assumed).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity as the assumed role: %v", err)
	}
	if aws.ToString(id.Account) != otherAccount || aws.ToString(id.Arn) != aws.ToString(out.AssumedRoleUser.Arn) {
		t.Errorf("assumed identity = %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}
	role, err := iamClient(assumed).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("remote-app")})
	if err != nil {
		t.Fatalf("GetRole in the assumed account: %v", err)
	}
	if got := aws.ToString(role.Role.Arn); got != "arn:aws:iam::444455556666:role/irsa/remote-app" {
		t.Errorf("Arn = %q", got)
	}
	_, err = iamClient(assumed).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-reader")})
	assertAPIError(t, err, "NoSuchEntity", 404, "The role with name app-reader cannot be found.")
}

func TestAssumeRoleRefusals(t *testing.T) {
	srv := startFake(t, testState)
	denied := func(arn string) string {
		return "User: arn:aws:iam::111122223333:user/fake-caller is not authorized to perform: sts:AssumeRole on resource: " + arn
	}
	tests := map[string]struct {
		roleARN, session string
		duration         int32
		wantCode         string
		wantStatus       int
		wantMessage      string
	}{
		"a role whose trust names another account is AccessDenied": {
			roleARN: "arn:aws:iam::444455556666:role/untrusting", wantCode: "AccessDenied", wantStatus: 403,
			wantMessage: denied("arn:aws:iam::444455556666:role/untrusting"),
		},
		"a role that does not exist is AccessDenied, as STS hides existence": {
			roleARN: "arn:aws:iam::444455556666:role/nope", wantCode: "AccessDenied", wantStatus: 403,
			wantMessage: denied("arn:aws:iam::444455556666:role/nope"),
		},
		"a role trusting only web identities cannot be assumed with AssumeRole": {
			roleARN: "arn:aws:iam::111122223333:role/app-reader", wantCode: "AccessDenied", wantStatus: 403,
			wantMessage: denied("arn:aws:iam::111122223333:role/app-reader"),
		},
		"an ARN ending in a slash has no role name: ValidationError": {
			roleARN: "arn:aws:iam::444455556666:role/irsa-guard-reader/", wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "Request ARN is invalid",
		},
		"the right name under a path it does not have is AccessDenied": {
			roleARN: "arn:aws:iam::444455556666:role/ops/irsa-guard-reader", wantCode: "AccessDenied", wantStatus: 403,
			wantMessage: denied("arn:aws:iam::444455556666:role/ops/irsa-guard-reader"),
		},
		"the seed's extra-colon ARN is a ValidationError": {
			roleARN: "arn:aws:iam::::1234567890:role/example", wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "Request ARN is invalid",
		},
		"a duration above the role's maximum is a ValidationError": {
			roleARN: "arn:aws:iam::444455556666:role/irsa-guard-reader", duration: 7200, wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role or is below 900: 7200",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tc.roleARN), RoleSessionName: aws.String("irsa-guard")}
			if tc.duration != 0 {
				in.DurationSeconds = aws.Int32(tc.duration)
			}
			_, err := stsClient(callerConfig(srv, testAccount)).AssumeRole(testContext(t), in)
			assertAPIError(t, err, tc.wantCode, tc.wantStatus, tc.wantMessage)
		})
	}
}

func TestDescribeCluster(t *testing.T) {
	srv := startFake(t, testState)
	tests := map[string]struct {
		name, region, account string
		wantIssuer            string
		wantMessage           string
	}{
		"the cluster answers with its ARN and OIDC issuer": {
			name: "demo", region: "us-west-2", account: testAccount, wantIssuer: testIssuer,
		},
		"a cluster name that does not exist is ResourceNotFoundException": {
			name: "prod", region: "us-west-2", account: testAccount, wantMessage: "No cluster found for name: prod.",
		},
		"the right name in another region is not found": {
			name: "demo", region: "eu-west-1", account: testAccount, wantMessage: "No cluster found for name: demo.",
		},
		"the right name with another account's credentials is not found": {
			name: "demo", region: "us-west-2", account: otherAccount, wantMessage: "No cluster found for name: demo.",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := callerConfig(srv, tc.account)
			cfg.Region = tc.region
			out, err := eksClient(cfg).DescribeCluster(testContext(t), &eks.DescribeClusterInput{Name: aws.String(tc.name)})
			if tc.wantMessage != "" {
				assertAPIError(t, err, "ResourceNotFoundException", 404, tc.wantMessage)
				return
			}
			if err != nil {
				t.Fatalf("DescribeCluster: %v", err)
			}
			if got := aws.ToString(out.Cluster.Identity.Oidc.Issuer); got != tc.wantIssuer {
				t.Errorf("issuer = %q, want %q", got, tc.wantIssuer)
			}
			if got := aws.ToString(out.Cluster.Arn); got != "arn:aws:eks:us-west-2:111122223333:cluster/demo" {
				t.Errorf("arn = %q", got)
			}
			if out.Cluster.Status != "ACTIVE" || out.Cluster.CreatedAt == nil {
				t.Errorf("status %q createdAt %v", out.Cluster.Status, out.Cluster.CreatedAt)
			}
		})
	}
}
