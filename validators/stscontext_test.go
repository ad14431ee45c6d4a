package validators

import (
	"reflect"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

func TestRequestedRegionOfTheCall(t *testing.T) {
	tests := map[string]struct {
		call       WebIdentityCall
		region     string // known value, or "" when known only at call time
		dependsOn  string
		providerIn string // partition of the provider ARN; "" means aws
	}{
		"regional endpoints in the pod's region":                          {call: WebIdentityCall{Region: "us-west-2", STSRegionalEndpoints: STSEndpointsRegional}, region: "us-west-2"},
		"legacy in a region that calls the global endpoint":               {call: WebIdentityCall{Region: "us-west-2", STSRegionalEndpoints: STSEndpointsLegacy}, dependsOn: dependsGlobalSTS},
		"legacy in a region outside the global list is regional anyway":   {call: WebIdentityCall{Region: "ap-east-1", STSRegionalEndpoints: STSEndpointsLegacy}, region: "ap-east-1"},
		"an unset mode in a region outside the global list":               {call: WebIdentityCall{Region: "ap-northeast-2"}, region: "ap-northeast-2"},
		"an unset mode in a region on the global list depends on the SDK": {call: WebIdentityCall{Region: "eu-west-1"}, dependsOn: dependsSDKDefault},
		"no region":                           {call: WebIdentityCall{STSRegionalEndpoints: STSEndpointsRegional}, dependsOn: dependsRegionUnset},
		"China has no global endpoint":        {call: WebIdentityCall{Region: "cn-north-1", STSRegionalEndpoints: STSEndpointsLegacy}, region: "cn-north-1", providerIn: "aws-cn"},
		"GovCloud uses its regional endpoint": {call: WebIdentityCall{Region: "us-gov-west-1"}, region: "us-gov-west-1", providerIn: "aws-us-gov"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			partition := tt.providerIn
			if partition == "" {
				partition = "aws"
			}
			req := WebIdentityContext(tt.call, "arn:"+partition+":iam::111122223333:oidc-provider/"+trustHost, "system:serviceaccount:prod:my-app", "")
			got := req.Context["aws:RequestedRegion"]
			u, unknown := req.UnknownOf("aws:RequestedRegion")
			switch {
			case tt.region != "" && (!reflect.DeepEqual(got, []string{tt.region}) || unknown):
				t.Errorf("aws:RequestedRegion = %v (unknown %v), want %s", got, unknown, tt.region)
			case tt.region == "" && (got != nil || u.DependsOn != tt.dependsOn):
				t.Errorf("aws:RequestedRegion = %v depending on %q, want known only at call time, depending on %q", got, u.DependsOn, tt.dependsOn)
			}
		})
	}
}

func TestWebIdentityContextKeys(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC)
	req := WebIdentityContext(WebIdentityCall{Now: now, Region: "us-west-2", STSRegionalEndpoints: STSEndpointsRegional, SessionName: "s1", RoleTags: map[string]string{"team": "a"}},
		trustProv, "system:serviceaccount:prod:my-app", "")
	wantKnown := map[string][]string{
		trustHost + ":sub": {"system:serviceaccount:prod:my-app"}, trustHost + ":aud": {"sts.amazonaws.com"},
		"aws:SecureTransport": {"true"}, "aws:ViaAWSService": {"false"},
		"aws:CurrentTime": {"2026-06-01T12:30:00Z"}, "aws:EpochTime": {"1780317000"},
		"aws:RequestedRegion": {"us-west-2"}, "sts:RoleSessionName": {"s1"},
		"aws:ResourceTag/team": {"a"}, "iam:ResourceTag/team": {"a"},
	}
	if !reflect.DeepEqual(req.Context, wantKnown) {
		t.Errorf("known keys =\n%v\nwant\n%v", req.Context, wantKnown)
	}
	for key, want := range map[string]trustpolicy.Unknown{
		"aws:SourceIp":   {DependsOn: dependsNetwork, MaybeAbsent: true},
		"AWS:SOURCEVPCE": {DependsOn: dependsVPCEndpoint, MaybeAbsent: true},
		"aws:UserAgent":  {DependsOn: dependsSDK},
	} {
		if got, ok := req.UnknownOf(key); !ok || got != want {
			t.Errorf("UnknownOf(%s) = %+v %v, want %+v", key, got, ok, want)
		}
	}
	for _, absent := range []string{"aws:PrincipalArn", "aws:PrincipalTag/team", "aws:TokenIssueTime", "sts:SourceIdentity", "aws:TagKeys", trustHost + ":amr", "aws:ResourceTag/other"} {
		if _, ok := req.UnknownOf(absent); ok || req.Context[absent] != nil {
			t.Errorf("%s is in the request, want absent", absent)
		}
	}
	if kt, ok := req.TypeOf("aws:EpochTime"); !ok || kt != trustpolicy.TypeDate|trustpolicy.TypeNumeric {
		t.Errorf("aws:EpochTime type = %v, want Date or Numeric", kt)
	}
}

func TestZeroCallKnowsNothingOfTheCall(t *testing.T) {
	req := WebIdentityContext(WebIdentityCall{}, trustProv, "system:serviceaccount:prod:my-app", "aud")
	for key, dep := range map[string]string{
		"aws:CurrentTime": dependsClock, "aws:EpochTime": dependsClock, "aws:RequestedRegion": dependsRegionUnset,
		"sts:RoleSessionName": dependsSessionName, "aws:ResourceTag/team": dependsRoleTags,
	} {
		if u, ok := req.UnknownOf(key); !ok || u.DependsOn != dep {
			t.Errorf("UnknownOf(%s) = %+v %v, want depending on %q", key, u, ok, dep)
		}
	}
	if got := req.Context[trustHost+":aud"]; !reflect.DeepEqual(got, []string{"aud"}) {
		t.Errorf(":aud = %v, want the given audience", got)
	}
}

func TestSTSEndpointsMode(t *testing.T) {
	tests := map[string]struct {
		env        string
		envSet     bool
		annotation string
		want       string
	}{
		"the pod sets regional":                         {env: "regional", envSet: true, want: STSEndpointsRegional},
		"the pod sets legacy, whatever the annotation":  {env: "Legacy", envSet: true, annotation: "true", want: STSEndpointsLegacy},
		"the pod sets nonsense":                         {env: "yes", envSet: true, want: ""},
		"the annotation makes the webhook set regional": {annotation: "true", want: STSEndpointsRegional},
		"annotation false leaves the SDK default":       {annotation: "false", want: ""},
		"nothing set": {want: ""},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := STSEndpointsMode(tt.env, tt.envSet, tt.annotation); got != tt.want {
				t.Errorf("STSEndpointsMode = %q, want %q", got, tt.want)
			}
		})
	}
}
