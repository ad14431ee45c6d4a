package validators

import (
	"strings"
	"testing"
	"time"
)

// june is the check's clock in these tests: 2026-06-01.
var june = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// podCall is a pod with AWS_REGION=us-west-2 and AWS_STS_REGIONAL_ENDPOINTS=regional, checked in June 2026.
var podCall = WebIdentityCall{Now: june, Region: "us-west-2", STSRegionalEndpoints: STSEndpointsRegional}

// scopedWith is the EKS user guide's scoped statement for prod/my-app plus more conditions, and
// optional further statements.
func scopedWith(extraConditions string, statements ...string) string {
	cond := `"StringEquals":{"` + trustHost + `:sub":"system:serviceaccount:prod:my-app","` + trustHost + `:aud":"sts.amazonaws.com"}`
	if extraConditions != "" {
		cond += "," + extraConditions
	}
	s := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + trustProv + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{` + cond + `}}`
	for _, st := range statements {
		s += "," + st
	}
	return s + "]}"
}

func TestCheckTrustWithTheCallContext(t *testing.T) {
	tests := map[string]struct {
		policy  string
		call    WebIdentityCall
		ns, sa  string
		context map[string][]string
		want    []wantTrustFinding
	}{
		"a time-boxed trust (AWS docs' DateLessThan aws:CurrentTime) warns before it ends": {
			want: []wantTrustFinding{
				{CheckTrustTimeWindow, "Statement[0] stops working on 2027-01-15 (DateLessThan aws:CurrentTime)", "From 2027-01-15 STS answers AccessDenied for this ServiceAccount. Move the end of the window (DateLessThan aws:CurrentTime \"2027-01-15T00:00:00Z\") or drop it before then."},
			},
			policy: scopedWith(`"DateLessThan":{"aws:CurrentTime":"2027-01-15T00:00:00Z"}`), call: podCall,
		},
		"a time-boxed trust that ended is an error naming the date": {
			want: []wantTrustFinding{
				{CheckTrustTimeWindow, "Statement[0] stopped working on 2026-01-15 (DateLessThan aws:CurrentTime)", "Outside the window STS answers AccessDenied. Move the window (DateLessThan aws:CurrentTime \"2026-01-15T00:00:00Z\") or drop it."},
			},
			policy: scopedWith(`"DateLessThan":{"aws:CurrentTime":"2026-01-15T00:00:00Z"}`), call: podCall,
		},
		"a not-before window (DateGreaterThan) that has not started": {
			want: []wantTrustFinding{
				{CheckTrustTimeWindow, "Statement[0] starts working on 2027-02-01 (DateGreaterThan aws:CurrentTime)", "Outside the window STS answers AccessDenied. Move the window (DateGreaterThan aws:CurrentTime \"2027-02-01T00:00:00Z\") or drop it."},
			},
			policy: scopedWith(`"DateGreaterThan":{"aws:CurrentTime":"2027-02-01T00:00:00Z"}`), call: podCall,
		},
		"NumericLessThan aws:EpochTime ends at its instant": {
			want: []wantTrustFinding{
				{CheckTrustTimeWindow, "Statement[0] stops working on 2027-01-15T08:00:00Z (NumericLessThan aws:EpochTime)", "From 2027-01-15T08:00:00Z STS answers AccessDenied for this ServiceAccount. Move the end of the window (NumericLessThan aws:EpochTime \"1800000000\") or drop it before then."},
			},
			policy: scopedWith(`"NumericLessThan":{"aws:EpochTime":1800000000}`), call: podCall,
		},
		"a window that ends while another statement allows for good": {
			policy: scopedWith(`"DateLessThan":{"aws:CurrentTime":"2027-01-15T00:00:00Z"}`, `{"Effect":"Allow","Principal":{"Federated":"`+trustProv+`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:my-app"}}}`), call: podCall,
		},
		"a time window without a clock depends on the time of the call": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0] allows only before 2027-01-15T00:00:00Z; depends on the time of the call", "irsa-guard was not given the time of the check. Try one with irsa-guard trust explain --at 2006-01-02T15:04:05Z."},
			},
			policy: scopedWith(`"DateLessThan":{"aws:CurrentTime":"2027-01-15T00:00:00Z"}`),
		},
		"the AWS guard Deny when aws:SecureTransport is false does not apply": {
			policy: scopedWith("", `{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), call: podCall,
		},
		"a region fence in the pod's region": {
			policy: scopedWith("", `{"Sid":"RegionFence","Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-west-2","eu-west-1"]}}}`), call: podCall,
		},
		"a region fence when the pod's region is unknown": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[1] denies unless aws:RequestedRegion is \"us-west-2\" or \"eu-west-1\"; depends on the pod's AWS region", "AWS_REGION is not set on the pod, so the Region its SDK calls STS in is unknown. Set AWS_REGION and AWS_STS_REGIONAL_ENDPOINTS=regional on the pod (ServiceAccount annotation eks.amazonaws.com/sts-regional-endpoints: \"true\"); try it with irsa-guard trust explain --region REGION --sts-regional-endpoints regional."},
			},
			policy: scopedWith("", `{"Sid":"RegionFence","Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-west-2","eu-west-1"]}}}`), call: WebIdentityCall{Now: june},
		},
		"a region fence with legacy endpoints": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[1] denies unless aws:RequestedRegion is \"us-west-2\" or \"eu-west-1\"; depends on STS's global endpoint", "With AWS_STS_REGIONAL_ENDPOINTS=legacy the SDK calls the global STS endpoint, which AWS serves in the workload's Region without documenting aws:RequestedRegion for it. Set AWS_REGION and AWS_STS_REGIONAL_ENDPOINTS=regional on the pod (ServiceAccount annotation eks.amazonaws.com/sts-regional-endpoints: \"true\"); try it with irsa-guard trust explain --region REGION --sts-regional-endpoints regional."},
			},
			policy: scopedWith("", `{"Sid":"RegionFence","Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-west-2","eu-west-1"]}}}`), call: WebIdentityCall{Now: june, Region: "us-west-2", STSRegionalEndpoints: STSEndpointsLegacy},
		},
		"a region fence the pod's region is outside of": {
			want: []wantTrustFinding{
				{CheckTrustExplicitDeny, "Deny Statement[1] (\"RegionFence\") matches this ServiceAccount's call", "Narrow or remove the Deny Statement[1] (\"RegionFence\"); an explicit Deny always wins. It matches because StringNotEquals \"aws:RequestedRegion\": \"ap-south-1\" does not match [\"us-west-2\", \"eu-west-1\"]."},
			},
			policy: scopedWith("", `{"Sid":"RegionFence","Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-west-2","eu-west-1"]}}}`), call: WebIdentityCall{Now: june, Region: "ap-south-1", STSRegionalEndpoints: STSEndpointsRegional},
		},
		"an IP allow-list depends on the network path": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0] allows only from 10.0.0.0/8 or 192.0.2.0/24; depends on the pod's network path", "Nothing to change if aws:SourceIp will fit when the pod calls STS: irsa-guard cannot see it before. Try a value with irsa-guard trust explain --context aws:SourceIp=VALUE."},
			},
			policy: scopedWith(`"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}`), call: podCall,
		},
		"an IP allow-list with the source IP given": {
			policy: scopedWith(`"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`), call: podCall, context: map[string][]string{"aws:SourceIp": {"10.1.2.3"}},
		},
		"an IP allow-list the given source IP is outside of": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: IpAddress on aws:SourceIp wants \"10.0.0.0/8\", the call has \"192.0.2.1\"", "Change the condition, or make the pod's call fit it."},
			},
			policy: scopedWith(`"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}`), call: podCall, context: map[string][]string{"aws:SourceIp": {"192.0.2.1"}},
		},
		"a guard Deny from outside the VPC depends on the network path": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[1] denies calls from outside 10.0.0.0/8; depends on the pod's network path", "Nothing to change if aws:SourceIp will fit when the pod calls STS: irsa-guard cannot see it before. Try a value with irsa-guard trust explain --context aws:SourceIp=VALUE."},
			},
			policy: scopedWith("", `{"Sid":"OnlyFromVPC","Effect":"Deny","Principal":"*","Action":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}}`), call: podCall,
		},
		"a StringNotEquals guard Deny on the VPC endpoint depends on the network path": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[1] denies unless aws:SourceVpce is \"vpce-1a2b3c4d\"; depends on the pod's STS VPC endpoint", "Nothing to change if aws:SourceVpce will fit when the pod calls STS: irsa-guard cannot see it before. Try a value with irsa-guard trust explain --context aws:SourceVpce=VALUE."},
			},
			policy: scopedWith("", `{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}`), call: podCall,
		},
		"StringEquals on sts:RoleSessionName when the SDK picks the name": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0] allows only if sts:RoleSessionName matches \"payments-*\"; depends on the SDK's session name", "AWS_ROLE_SESSION_NAME is not set, so the pod's SDK picks the session name. Set it on the pod; try it with irsa-guard trust explain --session-name NAME."},
			},
			policy: scopedWith(`"StringLike":{"sts:RoleSessionName":"payments-*"}`), call: podCall,
		},
		"StringEquals on sts:RoleSessionName with AWS_ROLE_SESSION_NAME set": {
			policy: scopedWith(`"StringLike":{"sts:RoleSessionName":"payments-*"}`), call: WebIdentityCall{Now: june, Region: "us-west-2", STSRegionalEndpoints: STSEndpointsRegional, SessionName: "payments-1"},
		},
		"StringEquals on sts:RoleSessionName with another session name": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: StringLike on sts:RoleSessionName wants \"payments-*\", the call has \"billing\"", "Set AWS_ROLE_SESSION_NAME on the pod to a session name the condition allows, or change the condition."},
			},
			policy: scopedWith(`"StringLike":{"sts:RoleSessionName":"payments-*"}`), call: WebIdentityCall{Now: june, Region: "us-west-2", STSRegionalEndpoints: STSEndpointsRegional, SessionName: "billing"},
		},
		"ForAllValues:StringLikeIfExists on a missing key is undocumented": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0]: ForAllValues:StringLikeIfExists on absent aws:TagKeys is undocumented", "Drop IfExists: a set operator already says what a missing key means (ForAnyValue false, ForAllValues true)."},
			},
			policy: scopedWith(`"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["team"]}`), call: podCall,
		},
		"NumericEquals on :sub is undocumented": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0]: NumericEquals on :sub, a String key; AWS does not document the result", "Use a String operator for :sub, e.g. StringEquals or StringLike."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"NumericEquals":{"`+trustHost+`:sub":"1"}}`), call: podCall,
		},
		"ArnLike on :sub, which is not an ARN": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0]: ArnLike on :sub, which is not an ARN; AWS does not document the result", "Compare :sub with a string operator: \"StringLike\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:*\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"ArnLike":{"`+trustHost+`:sub":"system:serviceaccount:prod:*"}}`), call: podCall,
		},
		"a guard Deny with a negated type mismatch does not fire": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[1]: NumericNotEquals on :aud, a String key; AWS does not document the result", "Use a String operator for :aud, e.g. StringEquals or StringLike."},
			},
			policy: scopedWith("", `{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"NumericNotEquals":{"`+trustHost+`:aud":"1"}}}`), call: podCall,
		},
		"a date that is no date": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0]: DateLessThan on aws:CurrentTime: \"tomorrow\" is not a date; result undocumented", "Write the value in the operator's format (IAM Access Analyzer flags this as a type mismatch): numbers for Numeric*, ISO 8601 dates for Date*, true or false for Bool, CIDR ranges for IpAddress."},
			},
			policy: scopedWith(`"DateLessThan":{"aws:CurrentTime":"tomorrow"}`), call: podCall,
		},
		"sub allows other ServiceAccounts of the namespace, listed": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub allows prod/worker, prod/api, prod/web and 1 more, wrong ServiceAccount for prod/my-app", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":["system:serviceaccount:prod:worker","system:serviceaccount:prod:api","system:serviceaccount:prod:web","system:serviceaccount:prod:cron"]}}`), call: podCall,
		},
		"sub allows the same name in other namespaces": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub allows dev/my-app, staging/my-app, wrong namespace for prod/my-app", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":["system:serviceaccount:dev:my-app","system:serviceaccount:staging:my-app"]}}`), call: podCall,
		},
		"sub with a trailing space": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub value \"system:serviceaccount:prod:my-app \" has a trailing space", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:my-app "}}`), call: podCall,
		},
		"sub with a zero-width space": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub value \"system:serviceaccount:prod:my\\u200b-app\" has an invisible character (U+200B)", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:my\u200b-app"}}`), call: podCall,
		},
		"sub with the prefix twice": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub value repeats the system:serviceaccount: prefix", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:system:serviceaccount:prod:my-app"}}`), call: podCall,
		},
		"sub in the wrong letter case": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub value \"system:serviceaccount:Prod:my-app\" differs from prod/my-app only in letter case", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:Prod:my-app"}}`), call: podCall,
		},
		"the same failing sub twice is reported once": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: sub allows prod/other, wrong ServiceAccount for prod/my-app", "Set the sub condition to this ServiceAccount (or add it to the list): \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:sub":"system:serviceaccount:prod:other"},"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:prod:other"}}`), call: podCall,
		},
		"a namespace wildcard lets other namespaces' ServiceAccount of that name in": {
			want: []wantTrustFinding{
				{CheckTrustTooBroad, "ServiceAccounts named \"my-app\" in other namespaces can assume the role (Statement[0]: sub StringLike \"system...", "Statement[0] lets them in (sub StringLike \"system:serviceaccount:team-*:my-app\"). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:team-a:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:team-*:my-app"}}`), call: podCall, ns: "team-a", sa: "my-app",
		},
		"a name wildcard stays in the namespace": {
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringLike":{"`+trustHost+`:sub":"system:serviceaccount:crossplane-system:provider-aws-*"}}`), call: podCall, ns: "crossplane-system", sa: "provider-aws-a1b2c3",
		},
		"an aud-only trust with an IP allow-list is open and too broad": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[0] allows only from 10.0.0.0/8; depends on the pod's network path", "Nothing to change if aws:SourceIp will fit when the pod calls STS: irsa-guard cannot see it before. Try a value with irsa-guard trust explain --context aws:SourceIp=VALUE."},
				{CheckTrustTooBroad, "any ServiceAccount can assume the role (Statement[0]: no :sub condition)", "Statement[0] lets them in (no :sub condition). Scope the trust to this ServiceAccount: \"StringEquals\": {\"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub\": \"system:serviceaccount:prod:my-app\"}."},
			},
			policy: trustDoc(trustProv, "sts:AssumeRoleWithWebIdentity", `{"StringEquals":{"`+trustHost+`:aud":"sts.amazonaws.com"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`), call: podCall,
		},
		"a scoped trust next to an IP-only statement is not reported too broad": {
			policy: scopedWith("", `{"Effect":"Allow","Principal":{"Federated":"`+trustProv+`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), call: podCall,
		},
		"a partial wildcard in the Federated principal": {
			want: []wantTrustFinding{
				{CheckTrustNoProvider, "Statement[0]: Federated principal has a wildcard; IAM matches principals exactly", "Trust this cluster's provider: \"Principal\": {\"Federated\": \"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\"}. It trusts only: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/*."},
			},
			policy: trustDoc("arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/*", "sts:AssumeRoleWithWebIdentity", ""), call: podCall,
		},
		"a Deny on the role's tags depends on the tags": {
			want: []wantTrustFinding{
				{CheckTrustUndetermined, "Statement[1] denies if aws:ResourceTag/quarantine is \"true\"; depends on the role's tags", "Nothing to change if aws:ResourceTag/quarantine will fit when the pod calls STS: irsa-guard cannot see it before. Try a value with irsa-guard trust explain --context aws:ResourceTag/quarantine=VALUE."},
			},
			policy: scopedWith("", `{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringEquals":{"aws:ResourceTag/quarantine":"true"}}}`), call: podCall,
		},
		"a Deny on the role's tags with the tags known": {
			policy: scopedWith("", `{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringEquals":{"aws:ResourceTag/quarantine":"true"}}}`), call: WebIdentityCall{Now: june, RoleTags: map[string]string{"team": "a"}},
		},
		"a what-if on the :sub claim does not make the probes look allowed": {
			policy: scopedWith(""), call: podCall, context: map[string][]string{trustHost + ":sub": {"system:serviceaccount:prod:my-app"}},
		},
		"a condition on a key STS never sets for this call": {
			want: []wantTrustFinding{
				{CheckTrustConditions, "Statement[0]: ArnEquals \"aws:PrincipalArn\": STS never sets this key for a pod's web identity call", "Drop the condition: STS evaluates a pod's sts:AssumeRoleWithWebIdentity call without this key (docs/trust-explain.md lists the keys it has)."},
			},
			policy: scopedWith(`"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/x"}`), call: podCall,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := trustCase{Policy: tt.policy}.input(t).Policy
			ns, sa := tt.ns, tt.sa
			if ns == "" {
				ns, sa = "prod", "my-app"
			}
			obj := Object{Kind: "ServiceAccount", Namespace: ns, Name: sa}
			r := TrustRequest{ProviderARN: trustProv, Subject: ServiceAccountSubject(ns, sa), Call: tt.call, Context: tt.context}
			got := EvaluateTrust(obj, p, r).Findings
			if len(got) != len(tt.want) {
				t.Fatalf("EvaluateTrust = %d findings, want %d:\n%s", len(got), len(tt.want), dumpTrust(got))
			}
			for i, w := range tt.want {
				if got[i].Check != w.check || got[i].Message != w.message || (w.fix != "" && got[i].Fix != w.fix) {
					t.Errorf("finding %d =\n%s\nwant %s: %s (fix %q)", i, dumpTrust(got[i:i+1]), w.check, w.message, w.fix)
				}
				if want := expectedSeverity(got[i]); got[i].Severity != want {
					t.Errorf("finding %d severity = %s, want %s: %s", i, got[i].Severity, want, got[i])
				}
				if n := len([]rune(got[i].String())); n > MaxMessageRunes {
					t.Errorf("finding %d is %d runes, over %d: %s", i, n, MaxMessageRunes, got[i])
				}
			}
		})
	}
}

