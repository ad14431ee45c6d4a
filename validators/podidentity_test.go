package validators

import (
	"slices"
	"testing"
	"time"
)

func TestCheckPodIdentity(t *testing.T) {
	const roleARN = "arn:aws:iam::111122223333:role/cart-pod-identity"
	trust := func(statement string) *RoleFacts {
		return &RoleFacts{ARN: roleARN, Trust: ParseTrustDocument(`{"Version":"2012-10-17","Statement":[` + statement + `]}`),
			CreateDate: awsTestNow.Add(-24 * time.Hour)}
	}
	eksDocs := `{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`
	tests := map[string]struct {
		role         *RoleFacts
		roleNotFound bool
		noTags       bool
		unverified   []Unverified
		want         []string
	}{
		"the trust policy from the EKS user guide":   {role: trust(eksDocs), want: []string{}},
		"a role that does not exist is IRSA060":      {roleNotFound: true, want: []string{`IRSA060/error Pod Identity association a-1 uses role "cart-pod-identity", which does not exist in account 111122223333`}},
		"sts:AssumeRole alone misses sts:TagSession": {role: trust(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}`), want: []string{`IRSA061/error role "cart-pod-identity" does not let pods.eks.amazonaws.com sts:TagSession`}},
		"without session tags sts:AssumeRole is enough": {
			role: trust(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}`), noTags: true, want: []string{},
		},
		"a trust written for IRSA does not trust Pod Identity": {
			role: trust(`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X"},"Action":"sts:AssumeRoleWithWebIdentity"}`),
			want: []string{`IRSA061/error role "cart-pod-identity" does not let pods.eks.amazonaws.com sts:AssumeRole and sts:TagSession`},
		},
		"a condition on the namespace tag EKS adds is evaluated": {
			role: trust(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"shop"}}}`),
			want: []string{},
		},
		"a condition for another namespace denies": {
			role: trust(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"billing"}}}`),
			want: []string{`IRSA061/error role "cart-pod-identity" does not let pods.eks.amazonaws.com sts:AssumeRole and sts:TagSession`},
		},
		"a condition on the pod's name cannot be told before the pod exists": {
			role: trust(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringLike":{"aws:RequestTag/kubernetes-pod-name":"cart-*"}}}`),
			want: []string{`IRSA090/info could not verify role "cart-pod-identity" trusts Pod Identity: depends on aws:RequestTag/kubernetes-pod-name`},
		},
		"a confused-deputy condition on aws:SourceAccount is not documented for Pod Identity": {
			role: trust(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}`),
			want: []string{`IRSA090/info could not verify role "cart-pod-identity" trusts Pod Identity: depends on aws:SourceAccount`},
		},
		"an association EKS could not be asked about": {
			unverified: []Unverified{{What: "EKS Pod Identity association", Reason: "throttled"}},
			want:       []string{"IRSA090/info could not verify the EKS Pod Identity association (throttled)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := PodIdentityFacts{Now: awsTestNow, Cluster: "prod", Role: tc.role, RoleNotFound: tc.roleNotFound, Unverified: tc.unverified}
			if tc.unverified == nil {
				f.Association = &PodIdentityAssociation{ID: "a-1", RoleARN: roleARN, DisableSessionTags: tc.noTags}
			}
			obj := Object{Kind: "ServiceAccount", Namespace: "shop", Name: "cart"}
			got := []string{}
			for _, g := range append(CheckPodIdentityAssociation(obj, f), CheckPodIdentityRoleTrust(obj, f, "shop", "cart")...) {
				got = append(got, string(g.Check)+"/"+string(g.Severity)+" "+g.Message)
				if n := len([]rune(g.String())); n > MaxMessageRunes {
					t.Errorf("%q is %d runes", g.String(), n)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
