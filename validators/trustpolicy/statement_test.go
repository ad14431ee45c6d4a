package trustpolicy

import (
	"reflect"
	"testing"
)

const (
	provider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	issuer   = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
)

func webIdentity(sub string) Request {
	return Request{
		Action: "sts:AssumeRoleWithWebIdentity", PrincipalType: "Federated", Principal: provider,
		Context: map[string][]string{issuer + ":sub": {sub}, issuer + ":aud": {"sts.amazonaws.com"}},
	}
}

func TestEvaluateDecisions(t *testing.T) {
	allowApp := `{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + issuer + `:sub":"system:serviceaccount:prod:app"}}}`
	tests := map[string]struct {
		policy   string
		sub      string
		decision Decision
		deciding []StatementRef
	}{
		"the AWS docs' IRSA trust policy allows its ServiceAccount": {
			policy: `{"Version":"2012-10-17","Statement":[` + allowApp + `]}`, sub: "system:serviceaccount:prod:app",
			decision: DecisionAllow, deciding: []StatementRef{{Index: 0}},
		},
		"no matching Allow is an implicit deny": {
			policy: `{"Version":"2012-10-17","Statement":[` + allowApp + `]}`, sub: "system:serviceaccount:dev:app",
			decision: DecisionImplicitDeny, deciding: []StatementRef{},
		},
		"an explicit Deny wins over an Allow": {
			policy: `{"Version":"2012-10-17","Statement":[` + allowApp + `,{"Sid":"NoProd","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"` + issuer + `:sub":"system:serviceaccount:prod:*"}}}]}`,
			sub:    "system:serviceaccount:prod:app", decision: DecisionExplicitDeny, deciding: []StatementRef{{Index: 1, Sid: "NoProd"}},
		},
		"a Deny whose condition fails does not apply": {
			policy: `{"Version":"2012-10-17","Statement":[` + allowApp + `,{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringEquals":{"` + issuer + `:aud":"other"}}}]}`,
			sub:    "system:serviceaccount:prod:app", decision: DecisionAllow, deciding: []StatementRef{{Index: 0}},
		},
		"action matching is case-insensitive with wildcards": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":["x","` + provider + `"]},"Action":["STS:assumerolewith*"]}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionAllow, deciding: []StatementRef{{Index: 0}},
		},
		"sts:AssumeRole alone does not allow web identity": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRole"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionImplicitDeny, deciding: []StatementRef{},
		},
		"NotAction allows every other action": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"NotAction":"sts:TagSession"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionAllow, deciding: []StatementRef{{Index: 0}},
		},
		"NotAction excluding the action denies": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"NotAction":"sts:AssumeRoleWith*"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionImplicitDeny, deciding: []StatementRef{},
		},
		"the provider ARN is compared case-sensitively": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/exampled539d4633e53de1b716d3041e"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionImplicitDeny, deciding: []StatementRef{},
		},
		"a partial wildcard in a principal is literal": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/*"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionImplicitDeny, deciding: []StatementRef{},
		},
		"AWS * is every principal": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionAllow, deciding: []StatementRef{{Index: 0}},
		},
		"NotPrincipal never matches: trust policies do not support it": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"*"}}`,
			sub:    "system:serviceaccount:a:b", decision: DecisionImplicitDeny, deciding: []StatementRef{},
		},
		"two matching Allows are both deciding": {
			policy: `{"Version":"2012-10-17","Statement":[` + allowApp + `,` + allowApp + `]}`, sub: "system:serviceaccount:prod:app",
			decision: DecisionAllow, deciding: []StatementRef{{Index: 0}, {Index: 1}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Parse([]byte(tt.policy))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			res := Evaluate(p, webIdentity(tt.sub))
			if res.Decision != tt.decision || !reflect.DeepEqual(res.Deciding, tt.deciding) {
				t.Errorf("Evaluate = %s %v, want %s %v\n%+v", res.Decision, res.Deciding, tt.decision, tt.deciding, res.Statements)
			}
		})
	}
}

func TestEvaluateExplainsEveryStatement(t *testing.T) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Web","Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := Evaluate(p, webIdentity("system:serviceaccount:a:b"))
	want := Result{Decision: DecisionImplicitDeny, Deciding: []StatementRef{}, Statements: []StatementResult{
		{StatementRef: StatementRef{Index: 0, Sid: "Web"}, Effect: Allow, Conditions: []ConditionResult{},
			Principal: Check{Matched: true, Reason: `Federated principal "` + provider + `" matches`},
			Action:    Check{Reason: `Action "sts:AssumeRole" does not include sts:AssumeRoleWithWebIdentity`}},
		{StatementRef: StatementRef{Index: 1}, Effect: Allow, Conditions: []ConditionResult{},
			Principal: Check{Reason: "the statement names no Federated principal (only Service)"},
			Action:    Check{Reason: `Action "sts:AssumeRole" does not include sts:AssumeRoleWithWebIdentity`}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// FuzzEvaluate checks that evaluation never panics, is deterministic, and is sound in three-valued
// logic: a decision that is certain while some keys are known only at call time stays the same
// whatever values those keys turn out to have (ip, agent; "" for the IP means absent).
func FuzzEvaluate(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"`+issuer+`:sub":"system:serviceaccount:*:a?"}}}}`, "system:serviceaccount:x:ab", "10.0.0.1", "aws-sdk-go")
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","NotAction":"x","Condition":{"ForAllValues:NumericLessThanIfExists":{"k":[1,"${k}"]},"DateEquals":{"`+issuer+`:aud":"2020-01-01"}}}]}`, "${*}", "", "")
	f.Add(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"ArnLike":{"`+issuer+`:sub":"a:b:c:d:e:*"},"IpAddress":{"`+issuer+`:sub":"::1/128"},"Null":{"x":"maybe"}}}}`, "a:b:c:d:e:f:g", "::1", "x")
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*"},{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"},"StringNotLike":{"aws:UserAgent":"${aws:SourceIp}*"}}}]}`, "s", "192.0.2.1", "10.0.0.0")
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"Null":{"aws:SourceIp":"false"},"ForAnyValue:StringEqualsIfExists":{"aws:UserAgent":""}}}]}`, "s", "", "")
	f.Fuzz(func(t *testing.T, policy, sub, ip, agent string) {
		p, err := Parse([]byte(policy))
		if err != nil {
			return
		}
		partial := callTime(map[string][]string{issuer + ":sub": {sub}})
		a, b := Evaluate(p, partial), Evaluate(p, partial)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Evaluate is not deterministic:\n%+v\n%+v", a, b)
		}
		if (a.Decision == DecisionImplicitDeny) != (len(a.Deciding) == 0) {
			t.Fatalf("decision %s with deciding statements %v", a.Decision, a.Deciding)
		}
		full := callTime(map[string][]string{issuer + ":sub": {sub}, "aws:UserAgent": {agent}, "aws:ResourceTag/team": {}})
		if ip != "" {
			full.Context["aws:SourceIp"] = []string{ip}
		} else {
			full.Context["aws:SourceIp"] = []string{}
		}
		if got := Evaluate(p, full); a.Decision != DecisionUndetermined && got.Decision != a.Decision {
			t.Fatalf("decision %s with keys known only at call time, but %s once ip=%q agent=%q are known", a.Decision, got.Decision, ip, agent)
		}
	})
}
