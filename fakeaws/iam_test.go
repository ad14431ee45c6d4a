package fakeaws

import (
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

func TestGetRoleDecodesEveryField(t *testing.T) {
	srv := startFake(t, testState)
	out, err := iamClient(callerConfig(srv, testAccount)).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	r := out.Role
	want := map[string]string{
		"Arn":         "arn:aws:iam::111122223333:role/app-reader",
		"RoleName":    "app-reader",
		"Path":        "/",
		"Description": "reads the app bucket",
	}
	got := map[string]string{"Arn": aws.ToString(r.Arn), "RoleName": aws.ToString(r.RoleName), "Path": aws.ToString(r.Path), "Description": aws.ToString(r.Description)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("role fields = %v, want %v", got, want)
	}
	if !r.CreateDate.Equal(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("CreateDate = %v", r.CreateDate)
	}
	if aws.ToInt32(r.MaxSessionDuration) != 7200 {
		t.Errorf("MaxSessionDuration = %v", aws.ToInt32(r.MaxSessionDuration))
	}
	if id := aws.ToString(r.RoleId); len(id) != 21 || id[:4] != "AROA" {
		t.Errorf("RoleId = %q, want AROA + 17 characters", id)
	}
	if !reflect.DeepEqual(r.Tags, []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}) {
		t.Errorf("Tags = %v", r.Tags)
	}
	policy, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatalf("AssumeRolePolicyDocument is not URL-encoded: %v", err)
	}
	const wantPolicy = `{"Statement":[{"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:aud":"sts.amazonaws.com","oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub":"system:serviceaccount:shop:app"}},"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"}}],"Version":"2012-10-17"}`
	if policy != wantPolicy {
		t.Errorf("decoded policy =\n%s\nwant\n%s", policy, wantPolicy)
	}
	if srv.Calls("GetRole") != 1 {
		t.Errorf("Calls(GetRole) = %d, want 1", srv.Calls("GetRole"))
	}
}

