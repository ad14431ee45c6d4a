package validators

import (
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func sa(annotations map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "orders", Annotations: annotations}}
}

// brief renders findings as "ID severity: message | fix" lines, so a table states the exact outcome.
func brief(fs []Finding) string {
	var lines []string
	for _, f := range fs {
		lines = append(lines, string(f.Check)+" "+string(f.Severity)+": "+f.Message+" | "+f.Fix)
	}
	return strings.Join(lines, "\n")
}

func TestCheckServiceAccount(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		want        string
	}{
		"a correct IRSA ServiceAccount has no findings": {
			annotations: map[string]string{
				AnnotationRoleARN: "arn:aws:iam::111122223333:role/orders", AnnotationAudience: "sts.amazonaws.com",
				AnnotationTokenExpiration: "3600", AnnotationSTSRegionalEndpoints: "true",
			},
		},
		"a ServiceAccount without IRSA has no findings": {
			annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}"},
		},
		"legitimate other eks.amazonaws.com keys are not typos": {
			annotations: map[string]string{
				"eks.amazonaws.com/pod-identity": "enabled", "eks.amazonaws.com/compute-type": "fargate",
				"eks.amazonaws.com/fargate-profile": "fp-default", "iam.amazonaws.com/role": "orders",
			},
		},
		"the seed's ARN with an extra colon": {
			annotations: map[string]string{AnnotationRoleARN: "arn:aws:iam::::1234567890:role/example"},
			want: `IRSA001 error: role-arn has 2 extra ":" around the account ID; has account ID "1234567890" with 10 digits, not 12 | ` +
				`Fix eks.amazonaws.com/role-arn "arn:aws:iam::::1234567890:role/example": it has 2 extra ":" around the account ID; has account ID "1234567890" with 10 digits, not 12. The form is arn:<partition>:iam::<12-digit account>:role/<path><name>, e.g. arn:aws:iam::111122223333:role/my-app.`,
		},
		"a region in the ARN gets the corrected ARN as the fix": {
			annotations: map[string]string{AnnotationRoleARN: "arn:aws:iam:eu-west-1:111122223333:role/orders"},
			want: `IRSA001 error: role-arn has region "eu-west-1"; IAM is global, so the region field must be empty | ` +
				`Set eks.amazonaws.com/role-arn to arn:aws:iam::111122223333:role/orders.`,
		},
		"a trailing space shows the value": {
			annotations: map[string]string{AnnotationRoleARN: "arn:aws:iam::111122223333:role/orders "},
			want: `IRSA001 error: role-arn "arn:aws:iam::111122223333:role/orders " has leading or trailing white space | ` +
				`Set eks.amazonaws.com/role-arn to arn:aws:iam::111122223333:role/orders.`,
		},
		"an empty role-arn means nothing is injected": {
			annotations: map[string]string{AnnotationRoleARN: ""},
			want: `IRSA001 warning: role-arn is empty: pod-identity-webhook injects nothing, so pods use the node role | ` +
				`Set eks.amazonaws.com/role-arn to the role's ARN, e.g. arn:aws:iam::111122223333:role/my-app, or remove the annotation.`,
		},
		"the typo from pod-identity-webhook#200": {
			annotations: map[string]string{"eks.amazon.com/role-arn": "arn:aws:iam::111122223333:role/orders"},
			want: `IRSA002 error: annotation key "eks.amazon.com/role-arn" looks like a typo of eks.amazonaws.com/role-arn; it is ignored | ` +
				`Rename the annotation "eks.amazon.com/role-arn" to eks.amazonaws.com/role-arn.`,
		},
		"a missing hyphen in the name": {
			annotations: map[string]string{"eks.amazonaws.com/rolearn": "arn:aws:iam::111122223333:role/orders"},
			want: `IRSA002 error: annotation key "eks.amazonaws.com/rolearn" looks like a typo of eks.amazonaws.com/role-arn; it is ignored | ` +
				`Rename the annotation "eks.amazonaws.com/rolearn" to eks.amazonaws.com/role-arn.`,
		},
		"upper case in the prefix": {
			annotations: map[string]string{"EKS.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/orders"},
			want: `IRSA002 error: annotation key "EKS.amazonaws.com/role-arn" looks like a typo of eks.amazonaws.com/role-arn; it is ignored | ` +
				`Rename the annotation "EKS.amazonaws.com/role-arn" to eks.amazonaws.com/role-arn.`,
		},
		"a stray space in the key": {
			annotations: map[string]string{"eks.amazonaws.com/ role-arn": "arn:aws:iam::111122223333:role/orders"},
			want: `IRSA002 error: annotation key "eks.amazonaws.com/ role-arn" looks like a typo of eks.amazonaws.com/role-arn; it is ignored | ` +
				`Rename the annotation "eks.amazonaws.com/ role-arn" to eks.amazonaws.com/role-arn.`,
		},
		"an underscore instead of a hyphen, next to the right key": {
			annotations: map[string]string{
				"eks.amazonaws.com/role_arn": "arn:aws:iam::111122223333:role/old", AnnotationRoleARN: "arn:aws:iam::111122223333:role/orders",
			},
			want: `IRSA002 warning: annotation key "eks.amazonaws.com/role_arn" looks like a typo of eks.amazonaws.com/role-arn; it is ignored | ` +
				`Rename the annotation "eks.amazonaws.com/role_arn" to eks.amazonaws.com/role-arn.`,
		},
		"a cut-off key": {
			annotations: map[string]string{"eks.amazonaws.com/role": "arn:aws:iam::111122223333:role/orders"},
			want: `IRSA002 error: annotation key "eks.amazonaws.com/role" looks like a typo of eks.amazonaws.com/role-arn; it is ignored | ` +
				`Rename the annotation "eks.amazonaws.com/role" to eks.amazonaws.com/role-arn.`,
		},
		"a typo of a setting other than role-arn only loses that setting": {
			annotations: map[string]string{"eks.amazonaws.com/sts-regional-endpoint": "true"},
			want: `IRSA002 warning: annotation key "eks.amazonaws.com/sts-regional-endpoint" looks like a typo of eks.amazonaws.com/sts-regional... | ` +
				`Rename the annotation "eks.amazonaws.com/sts-regional-endpoint" to eks.amazonaws.com/sts-regional-endpoints.`,
		},
		"skip-containers belongs on the pod": {
			annotations: map[string]string{AnnotationSkipContainers: "istio-proxy"},
			want: `IRSA002 warning: eks.amazonaws.com/skip-containers on a ServiceAccount is ignored: pod-identity-webhook reads it from the pod | ` +
				`Move eks.amazonaws.com/skip-containers to the pod (or the workload's pod template) annotations.`,
		},
		"an empty audience": {
			annotations: map[string]string{AnnotationAudience: ""},
			want: `IRSA003 error: audience is empty: the token gets the API server's audience, which STS rejects | ` +
				`Remove eks.amazonaws.com/audience to use sts.amazonaws.com, or set it to an audience the IAM OIDC provider lists.`,
		},
		"an audience with a trailing space": {
			annotations: map[string]string{AnnotationAudience: "sts.amazonaws.com "},
			want: `IRSA003 error: audience "sts.amazonaws.com " has leading or trailing white space, so it matches no client ID | ` +
				`Set eks.amazonaws.com/audience to "sts.amazonaws.com".`,
		},
		"a token expiration with a unit": {
			annotations: map[string]string{AnnotationTokenExpiration: "1h"},
			want: `IRSA003 warning: token-expiration "1h" is not whole seconds; pod-identity-webhook uses 86400, its --token-expiration | ` +
				`Set eks.amazonaws.com/token-expiration to seconds as digits only, between 600 and 86400, e.g. "3600".`,
		},
		"a token expiration below the minimum": {
			annotations: map[string]string{AnnotationTokenExpiration: "300"},
			want: `IRSA003 warning: token-expiration 300 is below the 600-second minimum; pod-identity-webhook raises it to 600 | ` +
				`Set eks.amazonaws.com/token-expiration to at least "600".`,
		},
		"a token expiration above Kubernetes' limit": {
			annotations: map[string]string{AnnotationTokenExpiration: "5000000000"},
			want: `IRSA003 error: token-expiration 5000000000 exceeds Kubernetes' limit of 2^32 seconds; the API server rejects the pod | ` +
				`Set eks.amazonaws.com/token-expiration to at most "86400" (the default).`,
		},
		"the env var's value used for the annotation": {
			annotations: map[string]string{AnnotationSTSRegionalEndpoints: "regional"},
			want: `IRSA003 warning: sts-regional-endpoints "regional" is not true or false; pod-identity-webhook ignores it | ` +
				`Set eks.amazonaws.com/sts-regional-endpoints to "true" (the webhook then sets AWS_STS_REGIONAL_ENDPOINTS=regional) or "false".`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := CheckServiceAccount(sa(tc.annotations), WebhookSettings{})
			if b := brief(got); b != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", b, tc.want)
			}
			for _, f := range got {
				if f.Object.String() != "ServiceAccount shop/orders" {
					t.Errorf("object = %q", f.Object)
				}
				if n := utf8.RuneCountInString(f.String()); n > MaxMessageRunes {
					t.Errorf("%q is %d runes", f.String(), n)
				}
			}
		})
	}
}

