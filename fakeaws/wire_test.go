package fakeaws

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// postQuery sends a raw Query API request the way the SDK does, signed only as far as the fake
// looks (the access key id in the Authorization header).
func postQuery(t *testing.T, srv *Server, form url.Values, akid string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodPost, srv.URL()+"/", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if akid != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestWireShapesMatchAWS pins the exact bytes of the envelopes, so a change that the SDK happens
// to tolerate but AWS would never send still shows up.
func TestWireShapesMatchAWS(t *testing.T) {
	srv := startFake(t, testState)
	akid := CallerAccessKeyID(testAccount)
	tests := map[string]struct {
		form       url.Values
		akid       string
		wantStatus int
		wantBody   string
	}{
		"a GetRole answer is wrapped in GetRoleResponse/GetRoleResult with ResponseMetadata": {
			form: url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {"team-writer"}}, akid: akid, wantStatus: 200,
			wantBody: `<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetRoleResult>
    <Role>
      <Path>/teams/payments/</Path>
      <RoleName>Team-Writer</RoleName>
      <RoleId>AROA` + roleID("arn:aws:iam::111122223333:role/teams/payments/Team-Writer")[4:] + `</RoleId>
      <Arn>arn:aws:iam::111122223333:role/teams/payments/Team-Writer</Arn>
      <CreateDate>2024-01-15T10:00:00Z</CreateDate>
      <AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D</AssumeRolePolicyDocument>
      <MaxSessionDuration>3600</MaxSessionDuration>
    </Role>
  </GetRoleResult>
  <ResponseMetadata>
    <RequestId>REQUEST-ID</RequestId>
  </ResponseMetadata>
</GetRoleResponse>
`,
		},
		"an IAM error is an ErrorResponse with Type, Code, Message and RequestId": {
			form: url.Values{"Action": {"GetRole"}, "Version": {"2010-05-08"}, "RoleName": {"nope"}}, akid: akid, wantStatus: 404,
			wantBody: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>NoSuchEntity</Code>
    <Message>The role with name nope cannot be found.</Message>
  </Error>
  <RequestId>REQUEST-ID</RequestId>
</ErrorResponse>
`,
		},
		"a request without credentials is MissingAuthenticationToken": {
			form: url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, wantStatus: 403,
			wantBody: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>MissingAuthenticationToken</Code>
    <Message>Request is missing Authentication Token</Message>
  </Error>
  <RequestId>REQUEST-ID</RequestId>
</ErrorResponse>
`,
		},
		"an action the fake does not serve is InvalidAction": {
			form: url.Values{"Action": {"DeleteRole"}, "Version": {"2010-05-08"}}, akid: akid, wantStatus: 400,
			wantBody: `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <Error>
    <Type>Sender</Type>
    <Code>InvalidAction</Code>
    <Message>Could not find operation DeleteRole for version 2010-05-08</Message>
  </Error>
  <RequestId>REQUEST-ID</RequestId>
</ErrorResponse>
`,
		},
	}
	requestID := regexp.MustCompile(`<RequestId>[^<]+</RequestId>`)
	for name, tc := range tests {
		status, header, body := postQuery(t, srv, tc.form, tc.akid)
		body = requestID.ReplaceAllString(body, "<RequestId>REQUEST-ID</RequestId>")
		if status != tc.wantStatus || body != tc.wantBody {
			t.Errorf("%s:\ngot %d\n%s\nwant %d\n%s", name, status, body, tc.wantStatus, tc.wantBody)
		}
		if header.Get("Content-Type") != "text/xml" || header.Get("x-amzn-RequestId") == "" {
			t.Errorf("%s: headers %v", name, header)
		}
	}
}

// TestConcurrentCallsAreAllCounted is what the adapter's singleflight test relies on: Calls is
// exact under concurrency (run with -race).
func TestConcurrentCallsAreAllCounted(t *testing.T) {
	srv := startFake(t, testState)
	client := iamClient(callerConfig(srv, testAccount))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := client.GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Calls("GetRole"); got != 50 {
		t.Errorf("Calls(GetRole) = %d, want 50", got)
	}
}
