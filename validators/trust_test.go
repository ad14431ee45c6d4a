package validators

import (
	"fmt"
	"strings"
	"testing"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

const (
	trustIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	trustHost   = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	trustRole   = "arn:aws:iam::111122223333:role/my-app"
	trustProv   = "arn:aws:iam::111122223333:oidc-provider/" + trustHost
)

// trustDoc builds a one-statement trust policy with the given principal, action and condition JSON.
func trustDoc(principal, action, condition string) string {
	s := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + principal + `"},"Action":"` + action + `"`
	if condition != "" {
		s += `,"Condition":` + condition
	}
	return s + `}]}`
}

// trustCase is a CheckTrust input with the policy as JSON text, as tables write it.
type trustCase struct {
	Policy, RoleARN, Issuer, Namespace, ServiceAccount, Audience string
}

func (c trustCase) input(t *testing.T) TrustInput {
	t.Helper()
	p, err := trustpolicy.Parse([]byte(c.Policy))
	if err != nil {
		t.Fatalf("test policy does not parse: %v", err)
	}
	return TrustInput{Policy: p, RoleARN: c.RoleARN, Issuer: c.Issuer, Namespace: c.Namespace, ServiceAccount: c.ServiceAccount, Audience: c.Audience}
}

type wantTrustFinding struct {
	check   CheckID
	message string
	fix     string
}

func TestCheckTrust(t *testing.T) {
	scoped := `{"StringEquals":{"` + trustHost + `:sub":"system:serviceaccount:prod:my-app","` + trustHost + `:aud":"sts.amazonaws.com"}}`
	tests := map[string]struct {
		in   trustCase
		want []wantTrustFinding
	}{
		"the EKS user guide's policy for this ServiceAccount is allowed and scoped": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", scoped)},
		},
		"eksctl's generated policy (Action list, aud and sub) is allowed and scoped": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + trustProv + `"},"Action":["sts:AssumeRoleWithWebIdentity"],"Condition":{"StringEquals":{"` + trustHost + `:aud":"sts.amazonaws.com","` + trustHost + `:sub":"system:serviceaccount:prod:my-app"}}}]}`},
		},
		"the Terraform IRSA module's policy with a list of subjects is allowed and scoped": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Federated":"` + trustProv + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + trustHost + `:sub":["system:serviceaccount:prod:worker","system:serviceaccount:prod:my-app"],"` + trustHost + `:aud":"sts.amazonaws.com"}}}]}`},
		},
		"StringEquals with a * never matches (crossplane#5578)": {
			in: trustCase{Namespace: "crossplane-system", ServiceAccount: "provider-aws-a1b2c3", Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:crossplane-system:provider-aws-*"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: StringEquals treats * and ? in the :sub value literally; use StringLike", "Use StringLike for wildcards: \"StringLike\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:crossplane-system:provider-aws-*\"}."},
			},
		},
		"only an aud condition lets every ServiceAccount in": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:aud":"sts.amazonaws.com"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: no :sub condition)", "Statement[0] lets them in (no :sub condition). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"a namespace wildcard lets the namespace in": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:prod:*"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount in \"prod\" can assume the role (Statement[0]: sub StringLike \"system:serviceaccount:prod:*\")", "Statement[0] lets them in (sub StringLike \"system:serviceaccount:prod:*\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"system:serviceaccount:* lets the whole cluster in": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:*"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: sub StringLike \"system:serviceaccount:*\")", "Statement[0] lets them in (sub StringLike \"system:serviceaccount:*\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"a ServiceAccount name in any namespace": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:*:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount named \"my-app\" can assume the role (Statement[0]: sub StringLike \"system:serviceaccount:*...", "Statement[0] lets them in (sub StringLike \"system:serviceaccount:*:my-app\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"StringNotEquals excluding kube-system lets everything else in": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringNotLike":{"`+trustHost+`:sub":"system:serviceaccount:kube-system:*"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: sub StringNotLike \"system:serviceaccount:kube-system:*\")", "Statement[0] lets them in (sub StringNotLike \"system:serviceaccount:kube-system:*\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"ForAllValues on a misspelt key is true and lets everyone in": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"ForAllValues:StringEquals":{"`+trustHost+`:sud":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: ForAllValues:StringEquals is true on absent \":sud\")", "Statement[0] lets them in (ForAllValues:StringEquals is true on absent \":sud\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"Null false on sub only says a sub exists": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"Null":{"`+trustHost+`:sub":"false"}}`)},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: sub Null \"false\")", "Statement[0] lets them in (sub Null \"false\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"a trust written for another namespace": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", scoped), Namespace: "staging", ServiceAccount: "my-app"},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub allows prod/my-app, wrong namespace for staging/my-app", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:staging:my-app\"}."},
			},
		},
		"a trust written for another ServiceAccount": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", scoped), Namespace: "prod", ServiceAccount: "other"},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub allows prod/my-app, wrong ServiceAccount for prod/other", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:other\"}."},
			},
		},
		"https:// in the condition key": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"https://`+trustHost+`:sub":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: condition key starts with https://, so it never matches", "Drop https:// from the key: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"https:// in the Federated principal": {
			in: trustCase{Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/https://"+trustHost, "sts:AssumeRoleWithWebIdentity", scoped)},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: Federated principal includes https://", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E."},
			},
		},
		"the oidc.REGION.eks issuer form in the principal": {
			in: trustCase{Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/oidc.us-west-2.eks.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", "sts:AssumeRoleWithWebIdentity", scoped)},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: provider uses oidc.us-west-2.eks...; EKS issuers are oidc.eks.us-west-2...", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/oidc.us-west-2.eks.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E."},
			},
		},
		"a trust copied from another cluster": {
			in: trustCase{Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF", "sts:AssumeRoleWithWebIdentity", scoped)},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: provider is another cluster's issuer (id \"0123456789ABCDEF0123456789ABCDEF\")", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF."},
			},
		},
		"the provider ID in lower case": {
			in: trustCase{Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/exampled539d4633e53de1b716d3041e", "sts:AssumeRoleWithWebIdentity", scoped)},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: provider differs from this cluster's issuer in letter case only; IAM compares exactly", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/exampled539d4633e53de1b716d3041e."},
			},
		},
		"the provider in another account": {
			in: trustCase{Policy: trustDoc("arn:aws:iam::444455556666:oidc-provider/"+trustHost, "sts:AssumeRoleWithWebIdentity", scoped)},
			want: []wantTrustFinding{
				{CheckTrustCrossAccount, "Statement[0] trusts the provider in account 444455556666; the role is in 111122223333", "Create an OIDC provider for the issuer in account 111122223333 and trust it: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}."},
			},
		},
		"a GitHub Actions-only trust": {
			in: trustCase{Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com", "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:*"}}`)},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: provider names issuer \"token.actions.githubusercontent.com\", not this cluster's", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com."},
			},
		},
		"a role shared by GitHub Actions and this ServiceAccount is allowed and scoped": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":[
				{"Sid":"GitHub","Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/*"}}},
				{"Sid":"EKS","Effect":"Allow","Principal":{"Federated":"` + trustProv + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + scoped + `}]}`},
		},
		"only sts:AssumeRole": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRole", scoped)},
			want: []wantTrustFinding{
				{CheckTrustAction, "Statement[0] allows sts:AssumeRole, not sts:AssumeRoleWithWebIdentity", "In Statement[0] set \"Action\": \"sts:AssumeRoleWithWebIdentity\" (an OIDC provider principal can only use it)."},
			},
		},
		"a :sud typo in the sub key": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sud":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: condition key ends in \":sud\", a claim STS never sets; did you mean \":sub\"?", "Fix the key: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"a :subject key": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:subject":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: condition key ends in \":subject\", a claim STS never sets; did you mean \":sub\"?", "Fix the key: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"the China audience on a commercial cluster": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:my-app","`+trustHost+`:aud":"sts.amazonaws.com.cn"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: StringEquals on :aud wants \"sts.amazonaws.com.cn\", token has \"sts.amazonaws.com\"", "Make the condition match the token: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:aud\": \"sts.amazonaws.com\"}."},
			},
		},
		"a custom audience annotation matches a custom aud condition": {
			in: trustCase{Audience: "my-audience", Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:my-app","`+trustHost+`:aud":"my-audience"}}`)},
		},
		"a condition key for another cluster": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF:sub":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: :sub condition key is another cluster's issuer (id \"0123456789ABCDEF0123456789ABCDEF\")", "Use this cluster's issuer in the key: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"a condition key in the wrong region": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: :sub condition key names region us-east-1; this cluster's issuer is in us-west-2", "Use this cluster's issuer in the key: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"an operator IAM does not know": {
			in: trustCase{Policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEqual":{"`+trustHost+`:sub":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: unknown condition operator \"StringEqual\"; the condition never matches", "Use a valid operator, e.g. \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"an explicit Deny for the namespace wins": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Principal":{"Federated":"` + trustProv + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + scoped + `},
				{"Sid":"NoProd","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"` + trustHost + `:sub":"system:serviceaccount:prod:*"}}}]}`},
			want: []wantTrustFinding{
				{CheckTrustExplicitDeny, "Deny Statement[1] (\"NoProd\") matches this ServiceAccount's token", "Narrow or remove the Deny Statement[1] (\"NoProd\"); an explicit Deny always wins. It matches because StringLike \"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\" matches \"system:serviceaccount:prod:*\"."},
			},
		},
		"a Deny for another namespace does not apply": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":[
				{"Effect":"Allow","Principal":{"Federated":"` + trustProv + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + scoped + `},
				{"Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"` + trustHost + `:sub":"system:serviceaccount:kube-system:*"}}}]}`},
		},
		"Principal * with a scoped sub is still scoped": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":` + scoped + `}}`},
		},
		"Principal * without conditions lets any provider in": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}}`},
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: Principal \"*\")", "Statement[0] lets them in (Principal \"*\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
		},
		"an EC2 service trust only": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "no Allow statement has a Federated principal", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}."},
			},
		},
		"an Auth0 issuer with its trailing slash is allowed and scoped": {
			in: trustCase{Issuer: "https://example.eu.auth0.com/", Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/example.eu.auth0.com/", "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"example.eu.auth0.com/:sub":"system:serviceaccount:prod:my-app"}}`)},
		},
		"an Auth0 trust without the trailing slash": {
			in: trustCase{Issuer: "https://example.eu.auth0.com/", Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/example.eu.auth0.com", "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"example.eu.auth0.com:sub":"system:serviceaccount:prod:my-app"}}`)},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: provider lacks the trailing slash of this cluster's issuer \"example.eu.auth0.com/\"", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/example.eu.auth0.com/\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/example.eu.auth0.com."},
			},
		},
		"an aws-cn cluster is allowed and scoped": {
			in: trustCase{RoleARN: "arn:aws-cn:iam::111122223333:role/my-app", Issuer: "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E",
				Policy: trustDoc("arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E", "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E:sub":"system:serviceaccount:prod:my-app","oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E:aud":"sts.amazonaws.com"}}`)},
		},
		"an aws-cn role whose trust names the aws partition": {
			in: trustCase{RoleARN: "arn:aws-cn:iam::111122223333:role/my-app", Issuer: "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E",
				Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E", "sts:AssumeRoleWithWebIdentity", "")},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0] trusts a provider in partition aws, not aws-cn", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B716D3041E."},
			},
		},
		"a self-managed issuer on S3 is allowed and scoped": {
			in: trustCase{Issuer: "https://my-oidc.s3.us-east-1.amazonaws.com/cluster-1", Policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/my-oidc.s3.us-east-1.amazonaws.com/cluster-1", "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"my-oidc.s3.us-east-1.amazonaws.com/cluster-1:sub":"system:serviceaccount:prod:my-app"}}`)},
		},
		"NotPrincipal instead of Principal": {
			in: trustCase{Policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRoleWithWebIdentity"}}`},
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0] uses NotPrincipal, which role trust policies do not support", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}."},
			},
		},
		"a role ARN that does not parse is left to IRSA001": {
			in: trustCase{RoleARN: "my-app", Policy: trustDoc(trustProv, "sts:AssumeRole", "")},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			in := tt.in.input(t)
			if in.RoleARN == "" {
				in.RoleARN = trustRole
			}
			if in.Issuer == "" {
				in.Issuer = trustIssuer
			}
			if in.Namespace == "" {
				in.Namespace, in.ServiceAccount = "prod", "my-app"
			}
			got := CheckTrust(Object{Kind: "ServiceAccount", Namespace: in.Namespace, Name: in.ServiceAccount}, in)
			if len(got) != len(tt.want) {
				t.Fatalf("CheckTrust = %d findings, want %d:\n%s", len(got), len(tt.want), dumpTrust(got))
			}
			for i, w := range tt.want {
				if got[i].Check != w.check || got[i].Message != w.message || got[i].Fix != w.fix {
					t.Errorf("finding %d =\n%s\nwant %s: %s (fix %q)", i, dumpTrust(got[i:i+1]), w.check, w.message, w.fix)
				}
				if n := len([]rune(got[i].String())); n > MaxMessageRunes {
					t.Errorf("finding %d is %d runes, over %d: %s", i, n, MaxMessageRunes, got[i])
				}
			}
		})
	}
}