// expectedSeverity is the rule these tests hold the findings to: errors only where the failure is
// certain, warnings where irsa-guard cannot know (IRSA039) or the failure is still ahead (IRSA038
// before the window ends) or nothing fails (IRSA034).
func expectedSeverity(f Finding) Severity {
	switch {
	case f.Check == CheckTrustUndetermined, f.Check == CheckTrustTooBroad:
		return SeverityWarning
	case f.Check == CheckTrustTimeWindow && strings.Contains(f.Message, "stops working on"):
		return SeverityWarning
	}
	return SeverityError
}

func TestCheckTrustTakesTheCallFromTrustInput(t *testing.T) {
	in := trustCase{Policy: scopedWith(`"DateLessThan":{"aws:CurrentTime":"2027-01-15T00:00:00Z"}`)}.input(t)
	in.RoleARN, in.Issuer, in.Namespace, in.ServiceAccount, in.Call = trustRole, trustIssuer, "prod", "my-app", podCall
	got := CheckTrust(Object{Kind: "ServiceAccount", Namespace: "prod", Name: "my-app"}, in)
	if len(got) != 1 || got[0].String() != "IRSA038: Statement[0] stops working on 2027-01-15 (DateLessThan aws:CurrentTime)" || got[0].Severity != SeverityWarning {
		t.Errorf("CheckTrust =\n%s", dumpTrust(got))
	}
	in.Call = WebIdentityCall{}
	got = CheckTrust(Object{Kind: "ServiceAccount", Namespace: "prod", Name: "my-app"}, in)
	if len(got) != 1 || got[0].Check != CheckTrustUndetermined || got[0].Severity != SeverityWarning {
		t.Errorf("CheckTrust with a zero call =\n%s", dumpTrust(got))
	}
}

