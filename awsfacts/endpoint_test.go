package awsfacts

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/irsa-guard/irsa-guard/fakeaws"
)

// TestVerifierHonoursServiceEndpointVariables is the VPC-endpoint set-up: IAM and STS each
// overridden by its own AWS_ENDPOINT_URL_<SERVICE> variable, read by config.LoadDefaultConfig.
func TestVerifierHonoursServiceEndpointVariables(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_IAM": e.aws.URL(), "AWS_ENDPOINT_URL_STS": e.aws.URL(), "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
		"AWS_ACCESS_KEY_ID": fakeaws.CallerAccessKeyID(ownAccount), "AWS_SECRET_ACCESS_KEY": fakeaws.CallerSecretAccessKey,
		"AWS_REGION": "eu-west-1", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewSDK(cfg, Options{Clock: e.clock.Now, Registerer: e.reg, SkipThumbprint: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(check(v, testContext(t), e.identity("arn:aws:iam::111122223333:role/nope"))); len(got) != 1 || got[0] != "IRSA010/error" {
		t.Errorf("findings = %v, want IRSA010 from the fake reached through the service variables", got)
	}
	if e.aws.Calls("GetCallerIdentity") != 1 || e.aws.Calls("GetRole") != 1 {
		t.Errorf("calls: GetCallerIdentity %d GetRole %d, want 1 and 1", e.aws.Calls("GetCallerIdentity"), e.aws.Calls("GetRole"))
	}
}
