package imagescan

import (
	"strings"
	"testing"

	"github.com/irsa-guard/irsa-guard/validators"
)

func TestFindingsForEachMechanism(t *testing.T) {
	obj := validators.Object{Kind: "Pod", Namespace: "ns", Name: "web"}.WithContainer("app")
	rep := Report{Complete: false, Skipped: []Skip{{Reason: "byte budget of 1 uncompressed bytes spent", Count: 1}}, SDKs: []SDK{
		{Name: "aws-sdk-go", Version: "v1.19.0", Path: "/app/server", IRSA: atLeast("v1.19.0", minGoV1IRSA), PodIdentity: atLeast("v1.19.0", minGoV1PI)},
		javaSDK("aws-sdk-java-v2", "2.25.0", "/app/lib/auth-2.25.0.jar", minJavaV2IRSA, minJavaV2PI, false, "software.amazon.awssdk:sts", ""),
		javaSDK("aws-java-sdk (v1)", "1.12.500", "/app/lib/aws-java-sdk-core-1.12.500.jar", minJavaV1IRSA, minJavaV1PI, true, "com.amazonaws:aws-java-sdk-sts", ""),
		pythonSDK("boto", "2.49.0", "/x/boto"),
		{Name: "aws-sdk-cpp", Path: "/lib/libaws-cpp-sdk-core.so", IRSA: unknown(minCppIRSA, noCppVersion), PodIdentity: unknown(minCppPI, noCppVersion)},
	}}
	tests := map[string]struct {
		m    Mechanism
		want []string // "ID severity"
	}{
		"IRSA":         {IRSA, []string{"IRSA070 warning", "IRSA071 warning", "IRSA070 info", "IRSA070 warning", "IRSA073 info", "IRSA073 info"}},
		"Pod Identity": {PodIdentity, []string{"IRSA072 warning", "IRSA072 warning", "IRSA072 warning", "IRSA073 info", "IRSA073 info"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fs := rep.Findings(obj, tc.m)
			var got []string
			for _, f := range fs {
				got = append(got, string(f.Check)+" "+string(f.Severity))
				if f.Object != obj || len([]rune(f.String())) > validators.MaxMessageRunes || f.Fix == "" {
					t.Errorf("malformed finding %+v", f)
				}
				t.Log(f.String(), "| fix:", f.Fix)
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