func TestTrustPolicyNotes(t *testing.T) {
	p := trustCase{Policy: `{"Statement":[
		{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/*"},"Action":"sts:AssumeRoleWithWebIdentity",
		 "Condition":{"StringEquals":{"` + trustHost + `:sub":"system:serviceaccount:${aws:PrincipalTag/ns}:app"}}},
		{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole",
		 "Resource":"*"}]}`}.input(t).Policy
	got := TrustPolicyNotes(Object{Kind: "TrustPolicy", Name: "trust.json"}, p)
	want := []wantTrustFinding{
		{CheckTrustLiteral, "line 1: Version: without Version 2012-10-17, IAM reads ${...} policy variables as plain text",
			`Version (line 1, column 1): missing, so IAM uses 2008-10-17, where policy variables like ${aws:username} are plain text; use "2012-10-17".`},
		{CheckTrustLiteral, "line 2: Statement[0].Principal.Federated: IAM never expands * inside a principal; it is literal text",
			`Statement[0].Principal.Federated (line 2, column 46): IAM does not expand a wildcard inside a principal, so "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/*" matches only that exact text.`},
		{CheckTrustRejected, "line 4: Statement[1].NotPrincipal: role trust policies do not support NotPrincipal; IAM rejects the policy",
			"Remove Statement[1].NotPrincipal (line 4, column 21): role trust policies do not support NotPrincipal; IAM rejects the policy when it is written (MalformedPolicyDocument)"},
		{CheckTrustRejected, "line 5: Statement[1].Resource: a role trust policy cannot name a resource; IAM rejects the policy",
			"Remove Statement[1].Resource (line 5, column 4): a role trust policy cannot name a resource; IAM rejects the policy when it is written (MalformedPolicyDocument: Has prohibited field Resource)"},
	}
	if len(got) != len(want) {
		t.Fatalf("TrustPolicyNotes = %d findings, want %d:\n%s", len(got), len(want), dumpTrust(got))
	}
	for i, w := range want {
		if got[i].Check != w.check || got[i].Message != w.message || got[i].Fix != w.fix {
			t.Errorf("finding %d =\n%s\nwant %s: %s (fix %q)", i, dumpTrust(got[i:i+1]), w.check, w.message, w.fix)
		}
		if n := len([]rune(got[i].String())); n > MaxMessageRunes {
			t.Errorf("finding %d is %d runes: %s", i, n, got[i])
		}
	}
	if got[2].PredictedError != IAMMalformedPolicy || got[2].Severity != SeverityError || got[0].Severity != SeverityWarning {
		t.Errorf("IRSA036 predicts %q with %s, IRSA037 is %s", got[2].PredictedError, got[2].Severity, got[0].Severity)
	}
}