func TestCheckPodAnnotations(t *testing.T) {
	spec := &corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate"}},
		Containers:     []corev1.Container{{Name: "app"}, {Name: "istio-proxy"}},
	}
	tests := map[string]struct {
		annotations map[string]string
		want        string
	}{
		"skipping an existing sidecar and init container is fine": {
			annotations: map[string]string{AnnotationSkipContainers: "istio-proxy,migrate", AnnotationTokenExpiration: "7200"},
		},
		"CSV quoting that pod-identity-webhook unquotes is fine": {
			annotations: map[string]string{AnnotationSkipContainers: `"istio-proxy",migrate`},
		},
		"a space after the comma is part of the name, so that container is not skipped": {
			annotations: map[string]string{AnnotationSkipContainers: "istio-proxy, migrate"},
			want: `IRSA003 warning: skip-containers entry " migrate" has a space, part of the name for pod-identity-webhook | ` +
				`Remove the spaces around the commas in eks.amazonaws.com/skip-containers: "migrate", not " migrate".`,
		},
		"a value that is not CSV skips nothing": {
			annotations: map[string]string{AnnotationSkipContainers: `istio-proxy,"migrate`},
			want: `IRSA003 warning: skip-containers is not valid CSV (extraneous or missing " in quoted-field): no container is skipped | ` +
				`Write eks.amazonaws.com/skip-containers as comma-separated container names without spaces, e.g. "istio-proxy,log-shipper".`,
		},
		"a skip list naming a container that is not there": {
			annotations: map[string]string{AnnotationSkipContainers: "istio-proxy,envoy"},
			want: `IRSA003 warning: skip-containers names "envoy", which is not a container of this pod | ` +
				`List existing container names in eks.amazonaws.com/skip-containers (comma-separated, no spaces): migrate, app, istio-proxy.`,
		},
		"a misspelt container in the skip list": {
			annotations: map[string]string{AnnotationSkipContainers: "istio-prxy"},
			want: `IRSA003 warning: skip-containers names "istio-prxy", which is not a container of this pod; did you mean "istio-proxy"? | ` +
				`Replace "istio-prxy" with "istio-proxy" in eks.amazonaws.com/skip-containers.`,
		},
		"role-arn on the pod template does nothing": {
			annotations: map[string]string{AnnotationRoleARN: "arn:aws:iam::111122223333:role/orders"},
			want: `IRSA002 warning: eks.amazonaws.com/role-arn on a pod is ignored: pod-identity-webhook reads it from the ServiceAccount | ` +
				`Move eks.amazonaws.com/role-arn to the pod's ServiceAccount (spec.serviceAccountName).`,
		},
		"a typo of skip-containers": {
			annotations: map[string]string{"eks.amazonaws.com/skip-container": "istio-proxy"},
			want: `IRSA002 warning: annotation key "eks.amazonaws.com/skip-container" looks like a typo of eks.amazonaws.com/skip-containers; it... | ` +
				`Rename the annotation "eks.amazonaws.com/skip-container" to eks.amazonaws.com/skip-containers.`,
		},
		"a pod-level token expiration that does not parse falls back to the ServiceAccount's": {
			annotations: map[string]string{AnnotationTokenExpiration: "soon"},
			want: `IRSA003 warning: token-expiration "soon" is not whole seconds; pod-identity-webhook uses 3600, the ServiceAccount's | ` +
				`Set eks.amazonaws.com/token-expiration to seconds as digits only, between 600 and 86400, e.g. "3600".`,
		},
		"a pod-level token expiration below the minimum": {
			annotations: map[string]string{AnnotationTokenExpiration: "60"},
			want: `IRSA003 warning: token-expiration 60 is below the 600-second minimum; pod-identity-webhook raises it to 600 | ` +
				`Set eks.amazonaws.com/token-expiration to at least "600".`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := Object{Kind: "Deployment", Namespace: "shop", Name: "orders"}
			account := sa(map[string]string{AnnotationTokenExpiration: "3600"})
			got := CheckPodAnnotations(obj, tc.annotations, spec, account, WebhookSettings{})
			if b := brief(got); b != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", b, tc.want)
			}
		})
	}
}

