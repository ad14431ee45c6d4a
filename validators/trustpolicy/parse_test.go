package trustpolicy

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseAcceptsRealPolicyShapes(t *testing.T) {
	tests := map[string]struct {
		policy string
		want   Policy
	}{
		"a single Statement object with string principal and action": {
			policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/A"},"Action":"sts:AssumeRoleWithWebIdentity"}}`,
			want: Policy{Version: "2012-10-17", Statements: []Statement{{
				Effect:    Allow,
				Principal: &Principal{Values: map[string][]string{"Federated": {"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/A"}}},
				Action:    []string{"sts:AssumeRoleWithWebIdentity"},
			}}},
		},
		"a Statement list with Sid, lists, NotAction, and condition values of every JSON type": {
			policy: `{"Version":"2012-10-17","Id":"p1","Statement":[
				{"Sid":"A","Effect":"Allow","Principal":"*","Action":["sts:AssumeRole","sts:TagSession"]},
				{"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::1:root","*"],"Service":"ec2.amazonaws.com"},"NotAction":"sts:Get*",
				 "Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"n":[1,2.5]},"StringLike":{"k":["a*","b?"]}}}]}`,
			want: Policy{Version: "2012-10-17", ID: "p1", Statements: []Statement{
				{Index: 0, Sid: "A", Effect: Allow, Principal: &Principal{Any: true}, Action: []string{"sts:AssumeRole", "sts:TagSession"}},
				{Index: 1, Effect: Deny,
					Principal: &Principal{Values: map[string][]string{"AWS": {"arn:aws:iam::1:root", "*"}, "Service": {"ec2.amazonaws.com"}}},
					NotAction: []string{"sts:Get*"},
					Conditions: []Condition{
						{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"false"}, Path: "Statement[1].Condition.Bool"},
						{Operator: "NumericLessThan", Key: "n", Values: []string{"1", "2.5"}, Path: "Statement[1].Condition.NumericLessThan"},
						{Operator: "StringLike", Key: "k", Values: []string{"a*", "b?"}, Path: "Statement[1].Condition.StringLike"},
					}},
			}},
		},
		"NotPrincipal and Resource are kept and noted because IAM rejects them in trust policies": {
			policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"*","Resource":"*"}]}`,
			want: Policy{Version: "2012-10-17", Statements: []Statement{{
				Effect: Deny, NotPrincipal: &Principal{Values: map[string][]string{"AWS": {"arn:aws:iam::1:root"}}},
				Action: []string{"*"}, Resource: []string{"*"},
			}}, Notes: []Note{
				{Path: "Statement[0].NotPrincipal", Line: 1, Column: 55, Rejected: true, offset: 54,
					Message: "role trust policies do not support NotPrincipal; IAM rejects the policy when it is written (MalformedPolicyDocument)"},
				{Path: "Statement[0].Resource", Line: 1, Column: 113, Rejected: true, offset: 112,
					Message: "a role trust policy cannot name a resource; IAM rejects the policy when it is written (MalformedPolicyDocument: Has prohibited field Resource)"},
			}},
		},
		"a policy without Version that uses a policy variable is noted: the variable is then plain text": {
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"k":"${aws:username}"}}}}`,
			want: Policy{Statements: []Statement{{Effect: Allow, Principal: &Principal{Any: true}, Action: []string{"*"},
				Conditions: []Condition{{Operator: "StringEquals", Key: "k", Values: []string{"${aws:username}"}, Path: "Statement.Condition.StringEquals"}}}},
				Notes: []Note{{Path: "Version", Line: 1, Column: 1, offset: 0,
					Message: `missing, so IAM uses 2008-10-17, where policy variables like ${aws:username} are plain text; use "2012-10-17"`}}},
		},
		"a policy without Version and without policy variables needs no note": {
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`,
			want:   Policy{Statements: []Statement{{Effect: Allow, Principal: &Principal{Any: true}, Action: []string{"*"}}}},
		},
		"a wildcard inside a Federated principal is noted: IAM matches principals exactly": {
			policy: "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\n\"Principal\":{\"Federated\":[\"arn:aws:iam::1:oidc-provider/a\",\"arn:aws:iam::1:oidc-provider/oidc.eks.*.amazonaws.com/id/*\"]},\"Action\":\"*\"}}",
			want: Policy{Version: "2012-10-17", Statements: []Statement{{Effect: Allow,
				Principal: &Principal{Values: map[string][]string{"Federated": {"arn:aws:iam::1:oidc-provider/a", "arn:aws:iam::1:oidc-provider/oidc.eks.*.amazonaws.com/id/*"}}},
				Action:    []string{"*"}}},
				Notes: []Note{{Path: "Statement.Principal.Federated[1]", Line: 2, Column: 60, offset: 114,
					Message: `IAM does not expand a wildcard inside a principal, so "arn:aws:iam::1:oidc-provider/oidc.eks.*.amazonaws.com/id/*" matches only that exact text`}}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(tt.policy))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", *got, tt.want)
			}
		})
	}
}

func TestParseErrorsSayWhere(t *testing.T) {
	tests := map[string]struct {
		policy string
		want   string
	}{
		"empty input": {``, "line 1, column 1: invalid JSON: the document ends too early (unclosed brace, bracket or string)"},
		"a trailing comma": {"{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}",
			"line 3, column 24: invalid JSON: invalid character '}' looking for beginning of object key string"},
		"an unclosed statement list": {`{"Statement":[{"Effect":"Allow"}`, "line 1, column 33: invalid JSON: the document ends too early (unclosed brace, bracket or string)"},
		"two documents":              {`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}} {}`, "line 1, column 63: unexpected data after the policy's closing brace"},
		"a list instead of a policy": {`[{"Effect":"Allow"}]`, "line 1, column 1: a policy must be a JSON object with a Statement, got a list"},
		"no Statement":               {`{"Version":"2012-10-17"}`, "line 1, column 1: the policy has no Statement element"},
		"Statement is a string":      {`{"Statement":"Allow"}`, "line 1, column 14: Statement: must be an object or a list of objects, got a string"},
		"lower-case effect": {"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\"},\n{\"Effect\":\"allow\"}]}",
			`line 2, column 11: Statement[1].Effect: must be "Allow" or "Deny" (case-sensitive)`},
		"a principal ARN given as a bare string": {`{"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::1:oidc-provider/x","Action":"*"}}`,
			`line 1, column 44: Statement.Principal: a string principal must be "*"; write {"Federated": "arn:aws:iam::1:oidc-provider/x"} for a provider`},
		"an unknown principal type": {`{"Statement":{"Effect":"Allow","Principal":{"Federate":"x"},"Action":"*"}}`,
			"line 1, column 56: Statement.Principal.Federate: unknown principal type (expected Federated, AWS, Service or CanonicalUser)"},
		"a number in the Action list": {`{"Statement":{"Effect":"Allow","Principal":"*","Action":["sts:AssumeRole",7]}}`,
			"line 1, column 75: Statement.Action[1]: must be a string, got a number"},
		"a condition value that is an object": {"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\n\"Condition\":{\"StringEquals\":{\"k\":{\"v\":1}}}}}",
			`line 2, column 34: Statement.Condition.StringEquals["k"]: value must be a string, number, boolean or list of them, got an object`},
		"a condition operator that is not an object": {`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":"k"}}}`,
			"line 1, column 89: Statement.Condition.StringEquals: must be an object of condition keys to values, got a string"},
		"no Action":              {`{"Statement":{"Effect":"Allow","Principal":"*"}}`, `line 1, column 14: Statement: missing Action, e.g. "Action": "sts:AssumeRoleWithWebIdentity"`},
		"an unknown version":     {`{"Version":"2012-10-18","Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`, `line 1, column 12: Version: unknown version "2012-10-18" (use "2012-10-17")`},
		"an unknown element":     {`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Actions":"x"}}`, "line 1, column 71: Statement.Actions: unknown statement element (expected Sid, Effect, Principal, Action, NotAction or Condition)"},
		"a multi-byte column":    {"{\"Sid\":\"é\", }", `line 1, column 13: invalid JSON: invalid character '}' looking for beginning of object key string`},
		"deep nesting is capped": {`{"Statement":` + repeat("[", 100), "line 1, column 78: nested deeper than 64 levels"},
		"a repeated Effect (IAM's grammar forbids repeated keys)": {"{\"Statement\":{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"*\",\n\"Effect\":\"Allow\"}}",
			`line 2, column 1: Statement: duplicate key "Effect" (first at line 1); IAM does not accept a key twice in one element`},
		"a repeated Statement": {`{"Statement":{"Effect":"Deny","Principal":"*","Action":"*"},"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`,
			`line 1, column 61: duplicate key "Statement" (first at line 1); IAM does not accept a key twice in one element`},
		"a repeated condition operator": {`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"a":"1"},"StringEquals":{"b":"2"}}}}`,
			`line 1, column 99: Statement.Condition: duplicate key "StringEquals" (first at line 1); IAM does not accept a key twice in one element`},
		"a repeated condition key": {`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"x:sub":"a","x:sub":"b"}}}}`,
			`line 1, column 102: Statement.Condition.StringEquals: duplicate key "x:sub" (first at line 1); IAM does not accept a key twice in one element`},
		"a repeated principal type": {`{"Statement":{"Effect":"Allow","Principal":{"Federated":"a","Federated":"b"},"Action":"*"}}`,
			`line 1, column 61: Statement.Principal: duplicate key "Federated" (first at line 1); IAM does not accept a key twice in one element`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tt.policy))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error =\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// FuzzParse checks the parser never panics on hostile input and that every error is a
// positioned *ParseError.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"x:sub":"system:serviceaccount:a:b"}}}]}`,
		`{"Statement":{"Effect":"Deny","NotPrincipal":"*","NotAction":["a","b"],"Condition":{"Null":{"k":true}}}}`,
		`{"Statement":[[[`, `{"a":1e999}`, "\xff", `"x"`,
		`{"Statement":{"Effect":"Allow","Effect":"Deny"}}`,
		`{"Statement":{"Effect":"Allow","Principal":{"Federated":["a*","*"]},"Action":"*","Resource":"*","Condition":{"StringEquals":{"k":"${x}"}}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			_ = pe.Error()
			return
		}
		// An empty Statement list parses: nothing allows, whatever IAM thinks of it.
		if p == nil {
			t.Fatal("nil policy without error")
		}
		for _, n := range p.Notes {
			if n.Line < 1 || n.Column < 1 || n.Message == "" {
				t.Fatalf("note without position or message: %+v", n)
			}
		}
	})
}
