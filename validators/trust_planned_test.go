package validators

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

func TestOneEditAway(t *testing.T) {
	tests := map[string]struct {
		trusted, sa string // namespace/name
		want        bool
	}{
		// https://github.com/terraform-aws-modules/terraform-aws-eks/issues/1083: the chart's default name.
		"cluster-autoscaler's chart default against the hand-written name": {"kube-system/cluster-autoscaler", "kube-system/cluster-autoscaler-aws-cluster-autoscaler", true},
		// https://github.com/velero-io/velero/issues/2309 and #3143: <fullname>-server against velero.
		"velero's server ServiceAccount against velero":        {"velero/velero", "velero/velero-server", true},
		"a release-name prefix":                                {"monitoring/grafana", "monitoring/prod-grafana", true},
		"the trust has the longer name":                        {"shop/orders-api", "shop/orders", true},
		"one typo":                                             {"shop/orders", "shop/order", true},
		"two typos in a long name":                             {"shop/payments-api", "shop/paymnets-api", true},
		"two typos in a short name are another ServiceAccount": {"shop/web", "shop/wbe1", false},
		"a namespace typo":                                     {"kube-systen/cluster-autoscaler", "kube-system/cluster-autoscaler", true},
		"another namespace and another name":                   {"velero/velero", "backup/velero-server", false},
		"a prefix that is not a whole word":                    {"shop/order", "shop/orderly-service", false},
		"unrelated names in one namespace":                     {"shop/orders", "shop/payments", false},
		"the same ServiceAccount":                              {"shop/orders", "shop/orders", false},
		"a namespace far from the trusted one":                 {"prod/orders", "staging/orders", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tns, tname, _ := strings.Cut(tc.trusted, "/")
			ns, n, _ := strings.Cut(tc.sa, "/")
			if got := oneEditAway(tns, tname, ns, n); got != tc.want {
				t.Errorf("oneEditAway(%s, %s) = %v, want %v", tc.trusted, tc.sa, got, tc.want)
			}
		})
	}
}

const plannedIssuer = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

func plannedTrust(t *testing.T, condition string) *trustpolicy.Policy {
	t.Helper()
	p, err := trustpolicy.Parse([]byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/` + plannedIssuer + `"}, "Condition": ` + condition + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func plannedSA(ns, name, role string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if role != "" {
		sa.Annotations = map[string]string{AnnotationRoleARN: role}
	}
	return sa
}

func TestCheckPlannedTrust(t *testing.T) {
	sub := func(op, ns, name string) string {
		return fmt.Sprintf(`{%q: {"%s:sub": "system:serviceaccount:%s:%s"}}`, op, plannedIssuer, ns, name)
	}
	const autoscalerARN = "arn:aws:iam::111122223333:role/cluster-autoscaler"
	chartSA := plannedSA("kube-system", "cluster-autoscaler-aws-cluster-autoscaler", autoscalerARN)
	tests := map[string]struct {
		sa        *corev1.ServiceAccount
		condition string
		account   string
		defined   []string
		want      string // "" none, else the severity
	}{
		"the chart's ServiceAccount names the role: certain": {
			sa: chartSA, condition: sub("StringEquals", "kube-system", "cluster-autoscaler"), account: "111122223333", want: "error",
		},
		"the key is known only at deploy: still certain": {
			sa: chartSA, condition: `{"StringEquals": {"{{unknown Fn::GetAtt Cluster.OpenIdConnectIssuerUrl}}:sub": "system:serviceaccount:kube-system:cluster-autoscaler"}}`,
			account: "111122223333", want: "error",
		},
		"the role's account is not known: a warning": {
			sa: chartSA, condition: sub("StringEquals", "kube-system", "cluster-autoscaler"), want: "warning",
		},
		"a ServiceAccount without role-arn: a warning": {
			sa: plannedSA("velero", "velero-server", ""), condition: sub("StringEquals", "velero", "velero"), account: "111122223333", want: "warning",
		},
		"StringEqualsIfExists lets other tokens through: a warning": {
			sa: chartSA, condition: sub("StringEqualsIfExists", "kube-system", "cluster-autoscaler"), account: "111122223333", want: "warning",
		},
		"the trusted ServiceAccount is in the input too": {
			sa: chartSA, condition: sub("StringEquals", "kube-system", "cluster-autoscaler"), account: "111122223333",
			defined: []string{"kube-system/cluster-autoscaler"},
		},
		"the trust names this ServiceAccount as well": {
			sa: chartSA, condition: fmt.Sprintf(`{"StringEquals": {"%s:sub": ["system:serviceaccount:kube-system:cluster-autoscaler", "system:serviceaccount:kube-system:cluster-autoscaler-aws-cluster-autoscaler"]}}`, plannedIssuer),
			account: "111122223333",
		},
		"a pattern that matches this ServiceAccount": {
			sa: chartSA, condition: fmt.Sprintf(`{"StringEquals": {"%s:sub": "system:serviceaccount:kube-system:cluster-autoscaler"}, "StringLike": {"%s:sub": "system:serviceaccount:kube-system:cluster-autoscaler*"}}`, plannedIssuer, plannedIssuer),
			account: "111122223333",
		},
		"an unrelated ServiceAccount": {
			sa: plannedSA("shop", "orders", ""), condition: sub("StringEquals", "kube-system", "cluster-autoscaler"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			roles := []PlannedRole{{Name: "cluster-autoscaler", Account: tc.account, ID: "AutoscalerRole", Where: "t.json:3 AWS::IAM::Role AutoscalerRole",
				Trust: plannedTrust(t, tc.condition)}}
			defined := func(ns, name string) bool {
				for _, d := range tc.defined {
					if d == ns+"/"+name {
						return true
					}
				}
				return false
			}
			got := CheckPlannedTrust(tc.sa, tc.sa.Annotations[AnnotationRoleARN], roles, defined)
			switch {
			case tc.want == "" && len(got) > 0:
				t.Fatalf("want no finding, got %v", got)
			case tc.want == "":
				return
			case len(got) != 1:
				t.Fatalf("want one finding, got %v", got)
			}
			f := got[0]
			if f.Check != CheckPlannedTrustNearMiss || string(f.Severity) != tc.want || f.Object.Field != "metadata.name" ||
				f.PredictedError != STSNotAuthorized || !strings.Contains(f.Fix, tc.sa.Name) {
				t.Errorf("finding %+v", f)
			}
			if len([]rune(f.String())) > MaxMessageRunes {
				t.Errorf("message longer than %d: %s", MaxMessageRunes, f.String())
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := map[string]bool{
		"system:serviceaccount:kube-system:*|system:serviceaccount:kube-system:ca": true,
		"a?c|abc": true, "a?c|abbc": false, "*a*a*b|xaxxab": true, "A*|abc": false, "*|": true, "a|": false,
	}
	for in, want := range tests {
		p, s, _ := strings.Cut(in, "|")
		if got := globMatch(p, s); got != want {
			t.Errorf("globMatch(%q, %q) = %v", p, s, got)
		}
	}
}
