package fakeaws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestFaultsReachTheSDKAsAWSErrors checks each fault the way a caller sees it: as the error the
// real SDK returns.
func TestFaultsReachTheSDKAsAWSErrors(t *testing.T) {
	tests := map[string]struct {
		fault awsstate.Fault
		check func(t *testing.T, err error)
	}{
		"Throttling is a 400 with AWS's Rate exceeded": {
			fault: awsstate.Fault{API: "GetRole", Error: "Throttling"},
			check: func(t *testing.T, err error) { assertAPIError(t, err, "Throttling", 400, "Rate exceeded") },
		},
		"ServiceFailure is a 500": {
			fault: awsstate.Fault{Error: "ServiceFailure"},
			check: func(t *testing.T, err error) {
				assertAPIError(t, err, "ServiceFailure", 500, "The request processing has failed because of an unknown error, exception or failure.")
			},
		},
		"ServiceUnavailable is a 503": {
			fault: awsstate.Fault{Error: "ServiceUnavailable"},
			check: func(t *testing.T, err error) {
				assertAPIError(t, err, "ServiceUnavailable", 503, "Service Unavailable")
			},
		},
		"AccessDenied names the caller and the action": {
			fault: awsstate.Fault{API: "GetRole", Error: "AccessDenied"},
			check: func(t *testing.T, err error) {
				assertAPIError(t, err, "AccessDenied", 403, "User: arn:aws:iam::111122223333:user/fake-caller is not authorized to perform: iam:GetRole")
			},
		},
		"InvalidInput is a 400": {
			fault: awsstate.Fault{Error: "InvalidInput"},
			check: func(t *testing.T, err error) {
				assertAPIError(t, err, "InvalidInput", 400, "The request contains an invalid input parameter.")
			},
		},
		"malformed XML is a response the SDK cannot parse": {
			fault: awsstate.Fault{Malformed: true},
			check: func(t *testing.T, err error) {
				// The SDK reports a 200 whose body does not parse as a response error, not an API error.
				var re *awshttp.ResponseError
				var ae smithy.APIError
				if !errors.As(err, &re) || re.HTTPStatusCode() != 200 || errors.As(err, &ae) || !strings.Contains(err.Error(), "XML syntax error") {
					t.Errorf("error %v (%T) is not a 200 response the SDK could not parse", err, err)
				}
			},
		},
		"a reset connection is a send error saying so": {
			fault: awsstate.Fault{Reset: true},
			check: func(t *testing.T, err error) {
				var se *smithyhttp.RequestSendError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), "connection reset by peer") {
					t.Errorf("error %v (%T) is not a RequestSendError for a reset connection", err, err)
				}
			},
		},
		"an HTML page is a 200 the SDK cannot parse": {
			fault: awsstate.Fault{WrongContentType: true},
			check: func(t *testing.T, err error) {
				var re *awshttp.ResponseError
				var ae smithy.APIError
				if !errors.As(err, &re) || re.HTTPStatusCode() != 200 || errors.As(err, &ae) {
					t.Errorf("error %v (%T) is not a 200 response the SDK could not parse", err, err)
				}
			},
		},
		"a dropped connection is a send error with no response": {
			fault: awsstate.Fault{Drop: true},
			check: func(t *testing.T, err error) {
				var se *smithyhttp.RequestSendError
				if !errors.As(err, &se) {
					t.Errorf("error %v (%T) is not a RequestSendError", err, err)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := startFake(t, testState)
			if err := srv.SetFaults(tc.fault); err != nil {
				t.Fatal(err)
			}
			_, err := iamClient(callerConfig(srv, testAccount)).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
			if err == nil {
				t.Fatal("GetRole succeeded despite the fault")
			}
			tc.check(t, err)
			if srv.Calls("GetRole") != 1 {
				t.Errorf("Calls(GetRole) = %d, want 1", srv.Calls("GetRole"))
			}
		})
	}
}

func TestFaultLimitedToOneAPILeavesOthersAlone(t *testing.T) {
	srv := startFake(t, testState)
	if err := srv.SetFaults(awsstate.Fault{API: "GetOpenIDConnectProvider", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	client := iamClient(callerConfig(srv, testAccount))
	if _, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-reader")}); err != nil {
		t.Errorf("GetRole: %v", err)
	}
	_, err := client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{
		OpenIDConnectProviderArn: aws.String("arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"),
	})
	assertAPIError(t, err, "Throttling", 400, "Rate exceeded")
}

