package trustpolicy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// callTime is a request in the shape of sts:AssumeRoleWithWebIdentity: some keys known, some known
// only at call time, all typed.
func callTime(known map[string][]string) Request {
	ctx := map[string][]string{
		"aws:SecureTransport": {"true"}, "aws:RequestedRegion": {"us-west-2"},
		"aws:CurrentTime": {"2026-06-01T00:00:00Z"}, "aws:EpochTime": {"1780272000"},
		issuer + ":sub": {"system:serviceaccount:prod:app"}, issuer + ":aud": {"sts.amazonaws.com"},
	}
	for k, v := range known {
		ctx[k] = v
	}
	return Request{
		Action: "sts:AssumeRoleWithWebIdentity", PrincipalType: "Federated", Principal: provider,
		Context: ctx,
		Unknown: map[string]Unknown{
			"aws:SourceIp":      {DependsOn: "the pod's network path", MaybeAbsent: true},
			"aws:UserAgent":     {DependsOn: "the pod's SDK"},
			"aws:ResourceTag/*": {DependsOn: "the role's tags", MaybeAbsent: true},
		},
		Types: map[string]KeyType{
			"aws:SecureTransport": TypeBool, "aws:RequestedRegion": TypeString, "aws:CurrentTime": TypeDate,
			"aws:EpochTime": TypeDate | TypeNumeric, "aws:SourceIp": TypeIP, "aws:UserAgent": TypeString,
			"aws:ResourceTag/*": TypeString, issuer + ":sub": TypeString, issuer + ":aud": TypeString,
		},
	}
}

func TestConditionsOnKeysKnownOnlyAtCallTime(t *testing.T) {
	sub := issuer + ":sub"
	tests := map[string]struct {
		op, key, values string
		known           map[string][]string
		want            string
		dependsOn       []string
		reason          string
	}{
		"an IP allow-list depends on the network path": {op: "IpAddress", key: "aws:SourceIp", values: `"10.0.0.0/8"`,
			want: "undetermined", dependsOn: []string{"aws:SourceIp"},
			reason: "the key may be absent, or present with a value known only at call time: depends on the pod's network path"},
		"IpAddressIfExists is true when absent, open when present": {op: "IpAddressIfExists", key: "aws:SourceIp", values: `"10.0.0.0/8"`,
			want: "undetermined", dependsOn: []string{"aws:SourceIp"}},
		"NotIpAddress is true when absent, open when present": {op: "NotIpAddress", key: "aws:SourceIp", values: `"10.0.0.0/8"`,
			want: "undetermined", dependsOn: []string{"aws:SourceIp"}},
		"ForAnyValue is false when absent, open when present": {op: "ForAnyValue:StringEquals", key: "aws:SourceIp", values: `"x"`,
			want: "undetermined", dependsOn: []string{"aws:SourceIp"}},
		"Null true on a key that may be absent": {op: "Null", key: "aws:SourceIp", values: `"true"`,
			want: "undetermined", dependsOn: []string{"aws:SourceIp"}, reason: "key is present or absent, known only at call time; Null wants true"},
		"Null false on a key that is always present": {op: "Null", key: "aws:UserAgent", values: `"false"`, want: "match"},
		"Null true on a key that is always present":  {op: "Null", key: "aws:UserAgent", values: `"true"`, want: "no match"},
		"StringLike on the user agent depends on the SDK": {op: "StringLike", key: "aws:UserAgent", values: `"aws-sdk-go*"`,
			want: "undetermined", dependsOn: []string{"aws:UserAgent"}, reason: "value known only at call time: depends on the pod's SDK"},
		"an empty value list matches nothing whatever the value": {op: "StringEquals", key: "aws:UserAgent", values: `[]`, want: "no match"},
		"a prefix entry covers every role tag": {op: "StringEquals", key: "aws:ResourceTag/team", values: `"a"`,
			want: "undetermined", dependsOn: []string{"aws:ResourceTag/team"}},
		"a known value wins over an unknown entry": {op: "IpAddress", key: "aws:SourceIp", values: `"10.0.0.0/8"`,
			known: map[string][]string{"aws:SourceIp": {"10.1.2.3"}}, want: "match"},
		"an empty known value list makes the key absent": {op: "IpAddress", key: "aws:SourceIp", values: `"10.0.0.0/8"`,
			known: map[string][]string{"aws:SourceIp": {}}, want: "no match"},
		"a policy variable known only at call time": {op: "StringEquals", key: "aws:RequestedRegion", values: `"${aws:UserAgent}"`,
			want: "undetermined", dependsOn: []string{"aws:UserAgent"}, reason: `"us-west-2" may or may not match "${aws:UserAgent}"; policy variable ${aws:UserAgent} is known only at call time`},
		"a region fence with the region known": {op: "StringNotEquals", key: "aws:RequestedRegion", values: `["us-west-2","eu-west-1"]`, want: "no match"},
		"the clock against a time window":      {op: "DateLessThan", key: "aws:CurrentTime", values: `"2027-01-15T00:00:00Z"`, want: "match"},
		"epoch time with a numeric operator":   {op: "NumericLessThan", key: "aws:EpochTime", values: `1800000000`, want: "match"},
		"epoch time with a date operator":      {op: "DateGreaterThan", key: "aws:EpochTime", values: `"2026-01-01"`, want: "match"},
		"NumericEquals on the String claim :sub": {op: "NumericEquals", key: sub, values: `1`,
			want: "undetermined", reason: "NumericEquals compares Numeric values but the key is String; AWS does not document the result"},
		"a negated mismatch is undetermined too, not a match":           {op: "NumericNotEquals", key: sub, values: `1`, want: "undetermined"},
		"ArnLike on the String claim :sub":                              {op: "ArnLike", key: sub, values: `"system:serviceaccount:*"`, want: "undetermined"},
		"DateLessThan on a String key":                                  {op: "DateLessThan", key: "aws:RequestedRegion", values: `"2030-01-01"`, want: "undetermined"},
		"StringEquals on the Date key aws:CurrentTime":                  {op: "StringNotEquals", key: "aws:CurrentTime", values: `"x"`, want: "undetermined"},
		"Bool on the String claim :aud":                                 {op: "Bool", key: issuer + ":aud", values: `true`, want: "undetermined"},
		"IpAddress on the String claim :sub":                            {op: "NotIpAddress", key: sub, values: `"10.0.0.0/8"`, want: "undetermined"},
		"a type mismatch on an absent key follows the missing-key rule": {op: "NumericNotEquals", key: issuer + ":amr", values: `1`, want: "match"},
		"a mismatched key that may be absent":                           {op: "StringEquals", key: "aws:SourceIp", values: `"10.1.2.3"`, want: "undetermined", dependsOn: []string{"aws:SourceIp"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := condReq(t, tt.op, tt.key, tt.values, callTime(tt.known))
			if verdictOf(got) != tt.want || !reflect.DeepEqual(got.DependsOn, tt.dependsOn) {
				t.Errorf("%s %s %s = %s depending on %v, want %s depending on %v (reason: %s)", tt.op, tt.key, tt.values, verdictOf(got), got.DependsOn, tt.want, tt.dependsOn, got.Reason)
			}
			if tt.reason != "" && got.Reason != tt.reason {
				t.Errorf("reason =\n%s\nwant\n%s", got.Reason, tt.reason)
			}
			if got.Undocumented && len(got.DependsOn) > 0 && tt.dependsOn == nil {
				t.Errorf("an undocumented condition depends on no key, got %v", got.DependsOn)
			}
		})
	}
}