// dumpTrust renders findings as wantTrustFinding literals, ready to paste into the table.
func dumpTrust(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "GOLIT {%s, %q, %q},\n", checkConst(f.Check), f.Message, f.Fix)
	}
	return b.String()
}

func checkConst(id CheckID) string {
	return map[CheckID]string{CheckTrustNoProvider: "CheckTrustNoProvider", CheckTrustAction: "CheckTrustAction",
		CheckTrustConditions: "CheckTrustConditions", CheckTrustExplicitDeny: "CheckTrustExplicitDeny",
		CheckTrustTooBroad: "CheckTrustTooBroad", CheckTrustCrossAccount: "CheckTrustCrossAccount",
		CheckCouldNotVerify: "CheckCouldNotVerify", CheckTrustRejected: "CheckTrustRejected", CheckTrustLiteral: "CheckTrustLiteral",
		CheckTrustTimeWindow: "CheckTrustTimeWindow", CheckTrustUndetermined: "CheckTrustUndetermined"}[id]
}

// FuzzCheckTrust checks that no policy, subject or issuer makes the trust checks panic, that every
// finding fits in an admission warning, and that only a certain denial yields an error.
func FuzzCheckTrust(f *testing.F) {
	f.Add(trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:*"}}`), "prod", "my-app", trustIssuer)
	f.Add(trustDoc("arn:aws:iam::1:oidc-provider/https://x", "sts:AssumeRole", `{"ForAllValues:StringLike":{"nocolon":"*"}}`), "", "", "https://x/")
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*"}}`, "a:b", ":", "")
	f.Add(trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"DateLessThan":{"aws:CurrentTime":["2027-01-15","2026-01-01T00:00:00Z"]},"NumericGreaterThan":{"aws:EpochTime":"1700000000"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), "prod", "my-app", trustIssuer)
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:team-*:app?"}}},{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-west-2"},"ArnLike":{"`+trustHost+`:aud":"x"}}}]}`, "team-a", "app1", trustIssuer)
	f.Fuzz(func(t *testing.T, policy, ns, sa, issuer string) {
		parsed, err := trustpolicy.Parse([]byte(policy))
		if err != nil {
			return
		}
		obj := Object{Kind: "ServiceAccount", Namespace: ns, Name: sa}
		for _, call := range []WebIdentityCall{{}, podCall} {
			in := TrustInput{Policy: parsed, RoleARN: trustRole, Issuer: issuer, Namespace: ns, ServiceAccount: sa, Call: call}
			for _, f := range CheckTrust(obj, in) {
				if n := len([]rune(f.String())); n > MaxMessageRunes {
					t.Fatalf("finding is %d runes: %s", n, f)
				}
			}
			rep := EvaluateTrust(obj, parsed, TrustRequest{ProviderARN: ProviderARN("aws", "111122223333", issuer), Subject: ServiceAccountSubject(ns, sa), Call: call})
			for _, f := range rep.Findings {
				if f.Severity == SeverityError && (rep.Result.Decision == trustpolicy.DecisionAllow || rep.Result.Decision == trustpolicy.DecisionUndetermined) {
					t.Fatalf("decision %s with an error finding: %s", rep.Result.Decision, f)
				}
			}
		}
	})
}