// TestEveryNthThrottleIsAbsorbedByTheSDKRetryer shows the SDK's standard retryer retrying a
// throttled call: every 2nd request is throttled, so with 3 attempts each call succeeds.
func TestEveryNthThrottleIsAbsorbedByTheSDKRetryer(t *testing.T) {
	srv := startFake(t, testState)
	if err := srv.SetFaults(awsstate.Fault{API: "GetRole", Error: "Throttling", Every: 2}); err != nil {
		t.Fatal(err)
	}
	cfg := callerConfig(srv, testAccount)
	cfg.RetryMaxAttempts = 3
	client := iamClient(cfg)
	for i := range 3 {
		if _, err := client.GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// Requests 1, 2(throttled)+3, 4(throttled)+5: five requests for three calls.
	if got := srv.Calls("GetRole"); got != 5 {
		t.Errorf("Calls(GetRole) = %d, want 5", got)
	}
}

func TestLatencyFault(t *testing.T) {
	srv := startFake(t, testState)
	if err := srv.SetFaults(awsstate.Fault{API: "GetCallerIdentity", Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	client := stsClient(callerConfig(srv, testAccount))

	start := time.Now()
	if _, err := client.GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered in %v, want at least the 300ms latency", d)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the caller's deadline", err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("gave up after %v, want about the 50ms deadline", d)
	}
}

func TestEKSFaultsUseEKSErrorShapes(t *testing.T) {
	srv := startFake(t, testState)
	if err := srv.SetFaults(awsstate.Fault{API: "DescribeCluster", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	_, err := eksClient(callerConfig(srv, testAccount)).DescribeCluster(testContext(t), &eks.DescribeClusterInput{Name: aws.String("demo")})
	assertAPIError(t, err, "ThrottlingException", 429, "Rate exceeded")
}

func TestFaultsFromStateFile(t *testing.T) {
	srv := startFake(t, testState+`
faults:
  - api: GetRole
    error: NoSuchEntity
`)
	_, err := iamClient(callerConfig(srv, testAccount)).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
	assertAPIError(t, err, "NoSuchEntity", 404, "The requested entity cannot be found.")
}

func TestAdminFaultsEndpoint(t *testing.T) {
	srv := startFake(t, testState)
	do := func(method, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(testContext(t), method, srv.URL()+"/_fake/faults", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	tests := []struct {
		name, method, body string
		wantStatus         int
		wantBody           string
	}{
		{"posting faults replaces them and echoes them", "POST", `{"faults":[{"api":"GetRole","latency":"1.5s"},{"error":"Throttling","every":3}]}`,
			200, `{"faults":[{"api":"GetRole","latency":"1.5s"},{"error":"Throttling","every":3}]}`},
		{"getting faults returns what is in force", "GET", "",
			200, `{"faults":[{"api":"GetRole","latency":"1.5s"},{"error":"Throttling","every":3}]}`},
		{"an unknown field is refused and changes nothing", "POST", `{"faults":[{"api":"GetRole","eror":"Throttling"}]}`,
			400, `{"error":"body must be {\"faults\":[{\"api\":\"GetRole\",\"error\":\"Throttling\"}]}: yaml: unmarshal errors:\n  line 1: field eror not found in type awsstate.Fault"}`},
		{"an unknown error code is refused", "POST", `{"faults":[{"error":"Throttled"}]}`,
			400, `{"error":"fault 0: error \"Throttled\" is not one of Throttling, AccessDenied, InvalidInput, NoSuchEntity, ServiceFailure, ServiceUnavailable, InternalFailure"}`},
		{"deleting clears them", "DELETE", "", 200, `{"faults":[]}`},
		{"the faults are gone afterwards", "GET", "", 200, `{"faults":[]}`},
	}
	for _, tc := range tests { // in order: each step depends on the previous one
		status, body := do(tc.method, tc.body)
		if status != tc.wantStatus || body != tc.wantBody {
			t.Errorf("%s: %s -> %d %s\nwant %d %s", tc.name, tc.method, status, body, tc.wantStatus, tc.wantBody)
		}
	}
}

func TestAdminCallsEndpoint(t *testing.T) {
	srv := startFake(t, testState)
	client := iamClient(callerConfig(srv, testAccount))
	for range 2 {
		_, _ = client.GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
	}
	resp, err := http.Get(srv.URL() + "/_fake/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var calls map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		t.Fatal(err)
	}
	if calls["GetRole"] != 2 || len(calls) != 1 {
		t.Errorf("calls = %v, want GetRole: 2", calls)
	}
}
