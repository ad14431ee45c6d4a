package fakeaws

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// TestTrustPolicyURLEncodingRoundTrip checks that every awkward character survives IAM's
// URL-encoding and the SDK caller's single url.QueryUnescape.
func TestTrustPolicyURLEncodingRoundTrip(t *testing.T) {
	tests := map[string]string{
		"plus signs are not spaces":   `{"Condition":{"StringLike":{"k":"a+b"}}}`,
		"percent signs stay literal":  `{"Sid":"100%25 sure %"}`,
		"spaces and newlines":         "{\n  \"Sid\": \"two words\"\n}",
		"unicode":                     `{"Sid":"Zugriff für Ärzte ✓ 日本"}`,
		"reserved URL characters":     `{"Sid":"a&b=c?d#e/f:g;h,i@j$k!l*m(n)o'p[q]r~s"}`,
		"an already-encoded sequence": `{"Sid":"%7B not a brace"}`,
	}
	for name, policy := range tests {
		t.Run(name, func(t *testing.T) {
			doc := "callerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    roles:\n      - name: app\n        trustPolicy: " + yamlQuote(policy) + "\n"
			srv := startFake(t, doc)
			out, err := iamClient(callerConfig(srv, testAccount)).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app")})
			if err != nil {
				t.Fatal(err)
			}
			raw := aws.ToString(out.Role.AssumeRolePolicyDocument)
			if strings.ContainsAny(raw, "+ {") {
				t.Errorf("document %q is not percent-encoded", raw)
			}
			for _, unescape := range []func(string) (string, error){url.QueryUnescape, url.PathUnescape} {
				got, err := unescape(raw)
				if err != nil || got != policy {
					t.Errorf("decoded %q (%v), want %q", got, err, policy)
				}
			}
		})
	}
}

// yamlQuote writes s as a double-quoted YAML scalar.
func yamlQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestSetStateSwapsTheWorld(t *testing.T) {
	srv := startFake(t, testState)
	client := iamClient(callerConfig(srv, testAccount))
	empty, err := awsstate.ParseState([]byte(`callerAccount: "111122223333"`))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetState(empty); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")})
	assertAPIError(t, err, "NoSuchEntity", 404, "The role with name app-reader cannot be found.")
	full, _ := awsstate.ParseState([]byte(testState))
	full.Accounts[testAccount].Roles = append(full.Accounts[testAccount].Roles, awsstate.Role{Name: "Built-In-Go", TrustPolicy: "{}"})
	if err := srv.SetState(full); err != nil {
		t.Fatal(err)
	}
	bad := &awsstate.State{CallerAccount: "1234"}
	if err := srv.SetState(bad); err == nil || err.Error() != `AWS state: callerAccount "1234" must be a 12-digit account ID in quotes, e.g. "111122223333"` {
		t.Errorf("SetState(invalid) = %v", err)
	}
	out, err := client.GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("built-in-go")})
	if err != nil || aws.ToString(out.Role.Arn) != "arn:aws:iam::111122223333:role/Built-In-Go" {
		t.Errorf("a role added in Go gets the default path: %v %v", err, out)
	}
	if _, err := client.GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("app-reader")}); err != nil {
		t.Errorf("GetRole after restoring the state: %v", err)
	}
}