// TestGetRoleLooksNamesUpLikeIAM covers the lookups whose answers the IRSA010/IRSA011 checks read.
func TestGetRoleLooksNamesUpLikeIAM(t *testing.T) {
	srv := startFake(t, testState)
	tests := map[string]struct {
		account, name string
		wantARN       string
		wantCode      string
		wantStatus    int
		wantMessage   string
	}{
		"a role with a path answers with its full ARN": {
			account: testAccount, name: "Team-Writer", wantARN: "arn:aws:iam::111122223333:role/teams/payments/Team-Writer",
		},
		"names are case-insensitive and the answer carries the real case": {
			account: testAccount, name: "team-writer", wantARN: "arn:aws:iam::111122223333:role/teams/payments/Team-Writer",
		},
		"a missing role is NoSuchEntity 404 with IAM's message": {
			account: testAccount, name: "app-writer", wantCode: "NoSuchEntity", wantStatus: 404,
			wantMessage: "The role with name app-writer cannot be found.",
		},
		"another account's role is not visible with this account's credentials": {
			account: testAccount, name: "irsa-guard-reader", wantCode: "NoSuchEntity", wantStatus: 404,
			wantMessage: "The role with name irsa-guard-reader cannot be found.",
		},
		"an account absent from the state is empty, not an error": {
			account: "777788889999", name: "app-reader", wantCode: "NoSuchEntity", wantStatus: 404,
			wantMessage: "The role with name app-reader cannot be found.",
		},
		"a name that breaks IAM's pattern is a ValidationError": {
			account: testAccount, name: "teams/app", wantCode: "ValidationError", wantStatus: 400,
			wantMessage: `1 validation error detected: Value 'teams/app' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := iamClient(callerConfig(srv, tc.account)).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String(tc.name)})
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("GetRole: %v", err)
				}
				if got := aws.ToString(out.Role.Arn); got != tc.wantARN {
					t.Errorf("Arn = %q, want %q", got, tc.wantARN)
				}
				return
			}
			assertAPIError(t, err, tc.wantCode, tc.wantStatus, tc.wantMessage)
			if tc.wantCode == "NoSuchEntity" {
				var nse *iamtypes.NoSuchEntityException
				if !errors.As(err, &nse) {
					t.Errorf("error %T is not the SDK's typed NoSuchEntityException", err)
				}
			}
		})
	}
}

func TestGetOpenIDConnectProvider(t *testing.T) {
	srv := startFake(t, testState)
	const arn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	tests := map[string]struct {
		arn         string
		wantCode    string
		wantStatus  int
		wantMessage string
	}{
		"the cluster's provider decodes with URL, client IDs, thumbprints and date": {arn: arn},
		"a provider for another issuer is NoSuchEntity with IAM's message": {
			arn:      "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/OTHER",
			wantCode: "NoSuchEntity", wantStatus: 404,
			wantMessage: "OpenIDConnect Provider not found for arn arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/OTHER",
		},
		"a provider ARN with https:// in it is not found (IAM stores it without the scheme)": {
			arn:      "arn:aws:iam::111122223333:oidc-provider/https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
			wantCode: "NoSuchEntity", wantStatus: 404,
			wantMessage: "OpenIDConnect Provider not found for arn arn:aws:iam::111122223333:oidc-provider/https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E",
		},
		"a role ARN is InvalidInput": {
			arn: "arn:aws:iam::111122223333:role/app-reader", wantCode: "InvalidInput", wantStatus: 400,
			wantMessage: "ARN arn:aws:iam::111122223333:role/app-reader is not valid.",
		},
		"another account's provider is AccessDenied": {
			arn:      "arn:aws:iam::444455556666:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/REMOTE0000000000000000000000000A",
			wantCode: "AccessDenied", wantStatus: 403,
			wantMessage: "User: arn:aws:iam::111122223333:user/fake-caller is not authorized to perform: iam:GetOpenIDConnectProvider on resource: arn:aws:iam::444455556666:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/REMOTE0000000000000000000000000A",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := iamClient(callerConfig(srv, testAccount)).GetOpenIDConnectProvider(testContext(t),
				&iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(tc.arn)})
			if tc.wantCode != "" {
				assertAPIError(t, err, tc.wantCode, tc.wantStatus, tc.wantMessage)
				return
			}
			if err != nil {
				t.Fatalf("GetOpenIDConnectProvider: %v", err)
			}
			if got := aws.ToString(out.Url); got != "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E" {
				t.Errorf("Url = %q", got)
			}
			if !reflect.DeepEqual(out.ClientIDList, []string{"sts.amazonaws.com"}) {
				t.Errorf("ClientIDList = %q", out.ClientIDList)
			}
			if !reflect.DeepEqual(out.ThumbprintList, []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}) {
				t.Errorf("ThumbprintList = %q", out.ThumbprintList)
			}
			if !out.CreateDate.Equal(time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)) {
				t.Errorf("CreateDate = %v", out.CreateDate)
			}
		})
	}
}

func TestListOpenIDConnectProviders(t *testing.T) {
	srv := startFake(t, testState)
	tests := map[string]struct {
		account string
		want    []string
	}{
		"the caller's account lists its provider ARNs": {
			account: testAccount,
			want:    []string{"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"},
		},
		"an account without providers lists none": {account: "777788889999"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := iamClient(callerConfig(srv, tc.account)).ListOpenIDConnectProviders(testContext(t), &iam.ListOpenIDConnectProvidersInput{})
			if err != nil {
				t.Fatalf("ListOpenIDConnectProviders: %v", err)
			}
			var got []string
			for _, p := range out.OpenIDConnectProviderList {
				got = append(got, aws.ToString(p.Arn))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ARNs = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnknownCredentialsAreRejected(t *testing.T) {
	srv := startFake(t, testState)
	_, err := iamClient(sdkConfig(srv, "AKIAIOSFODNN7EXAMPLE", "secret", "")).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
	assertAPIError(t, err, "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
}

// assertAPIError checks the code, HTTP status and message the SDK decoded from the fake's answer.
func assertAPIError(t *testing.T, err error, code string, status int, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an API error", err, err)
	}
	if ae.ErrorCode() != code || ae.ErrorMessage() != message {
		t.Errorf("error = %s: %q, want %s: %q", ae.ErrorCode(), ae.ErrorMessage(), code, message)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("HTTP status of %v, want %d", err, status)
	}
}
