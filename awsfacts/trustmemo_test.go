package awsfacts

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

const memoIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"

// memoPolicy is eksctl's trust policy shape with the given sub condition.
func memoPolicy(operator, sub string) string {
	host := validators.IssuerHostPath(memoIssuer)
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/%s"},`+
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{%q:{%q:%q,%q:"sts.amazonaws.com"}}}]}`, host, operator, host+":sub", sub, host+":aud")
}

func TestTrustMemoAnswersExactlyAsCheckTrust(t *testing.T) {
	tests := map[string]struct {
		policy string
		want   []string
	}{
		"a policy scoped to this ServiceAccount gives no findings": {
			policy: memoPolicy("StringEquals", "system:serviceaccount:shop:app"),
			want:   []string{},
		},
		"a sub written for another ServiceAccount is IRSA032": {
			policy: memoPolicy("StringEquals", "system:serviceaccount:shop:cart"),
			want:   []string{"IRSA032/error"},
		},
		"a sub wildcard over the namespace is IRSA034": {
			policy: memoPolicy("StringLike", "system:serviceaccount:shop:*"),
			want:   []string{"IRSA034/warning"},
		},
		"a policy irsa-guard cannot parse is IRSA090": {
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`,
			want:   []string{"IRSA090/info"},
		},
	}
	obj := validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := validators.TrustInput{Policy: tc.policy, RoleARN: "arn:aws:iam::111122223333:role/app", Issuer: memoIssuer, Namespace: "shop", ServiceAccount: "app"}
			want := validators.CheckTrust(obj, in)
			if got := summary(want); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("CheckTrust = %v, want %v", got, tc.want)
			}
			if parsed, err := trustpolicy.Parse([]byte(tc.policy)); err == nil {
				in.Parsed = parsed
			}
			m := newTrustMemo()
			first := m.check(obj, in)
			for i := range first { // callers rewrite findings in place; the memo must not see it
				first[i].Message = "changed by the caller"
			}
			second := m.check(obj, in)
			if !reflect.DeepEqual(second, want) || (len(want) > 0 && reflect.DeepEqual(first, want)) {
				t.Errorf("memo answered %+v then %+v, want %+v both times", first, second, want)
			}
		})
	}
}

func TestTrustMemoKeysOnThePolicyAndTheServiceAccount(t *testing.T) {
	m := newTrustMemo()
	obj := validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"}
	in := validators.TrustInput{Policy: memoPolicy("StringEquals", "system:serviceaccount:shop:app"),
		RoleARN: "arn:aws:iam::111122223333:role/app", Issuer: memoIssuer, Namespace: "shop", ServiceAccount: "app"}
	if got := summary(m.check(obj, in)); len(got) != 0 {
		t.Fatalf("scoped policy: %v", got)
	}
	other := in
	other.ServiceAccount, obj.Name = "cart", "cart"
	if got := summary(m.check(obj, other)); !reflect.DeepEqual(got, []string{"IRSA032/error"}) {
		t.Errorf("another ServiceAccount of the same role: %v, want [IRSA032/error]", got)
	}
	obj.Name = "app"
	edited := in
	edited.Policy = memoPolicy("StringEquals", "system:serviceaccount:shop:cart")
	if got := summary(m.check(obj, edited)); !reflect.DeepEqual(got, []string{"IRSA032/error"}) {
		t.Errorf("the role's policy edited in IAM: %v, want [IRSA032/error]", got)
	}
}

func TestTrustMemoStaysBounded(t *testing.T) {
	m := newTrustMemo()
	in := validators.TrustInput{Policy: memoPolicy("StringEquals", "system:serviceaccount:shop:app"),
		RoleARN: "arn:aws:iam::111122223333:role/app", Issuer: memoIssuer, Namespace: "shop"}
	for i := range maxTrustAnswers + 10 {
		in.ServiceAccount = fmt.Sprintf("sa-%d", i)
		m.check(validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: in.ServiceAccount}, in)
	}
	if n := len(m.answers); n > maxTrustAnswers {
		t.Errorf("memo holds %d answers, want at most %d", n, maxTrustAnswers)
	}
}

func TestGetRoleKeepsTheParsedPolicy(t *testing.T) {
	e := newEnv(t, func(s *awsstate.State) {
		s.Accounts[ownAccount].Roles = append(s.Accounts[ownAccount].Roles, awsstate.Role{
			Name: "odd", TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}`})
	})
	v := e.verifier(t, nil)
	facts, err := v.getRole(testContext(t), v.iam, "percent")
	if err != nil {
		t.Fatalf("getRole: %v", err)
	}
	if facts.Policy == nil || len(facts.Policy.Statements) != 1 || facts.Policy.Statements[0].Sid != "Save100%25" {
		t.Errorf("Policy = %+v, want the parse of the once-decoded text (Sid Save100%%25)", facts.Policy)
	}
	odd, err := v.getRole(testContext(t), v.iam, "odd")
	if err != nil || odd.Policy != nil {
		t.Fatalf("getRole(odd) = %+v, %v; want no parsed policy for an unparseable one", odd.Policy, err)
	}
	fs := v.Verify(testContext(t), e.identity("arn:aws:iam::111122223333:role/odd"))
	if got := summary(fs); !reflect.DeepEqual(got, []string{"IRSA090/info"}) || !strings.Contains(fs[0].Message, "cannot read the trust policy") {
		t.Errorf("Verify(odd) = %+v, want one IRSA090 saying the policy cannot be read", fs)
	}
}

// A young role's findings are rewritten per request (downgraded to warnings with a prefix); the
// memo must hand every request the original, or the prefix would pile up.
func TestVerifyGivesTheSameFindingsWarmAndCold(t *testing.T) {
	e := newEnv(t, func(s *awsstate.State) {
		r := &s.Accounts[ownAccount].Roles[0]
		r.CreateDate = testNow.Add(-time.Minute)
		r.TrustPolicy = awsstate.PolicyText(strings.ReplaceAll(string(r.TrustPolicy), "shop:app", "shop:other"))
	})
	v := e.verifier(t, nil)
	id := e.identity("arn:aws:iam::111122223333:role/app")
	cold := v.Verify(testContext(t), id)
	if got := summary(cold); !reflect.DeepEqual(got, []string{"IRSA032/warning"}) || strings.Count(cold[0].Message, "may still be propagating") != 1 {
		t.Fatalf("cold = %+v", cold)
	}
	for range 3 {
		if warm := v.Verify(testContext(t), id); !reflect.DeepEqual(warm, cold) {
			t.Fatalf("warm = %+v, want %+v", warm, cold)
		}
	}
	if n := e.aws.Calls("GetRole"); n != 1 {
		t.Errorf("GetRole calls = %d, want 1", n)
	}
	e.clock.Add(validators.PropagationWindow)
	if got := summary(v.Verify(testContext(t), id)); !reflect.DeepEqual(got, []string{"IRSA032/error"}) {
		t.Errorf("after the propagation window: %v, want [IRSA032/error]", got)
	}
}
