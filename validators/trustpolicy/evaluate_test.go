package trustpolicy

import (
	"fmt"
	"reflect"
	"testing"
)

// cond evaluates one condition inside an Allow-everything statement against ctx.
func cond(t *testing.T, op, key, values string, ctx map[string][]string) ConditionResult {
	t.Helper()
	return condReq(t, op, key, values, Request{Action: "sts:AssumeRoleWithWebIdentity", Context: ctx})
}

// condReq evaluates one condition inside an Allow-everything statement against req.
func condReq(t *testing.T, op, key, values string, req Request) ConditionResult {
	t.Helper()
	p, err := Parse(fmt.Appendf(nil, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{%q:{%q:%s}}}}`, op, key, values))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	res := Evaluate(p, req)
	c := res.Statements[0].Conditions[0]
	want := map[truth]Decision{yes: DecisionAllow, no: DecisionImplicitDeny, maybe: DecisionUndetermined}[c.truth()]
	if res.Decision != want || c.Matched && c.Undetermined {
		t.Fatalf("decision %s disagrees with the condition's verdict %+v", res.Decision, c)
	}
	return c
}

// verdictOf names a condition result the way tables write it.
func verdictOf(c ConditionResult) string {
	return map[truth]string{yes: "match", no: "no match", maybe: "undetermined"}[c.truth()]
}

func TestConditionOperators(t *testing.T) {
	sub := map[string][]string{"oidc.eks.us-west-2.amazonaws.com/id/ABC:sub": {"system:serviceaccount:prod/x:app"}}
	one := func(k, v string) map[string][]string { return map[string][]string{k: {v}} }
	multi := map[string][]string{"tags": {"a", "b"}}
	tests := map[string]struct {
		op, key, values string
		ctx             map[string][]string
		want            any // true, false, or "undetermined"
	}{
		"StringEquals is exact":                                                {"StringEquals", "k", `"v"`, one("k", "v"), true},
		"StringEquals is case-sensitive":                                       {"StringEquals", "k", `"V"`, one("k", "v"), false},
		"StringEquals treats * literally (crossplane#5578)":                    {"StringEquals", "oidc.eks.us-west-2.amazonaws.com/id/ABC:sub", `"system:serviceaccount:*"`, sub, false},
		"keys are case-insensitive":                                            {"StringEquals", "OIDC.EKS.US-WEST-2.amazonaws.com/id/abc:SUB", `"system:serviceaccount:prod/x:app"`, sub, true},
		"multiple values are ORed":                                             {"StringEquals", "k", `["a","v"]`, one("k", "v"), true},
		"a number value compares as text":                                      {"StringEquals", "k", `12`, one("k", "12"), true},
		"StringNotEquals on a different value":                                 {"StringNotEquals", "k", `"a"`, one("k", "v"), true},
		"StringNotEquals on an equal value":                                    {"StringNotEquals", "k", `["a","v"]`, one("k", "v"), false},
		"StringEqualsIgnoreCase folds case":                                    {"StringEqualsIgnoreCase", "k", `"SYSTEM:ServiceAccount:A:B"`, one("k", "system:serviceaccount:a:b"), true},
		"StringNotEqualsIgnoreCase folds case":                                 {"StringNotEqualsIgnoreCase", "k", `"V"`, one("k", "v"), false},
		"StringLike * matches across : and /":                                  {"StringLike", "oidc.eks.us-west-2.amazonaws.com/id/ABC:sub", `"system:serviceaccount:*"`, sub, true},
		"StringLike ? is exactly one character":                                {"StringLike", "k", `"a?c"`, one("k", "abc"), true},
		"StringLike ? does not match two":                                      {"StringLike", "k", `"a?c"`, one("k", "abbc"), false},
		"StringLike is case-sensitive":                                         {"StringLike", "k", `"A*"`, one("k", "abc"), false},
		"StringLike with several stars":                                        {"StringLike", "k", `"*a*a*b"`, one("k", "xaxxab"), true},
		"StringNotLike excludes a namespace":                                   {"StringNotLike", "k", `"system:serviceaccount:kube-system:*"`, one("k", "system:serviceaccount:prod:app"), true},
		"StringNotLike on a match":                                             {"StringNotLike", "k", `"system:*"`, one("k", "system:serviceaccount:prod:app"), false},
		"NumericEquals":                                                        {"NumericEquals", "n", `"10"`, one("n", "10.0"), true},
		"NumericNotEquals":                                                     {"NumericNotEquals", "n", `10`, one("n", "10"), false},
		"NumericLessThan":                                                      {"NumericLessThan", "n", `10`, one("n", "9.5"), true},
		"NumericLessThanEquals":                                                {"NumericLessThanEquals", "n", `10`, one("n", "10"), true},
		"NumericGreaterThan":                                                   {"NumericGreaterThan", "n", `10`, one("n", "10"), false},
		"NumericGreaterThanEquals":                                             {"NumericGreaterThanEquals", "n", `10`, one("n", "11"), true},
		"Numeric on a non-number request value":                                {"NumericEquals", "n", `10`, one("n", "ten"), "undetermined"},
		"DateLessThan with ISO 8601 and epoch":                                 {"DateLessThan", "d", `"2030-01-01T00:00:00Z"`, one("d", "1700000000"), true},
		"DateGreaterThan":                                                      {"DateGreaterThan", "d", `"2030-01-01"`, one("d", "2020-01-01T00:00:00Z"), false},
		"Bool true as a JSON boolean":                                          {"Bool", "aws:SecureTransport", `true`, one("aws:SecureTransport", "true"), true},
		"Bool false as a string":                                               {"Bool", "b", `"false"`, one("b", "true"), false},
		"BinaryEquals":                                                         {"BinaryEquals", "b", `"QmluYXJ5"`, one("b", "QmluYXJ5"), true},
		"IpAddress in a CIDR":                                                  {"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, one("aws:SourceIp", "10.1.2.3"), true},
		"NotIpAddress in a CIDR":                                               {"NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, one("aws:SourceIp", "10.1.2.3"), false},
		"ArnLike matches per component":                                        {"ArnLike", "a", `"arn:aws:iam::*:role/app-*"`, one("a", "arn:aws:iam::111122223333:role/app-x"), true},
		"ArnLike * stays within its component":                                 {"ArnLike", "a", `"arn:aws:iam::*"`, one("a", "arn:aws:iam::111122223333:role/x"), false},
		"ArnEquals exact":                                                      {"ArnEquals", "a", `"arn:aws:iam::111122223333:role/x"`, one("a", "arn:aws:iam::111122223333:role/x"), true},
		"ArnEquals on a non-ARN":                                               {"ArnEquals", "a", `"arn:aws:iam::111122223333:role/x"`, one("a", "role/x"), false},
		"ArnNotLike":                                                           {"ArnNotLike", "a", `"arn:aws:iam::111122223333:*"`, one("a", "arn:aws:iam::444455556666:role/x"), true},
		"Null true on a missing key":                                           {"Null", "k", `"true"`, nil, true},
		"Null true on a present key":                                           {"Null", "k", `true`, one("k", "v"), false},
		"Null false on a present key":                                          {"Null", "k", `"false"`, one("k", "v"), true},
		"Null false on a missing key":                                          {"Null", "k", `false`, nil, false},
		"a positive operator on a missing key":                                 {"StringLike", "k", `"*"`, nil, false},
		"a negated operator on a missing key":                                  {"StringNotEquals", "k", `"v"`, nil, true},
		"ArnNotEquals on a missing key":                                        {"ArnNotEquals", "k", `"arn:aws:iam::1:role/x"`, nil, true},
		"IfExists on a missing key":                                            {"StringEqualsIfExists", "k", `"v"`, nil, true},
		"IfExists on a present key compares":                                   {"StringEqualsIfExists", "k", `"v"`, one("k", "w"), false},
		"NumericLessThanIfExists on a missing key":                             {"NumericLessThanIfExists", "n", `1`, nil, true},
		"an empty value list never matches":                                    {"StringEquals", "k", `[]`, one("k", "v"), false},
		"an empty request value list counts as missing":                        {"StringNotEquals", "k", `"v"`, map[string][]string{"k": {}}, true},
		"ForAnyValue on a missing key is false":                                {"ForAnyValue:StringEquals", "k", `"v"`, nil, false},
		"ForAnyValue with one matching value":                                  {"ForAnyValue:StringEquals", "tags", `"b"`, multi, true},
		"ForAnyValue:StringNotEquals with one other value":                     {"ForAnyValue:StringNotEquals", "tags", `"a"`, multi, true},
		"ForAllValues on a missing key is true":                                {"ForAllValues:StringEquals", "k", `"v"`, nil, true},
		"ForAllValues on an empty set is true":                                 {"ForAllValues:StringEquals", "k", `"v"`, map[string][]string{"k": {}}, true},
		"ForAllValues with one value outside the set":                          {"ForAllValues:StringEquals", "tags", `"a"`, multi, false},
		"ForAllValues with all values in the set":                              {"ForAllValues:StringLike", "tags", `["a","b*"]`, multi, true},
		"ForAnyValue IfExists on a missing key is undocumented":                {"ForAnyValue:StringLikeIfExists", "k", `"v"`, nil, "undetermined"},
		"ForAllValues IfExists on a missing key is undocumented":               {"ForAllValues:StringLikeIfExists", "k", `"v"`, nil, "undetermined"},
		"ForAllValues IfExists on a present key compares":                      {"ForAllValues:StringLikeIfExists", "tags", `["a","b"]`, multi, true},
		"Numeric with a non-number policy value is undocumented":               {"NumericEquals", "n", `"ten"`, one("n", "10"), "undetermined"},
		"a non-number policy value does not matter when another value matches": {"NumericEquals", "n", `["ten", 10]`, one("n", "10"), true},
		"Date with a value that is no date is undocumented":                    {"DateLessThan", "d", `"tomorrow"`, one("d", "2020-01-01T00:00:00Z"), "undetermined"},
		"Date in the W3C year-month form":                                      {"DateLessThan", "d", `"2030-01"`, one("d", "2029-12-31T23:59:59Z"), true},
		"an IP range that is no CIDR is undocumented":                          {"IpAddress", "aws:SourceIp", `"10.0.0.0/33"`, one("aws:SourceIp", "10.1.2.3"), "undetermined"},
		"IPv6 in a CIDR":                                                       {"IpAddress", "aws:SourceIp", `"2001:DB8:1234:5678::/64"`, one("aws:SourceIp", "2001:db8:1234:5678::1"), true},
		"Bool with a value that is not true or false":                          {"Bool", "b", `"yes"`, one("b", "true"), "undetermined"},
		"Bool takes a policy variable":                                         {"Bool", "b", `"${c}"`, map[string][]string{"b": {"true"}, "c": {"true"}}, true},
		"Null with a value that is not true or false":                          {"Null", "k", `"maybe"`, nil, "undetermined"},
		"a policy variable resolves from the request":                          {"StringEquals", "k", `"${aws:username}-x"`, map[string][]string{"k": {"bob-x"}, "aws:username": {"bob"}}, true},
		"an unresolved policy variable never matches":                          {"StringEquals", "k", `"${aws:username}"`, one("k", "${aws:username}"), false},
		"a policy variable default applies":                                    {"StringEquals", "k", `"${aws:username, 'anon'}"`, one("k", "anon"), true},
		"${*} is a literal star in StringLike":                                 {"StringLike", "k", `"a${*}"`, one("k", "abc"), false},
		"${*} matches a literal star":                                          {"StringLike", "k", `"a${*}"`, one("k", "a*"), true},
		"a substituted value is not a wildcard":                                {"StringLike", "k", `"${v}"`, map[string][]string{"k": {"abc"}, "v": {"*"}}, false},
		"an unknown operator never matches":                                    {"StringEqual", "k", `"v"`, one("k", "v"), false},
		"a wrongly cased operator never matches":                               {"stringequals", "k", `"v"`, one("k", "v"), false},
		"NullIfExists is not an operator":                                      {"NullIfExists", "k", `true`, nil, false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := cond(t, tt.op, tt.key, tt.values, tt.ctx)
			want := map[any]string{true: "match", false: "no match", "undetermined": "undetermined"}[tt.want]
			if verdictOf(got) != want {
				t.Errorf("%s %s %s with %v = %s, want %s (reason: %s)", tt.op, tt.key, tt.values, tt.ctx, verdictOf(got), want, got.Reason)
			}
		})
	}
}

func TestConditionReasons(t *testing.T) {
	tests := map[string]struct {
		op, key, values string
		ctx             map[string][]string
		want            ConditionResult
	}{
		"a mismatch names both values": {"StringEquals", "k", `"a"`, map[string][]string{"k": {"b"}}, ConditionResult{
			Operator: "StringEquals", Key: "k", Values: []string{"a"}, Actual: []string{"b"}, Present: true, Reason: `"b" does not match "a"`}},
		"a missing key says so": {"StringEquals", "k", `"a"`, nil, ConditionResult{
			Operator: "StringEquals", Key: "k", Values: []string{"a"}, Reason: "key is absent from the request"}},
		"ForAllValues explains the missing-key pitfall": {"ForAllValues:StringEquals", "k", `"a"`, nil, ConditionResult{
			Operator: "ForAllValues:StringEquals", Key: "k", Values: []string{"a"}, Matched: true, Reason: "key is absent: ForAllValues is true on a missing key"}},
		"an unknown operator suggests the right case": {"StringLIKE", "k", `"a"`, nil, ConditionResult{
			Operator: "StringLIKE", Key: "k", Values: []string{"a"}, Unsupported: true,
			Reason: `unknown condition operator "StringLIKE" (operators are case-sensitive: StringLike); the condition never matches`}},
		"an unresolved variable is named": {"StringEquals", "k", `"${x}"`, map[string][]string{"k": {"b"}}, ConditionResult{
			Operator: "StringEquals", Key: "k", Values: []string{"${x}"}, Actual: []string{"b"}, Present: true,
			Reason: `"b" does not match "${x}"; policy variable ${x} has no single value in the request`}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := cond(t, tt.op, tt.key, tt.values, tt.ctx); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