// FuzzAnnotationChecks feeds arbitrary keys and values: no panic, and every message stays a
// single line within the warning length limit.
func FuzzAnnotationChecks(f *testing.F) {
	f.Add("eks.amazon.com/role-arn", "arn:aws:iam::::1234567890:role/example")
	f.Add(AnnotationSkipContainers, " ,a,\x00,b ")
	f.Add(AnnotationTokenExpiration, "-9223372036854775808")
	f.Fuzz(func(t *testing.T, key, value string) {
		a := map[string]string{key: value, AnnotationRoleARN: value, AnnotationSkipContainers: value}
		fs := append(CheckServiceAccount(sa(a), WebhookSettings{}), CheckPodAnnotations(Object{Kind: "Pod", Name: "p"}, a, &corev1.PodSpec{}, nil, WebhookSettings{})...)
		for _, f := range fs {
			if utf8.RuneCountInString(f.String()) > MaxMessageRunes || strings.ContainsAny(f.Message, "\n\r\x00") {
				t.Fatalf("bad message %q", f.Message)
			}
		}
	})
}

// TestIRSAKeysAreNoTyposOfEachOther pins what checkKeys' fast path for exact IRSA keys rests on:
// no IRSA key is reported as a typo of another.
func TestIRSAKeysAreNoTyposOfEachOther(t *testing.T) {
	for _, a := range irsaAnnotations() {
		for _, b := range irsaAnnotations() {
			if a.key != b.key && isTypoOf(a.key, b.key) {
				t.Errorf("isTypoOf(%q, %q) = true", a.key, b.key)
			}
		}
	}
}
