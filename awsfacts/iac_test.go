package awsfacts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/iac"
	"github.com/irsa-guard/irsa-guard/validators"
)

const iacIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

// iacTrust is a trust policy for ns/name on the example cluster's provider in 111122223333.
func iacTrust(ns, name string) string {
	host := strings.TrimPrefix(iacIssuer, "https://")
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity",
		"Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/%s"},
		"Condition":{"StringEquals":{"%s:sub":"system:serviceaccount:%s:%s","%s:aud":"sts.amazonaws.com"}}}]}`, host, host, ns, name, host)
}

func iacRole(name, trust string) iac.Role {
	return iac.Role{Where: iac.Location{File: "t.json", Line: 3, Resource: "AWS::IAM::Role " + strings.ToUpper(name[:1]) + name[1:]},
		Name: iac.Value{S: name}, Path: iac.Value{S: "/"}, Trust: iac.Value{S: trust},
		Account: iac.Value{S: "111122223333"}, Partition: iac.Value{S: "aws"}}
}

func iacProvider() iac.Provider {
	return iac.Provider{Where: iac.Location{File: "t.json", Resource: "AWS::IAM::OIDCProvider Provider"},
		URL: iac.Value{S: iacIssuer}, ClientIDs: []string{"sts.amazonaws.com"}, ThumbprintsAtApply: true,
		Account: iac.Value{S: "111122223333"}, Partition: iac.Value{S: "aws"}}
}

// stateWith is an AWS state holding the example provider and the roles given (name: trust).
func stateWith(t *testing.T, roles map[string]string) Source {
	t.Helper()
	var b strings.Builder
	b.WriteString("partition: aws\ncallerAccount: \"111122223333\"\naccounts:\n  \"111122223333\":\n    oidcProviders:\n")
	b.WriteString("      - url: " + iacIssuer + "\n        clientIDs: [sts.amazonaws.com]\n        thumbprints: [9e99a48a9960b14926bb7f3b02e22da2b0ab7280]\n    roles:\n")
	for name, trust := range roles {
		fmt.Fprintf(&b, "      - name: %s\n        trustPolicy: %s\n", name, strings.ReplaceAll(trust, "\n", " "))
	}
	if len(roles) == 0 {
		b.WriteString("      []\n")
	}
	st, err := awsstate.ParseState([]byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return NewStateSource(st, nil, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
}

func TestIaCSourceLaysTheIaCOverItsBase(t *testing.T) {
	shopApp := validators.Identity{Object: validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"},
		Namespace: "shop", ServiceAccount: "app", RoleARN: "arn:aws:iam::111122223333:role/app", Issuer: iacIssuer}
	generated := iacRole("x", iacTrust("shop", "app"))
	generated.Name = iac.Value{Unknown: "no RoleName: CloudFormation generates the name"}
	generated.Where.Resource = "AWS::IAM::Role AppRole"
	lambdaOnly := iacRole("y", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"lambda.amazonaws.com"}}]}`)
	lambdaOnly.Name = iac.Value{Unknown: "generated"}
	unknownTrust := iacRole("app", "")
	unknownTrust.Trust = iac.Value{S: `{"Statement":[]}`, Unknown: "Fn::GetAtt Cluster.OpenIdConnectIssuerUrl"}
	deleted := iacRole("app", iacTrust("shop", "app"))
	deleted.Deleted = true
	otherAccount := iacRole("app", iacTrust("shop", "other"))
	otherAccount.Account = iac.Value{S: "999999999999"}
	noAccount := iacRole("app", iacTrust("shop", "other"))
	noAccount.Account = iac.Value{Unknown: "AWS::AccountId (give --account)"}
	unknownURL := iacProvider()
	unknownURL.URL = iac.Value{Unknown: "Fn::GetAtt Cluster.OpenIdConnectIssuerUrl"}

	tests := map[string]struct {
		base  map[string]string // nil: no base
		set   iac.Set
		want  []string
		wantF string // a fragment of the findings' text
	}{
		"the IaC's trust wins over the state's": {
			base: map[string]string{"app": iacTrust("shop", "app")},
			set:  iac.Set{Roles: []iac.Role{iacRole("app", iacTrust("shop", "other"))}},
			want: []string{"IRSA032/error"},
		},
		"a role the IaC creates is found even where the state has none": {
			base: map[string]string{},
			set:  iac.Set{Roles: []iac.Role{iacRole("app", iacTrust("shop", "app"))}},
			want: []string{},
		},
		"IAM finds a role in any case, and STS wants its exact ARN": {
			base: map[string]string{},
			set:  iac.Set{Roles: []iac.Role{iacRole("APP", iacTrust("shop", "app"))}},
			want: []string{"IRSA011/error"},
		},
		"IaC alone: a role it defines and a provider it lacks": {
			set:   iac.Set{Roles: []iac.Role{iacRole("app", iacTrust("shop", "app"))}},
			want:  []string{"IRSA090/info"},
			wantF: "could not verify the OIDC provider (not in the --iac files)",
		},
		"IaC alone: role and provider": {
			set:  iac.Set{Roles: []iac.Role{iacRole("app", iacTrust("shop", "app"))}, Providers: []iac.Provider{iacProvider()}},
			want: []string{},
		},
		"a generated name is could-not-verify, not a missing role": {
			base:  map[string]string{},
			set:   iac.Set{Roles: []iac.Role{generated, lambdaOnly}},
			want:  []string{"IRSA090/info"},
			wantF: "could not verify the role (IaC role AppRole is named only at deploy)",
		},
		"a role found in the state stays found next to generated names": {
			base: map[string]string{"app": iacTrust("shop", "app")},
			set:  iac.Set{Roles: []iac.Role{generated}},
			want: []string{},
		},
		"a trust known only at deploy": {
			base:  map[string]string{},
			set:   iac.Set{Roles: []iac.Role{unknownTrust}},
			want:  []string{"IRSA090/info"},
			wantF: "could not verify the trust policy: it depends on Fn::GetAtt Cluster.OpenIdConnectIssuerUrl",
		},
		"a role the plan destroys": {
			base: map[string]string{"app": iacTrust("shop", "app")},
			set:  iac.Set{Roles: []iac.Role{deleted}},
			want: []string{"IRSA010/error"},
		},
		"a role in another account is not this one": {
			base: map[string]string{"app": iacTrust("shop", "app")},
			set:  iac.Set{Roles: []iac.Role{otherAccount}},
			want: []string{},
		},
		"a role of an unknown account is the role-arn's where that account has none": {
			base: map[string]string{},
			set:  iac.Set{Roles: []iac.Role{noAccount}},
			want: []string{"IRSA032/error"},
		},
		"a role of an unknown account may be another account's": {
			base:  map[string]string{"app": iacTrust("shop", "app")},
			set:   iac.Set{Roles: []iac.Role{noAccount}},
			want:  []string{"IRSA090/info"},
			wantF: "could not verify the role (IaC role App has this name, in an account not given)",
		},
		"IaC alone: a role of an unknown account may be another account's": {
			set:   iac.Set{Roles: []iac.Role{noAccount}, Providers: []iac.Provider{iacProvider()}},
			want:  []string{"IRSA090/info"},
			wantF: "Give --account and --partition",
		},
		"a provider whose URL is known only at deploy": {
			set:   iac.Set{Roles: []iac.Role{iacRole("app", iacTrust("shop", "app"))}, Providers: []iac.Provider{unknownURL}},
			want:  []string{"IRSA090/info"},
			wantF: "could not verify the OIDC provider (IaC Provider: Url depends on Fn::GetAtt Cluster.OpenIdConnectIssuerUrl)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var base Source
			if tc.base != nil {
				base = stateWith(t, tc.base)
			}
			set := tc.set
			src := NewIaCSource(&set, base, nil)
			got := check(src, context.Background(), shopApp)
			if s := summary(got); !slices.Equal(s, tc.want) {
				t.Errorf("findings %v, want %v:\n%s", s, tc.want, strings.Join(render(got), "\n"))
			}
			if tc.wantF != "" && !strings.Contains(strings.Join(render(got), "\n"), tc.wantF) {
				t.Errorf("findings do not say %q:\n%s", tc.wantF, strings.Join(render(got), "\n"))
			}
		})
	}
}

func TestIaCSourcePlannedRoles(t *testing.T) {
	deleted := iacRole("old", iacTrust("a", "b"))
	deleted.Deleted = true
	src := NewIaCSource(&iac.Set{Roles: []iac.Role{iacRole("app", iacTrust("shop", "app")), deleted}}, nil, nil)
	roles := src.PlannedRoles()
	if len(roles) != 1 || roles[0].Name != "app" || roles[0].ID != "App" || roles[0].Account != "111122223333" || roles[0].Trust == nil {
		t.Fatalf("planned roles %+v", roles)
	}
}