func TestThreeValuedDecisions(t *testing.T) {
	allowApp := `{"Sid":"App","Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + issuer + `:sub":"system:serviceaccount:prod:app"}}}`
	allowIP := `{"Sid":"FromVPC","Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`
	denyIP := `{"Sid":"NotFromVPC","Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`
	tests := map[string]struct {
		statements []string
		decision   Decision
		deciding   []StatementRef
		dependsOn  []string
	}{
		"an Allow that certainly applies": {statements: []string{allowApp},
			decision: DecisionAllow, deciding: []StatementRef{{0, "App"}}},
		"an Allow that hangs on the source IP is undetermined": {statements: []string{allowIP},
			decision: DecisionUndetermined, deciding: []StatementRef{{0, "FromVPC"}}, dependsOn: []string{"aws:SourceIp"}},
		"a certain Allow with a Deny that hangs on the source IP is undetermined": {statements: []string{allowApp, denyIP},
			decision: DecisionUndetermined, deciding: []StatementRef{{1, "NotFromVPC"}}, dependsOn: []string{"aws:SourceIp"}},
		"a certain Allow and another that hangs on the IP is an allow": {statements: []string{allowIP, allowApp},
			decision: DecisionAllow, deciding: []StatementRef{{1, "App"}}},
		"a Deny that certainly applies wins over an undetermined Allow": {statements: []string{allowIP,
			`{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`},
			decision: DecisionExplicitDeny, deciding: []StatementRef{{Index: 1}}},
		"no Allow can apply: denied whatever the undetermined Deny does": {statements: []string{denyIP,
			`{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRole"}`},
			decision: DecisionImplicitDeny, deciding: []StatementRef{}},
		"a certainly failing condition decides even next to an undetermined one": {statements: []string{
			`{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"` + issuer + `:sub":"system:serviceaccount:dev:app"}}}`},
			decision: DecisionImplicitDeny, deciding: []StatementRef{}},
		"the AWS guard Deny on SecureTransport false does not apply": {statements: []string{allowApp,
			`{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`},
			decision: DecisionAllow, deciding: []StatementRef{{0, "App"}}},
		"a StringNotEquals guard Deny on the user agent is undetermined, not a denial": {statements: []string{allowApp,
			`{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:UserAgent":"my-app"}}}`},
			decision: DecisionUndetermined, deciding: []StatementRef{{Index: 1}}, dependsOn: []string{"aws:UserAgent"}},
		"an undocumented condition in an Allow is undetermined without a key": {statements: []string{
			`{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"NumericEquals":{"` + issuer + `:sub":"1"}}}`},
			decision: DecisionUndetermined, deciding: []StatementRef{{Index: 0}}},
		"two open statements list all their keys once": {statements: []string{allowIP, denyIP,
			`{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringLike":{"aws:UserAgent":"x*"},"IpAddressIfExists":{"AWS:SOURCEIP":"10.0.0.0/8"}}}`},
			decision: DecisionUndetermined, deciding: []StatementRef{{0, "FromVPC"}, {1, "NotFromVPC"}, {Index: 2}}, dependsOn: []string{"aws:SourceIp", "aws:UserAgent"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[` + strings.Join(tt.statements, ",") + `]}`))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			res := Evaluate(p, callTime(nil))
			if res.Decision != tt.decision || !reflect.DeepEqual(res.Deciding, tt.deciding) || !reflect.DeepEqual(res.DependsOn, tt.dependsOn) {
				t.Errorf("Evaluate = %s %v depending on %v, want %s %v depending on %v\n%+v", res.Decision, res.Deciding, res.DependsOn, tt.decision, tt.deciding, tt.dependsOn, res.Statements)
			}
		})
	}
}

func TestInstantsOfTheClockConditions(t *testing.T) {
	p, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"*","Condition":{
			"DateLessThan":{"aws:CurrentTime":["2027-01-15T00:00:00Z","tomorrow"]},
			"DateGreaterThan":{"AWS:CURRENTTIME":"2026-01-01"},
			"StringEquals":{"aws:CurrentTime":"2020-01-01"}}},
		{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"NumericGreaterThanEquals":{"aws:EpochTime":1800000000},"DateEquals":{"aws:TokenIssueTime":"2025-01-01"}}},
		{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-15T00:00:00Z"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := Instants(p, "aws:CurrentTime", "aws:EpochTime")
	want := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		time.Unix(1800000000, 0).UTC(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Instants = %v, want %v", got, want)
	}
}

func TestInstantsAreBounded(t *testing.T) {
	var vals []string
	for i := range 1000 {
		vals = append(vals, fmt.Sprintf("%q", time.Unix(int64(2e9+i*60), 0).UTC().Format(time.RFC3339)))
	}
	p, err := Parse([]byte(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"DateLessThan":{"aws:CurrentTime":[` + strings.Join(vals, ",") + `]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := Instants(p, "aws:CurrentTime"); len(got) != MaxInstants || !got[0].Equal(time.Unix(2e9, 0)) {
		t.Errorf("Instants = %d instants from %v, want the earliest %d", len(got), got[0], MaxInstants)
	}
}

func TestKleeneLogic(t *testing.T) {
	all := []truth{no, yes, maybe}
	name := map[truth]string{no: "no", yes: "yes", maybe: "maybe"}
	and := map[[2]truth]truth{{no, no}: no, {no, yes}: no, {no, maybe}: no, {yes, yes}: yes, {yes, maybe}: maybe, {maybe, maybe}: maybe}
	or := map[[2]truth]truth{{no, no}: no, {no, yes}: yes, {no, maybe}: maybe, {yes, yes}: yes, {yes, maybe}: yes, {maybe, maybe}: maybe}
	for _, a := range all {
		for _, b := range all {
			k := [2]truth{min(a, b), max(a, b)}
			if a == maybe || b == maybe {
				k = [2]truth{a, b}
				if a == maybe {
					k = [2]truth{b, a}
				}
			}
			if got := a.and(b); got != and[k] {
				t.Errorf("%s and %s = %s, want %s", name[a], name[b], name[got], name[and[k]])
			}
			if got := a.or(b); got != or[k] {
				t.Errorf("%s or %s = %s, want %s", name[a], name[b], name[got], name[or[k]])
			}
		}
	}
	if yes.not() != no || no.not() != yes || maybe.not() != maybe {
		t.Error("not is wrong")
	}
}
