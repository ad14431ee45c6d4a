package validators

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	awsTestIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	awsTestRole   = "arn:aws:iam::111122223333:role/app"
	awsTestThumb  = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

var awsTestNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func goodTrust() string {
	hp := IssuerHostPath(awsTestIssuer)
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + hp +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:shop:app","` + hp + `:aud":"sts.amazonaws.com"}}}]}`
}

// goodFacts is a healthy setup: the role trusts shop/app, the provider lists the audience and
// the thumbprint of the jwks host's chain.
func goodFacts() AWSFacts {
	return AWSFacts{
		Now: awsTestNow, Partition: "aws",
		Role: &RoleFacts{ARN: awsTestRole, Trust: ParseTrustDocument(goodTrust()), CreateDate: awsTestNow.Add(-24 * time.Hour)},
		Provider: &ProviderFacts{ARN: ProviderARN("aws", "111122223333", awsTestIssuer), ClientIDs: []string{"sts.amazonaws.com"},
			Thumbprints: []string{strings.ToUpper(awsTestThumb)}, CreateDate: awsTestNow.Add(-24 * time.Hour)},
		Chain: &ChainFacts{Host: "oidc.eks.us-west-2.amazonaws.com", Thumbprint: awsTestThumb, PubliclyTrusted: true},
	}
}

func TestCheckAWS(t *testing.T) {
	tests := map[string]struct {
		edit        func(*AWSFacts)
		audience    string
		want        []string
		wantMessage string
	}{
		"a healthy setup gives no findings (thumbprints compare case-insensitively)": {
			want: []string{},
		},
		"a role IAM does not know is IRSA010": {
			edit: func(f *AWSFacts) { f.Role, f.RoleNotFound = nil, true },
			want: []string{"IRSA010/error"}, wantMessage: `IAM role "app" does not exist in account 111122223333`,
		},
		"a role whose real ARN has a path is IRSA011": {
			edit: func(f *AWSFacts) { f.Role.ARN = "arn:aws:iam::111122223333:role/teams/app" },
			want: []string{"IRSA011/error"}, wantMessage: `role-arn differs from the role's real ARN "arn:aws:iam::111122223333:role/teams/app"`,
		},
		"a missing provider is IRSA020": {
			edit: func(f *AWSFacts) { f.Provider, f.ProviderNotFound = nil, true },
			want: []string{"IRSA020/error"}, wantMessage: "no IAM OIDC provider for the cluster's issuer in the role's account 111122223333",
		},
		"a provider without sts.amazonaws.com is IRSA021": {
			edit: func(f *AWSFacts) { f.Provider.ClientIDs = []string{"sts.amazonaws.com.cn"} },
			want: []string{"IRSA021/error"}, wantMessage: `lack the token audience "sts.amazonaws.com"`,
		},
		"a thumbprint mismatch on a public chain in aws is a warning": {
			edit: func(f *AWSFacts) { f.Chain.Thumbprint = "0000000000000000000000000000000000000000" },
			want: []string{"IRSA022/warning"}, wantMessage: "(public CA: AWS ignores them)",
		},
		"a thumbprint mismatch on a private chain is an error": {
			edit: func(f *AWSFacts) {
				f.Chain.Thumbprint, f.Chain.PubliclyTrusted = "0000000000000000000000000000000000000000", false
			},
			want: []string{"IRSA022/error"}, wantMessage: "(private CA: STS will reject tokens)",
		},
		"a thumbprint mismatch on a public chain in aws-cn is a warning: the China IAM reference documents it": {
			edit: func(f *AWSFacts) {
				f.Chain.Thumbprint, f.Partition = "0000000000000000000000000000000000000000", "aws-cn"
			},
			want: []string{"IRSA022/warning"}, wantMessage: "(public CA: AWS ignores them)",
		},
		"a thumbprint mismatch on a public chain where nothing is documented could not be verified, still a warning": {
			edit: func(f *AWSFacts) {
				f.Chain.Thumbprint, f.Partition = "0000000000000000000000000000000000000000", "aws-iso"
			},
			want: []string{"IRSA022/warning"}, wantMessage: "(public CA; could not verify aws-iso ignores them)",
		},
		"a thumbprint mismatch on a private chain is an error in every partition": {
			edit: func(f *AWSFacts) {
				f.Chain.Thumbprint, f.Chain.PubliclyTrusted, f.Partition = "0000000000000000000000000000000000000000", false, "aws-cn"
			},
			want: []string{"IRSA022/error"}, wantMessage: "(private CA: STS will reject tokens)",
		},
		"a provider created 30s ago without the audience may still be propagating": {
			edit: func(f *AWSFacts) {
				f.Provider.ClientIDs, f.Provider.CreateDate = nil, awsTestNow.Add(-30*time.Second)
			},
			want: []string{"IRSA021/warning"}, wantMessage: "OIDC provider created under 2m ago, may still be propagating",
		},
		"a role created 3 minutes ago is past the propagation window": {
			edit: func(f *AWSFacts) {
				f.Role.CreateDate = awsTestNow.Add(-3 * time.Minute)
				f.Role.Trust = ParseTrustDocument(strings.ReplaceAll(f.Role.Trust.Text, "shop:app", "shop:web"))
			},
			want: []string{"IRSA032/error"},
		},
		"unknown facts make no findings but say what could not be verified": {
			edit: func(f *AWSFacts) {
				f.Role, f.Provider, f.Chain = nil, nil, nil
				f.Unverified = []Unverified{{What: "role", Reason: "throttled"}, {What: "OIDC provider", Reason: "timed out"}}
			},
			want: []string{"IRSA090/info", "IRSA090/info"}, wantMessage: "could not verify the role (throttled)",
		},
		"facts that failed for the same reason are reported once": {
			edit: func(f *AWSFacts) {
				f.Role, f.Provider, f.Chain = nil, nil, nil
				f.Unverified = []Unverified{{What: "role", Reason: "throttled"}, {What: "OIDC provider", Reason: "throttled"}}
			},
			want: []string{"IRSA090/info"}, wantMessage: "could not verify the role and OIDC provider (throttled)",
		},
		"stale data is used and said so": {
			edit: func(f *AWSFacts) {
				f.Stale = []StaleFact{{What: "role", Age: 14*time.Minute + 300*time.Millisecond, Reason: "network error"}}
			},
			want: []string{"IRSA090/info"}, wantMessage: "used role data cached 14m0s ago: refresh failed (network error)",
		},
		"a stored trust policy irsa-guard cannot read cannot be verified, never an error": {
			edit: func(f *AWSFacts) { f.Role.Trust = ParseTrustDocument(`{"Version":"2012-10-17","Statement":[`) },
			want: []string{"IRSA090/info"}, wantMessage: "cannot read the trust policy: line 1, column 38: invalid JSON: the document ends too early",
		},
		"a custom audience is checked against the client IDs": {
			audience: "vault.example.com",
			want:     []string{"IRSA032/error", "IRSA021/error"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := goodFacts()
			if tc.edit != nil {
				tc.edit(&f)
			}
			id := Identity{Object: Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"}, Namespace: "shop", ServiceAccount: "app",
				RoleARN: awsTestRole, Issuer: awsTestIssuer, Audience: tc.audience}
			got := CheckAWS(id, f)
			var s []string
			for _, g := range got {
				s = append(s, string(g.Check)+"/"+string(g.Severity))
				if len([]rune(g.String())) > MaxMessageRunes {
					t.Errorf("%q is longer than %d runes", g.String(), MaxMessageRunes)
				}
			}
			if !slices.Equal(s, tc.want) && (len(s) != 0 || len(tc.want) != 0) {
				t.Fatalf("findings = %v, want %v\n%v", s, tc.want, got)
			}
			if tc.wantMessage != "" && !strings.Contains(got[0].Message, tc.wantMessage) {
				t.Errorf("message %q does not contain %q", got[0].Message, tc.wantMessage)
			}
		})
	}
}

func TestCheckAWSProviderMissingPredictsTheExactSTSMessage(t *testing.T) {
	f := goodFacts()
	f.Provider, f.ProviderNotFound = nil, true
	got := CheckAWS(Identity{Object: Object{Kind: "ServiceAccount", Name: "app"}, RoleARN: awsTestRole, Issuer: awsTestIssuer, Namespace: "shop", ServiceAccount: "app"}, f)
	want := "InvalidIdentityToken: No OpenIDConnect provider found in your account for " + awsTestIssuer
	if len(got) != 1 || got[0].PredictedError != want {
		t.Errorf("got %+v, want predicted error %q", got, want)
	}
}

func TestCheckAWSMismatchFixNamesTheExactARN(t *testing.T) {
	f := goodFacts()
	f.Role.ARN = "arn:aws:iam::111122223333:role/teams/app"
	got := CheckAWS(Identity{Object: Object{Kind: "ServiceAccount", Name: "app"}, RoleARN: awsTestRole, Issuer: awsTestIssuer, Namespace: "shop", ServiceAccount: "app"}, f)
	if want := "Set eks.amazonaws.com/role-arn to exactly arn:aws:iam::111122223333:role/teams/app."; len(got) == 0 || got[0].Fix != want {
		t.Errorf("got %+v, want fix %q", got, want)
	}
}

// FuzzCheckAWS: the role ARN, policy, host and thumbprint all come from users or the network;
// no input may panic or produce a finding that breaks the warning-header rules.
func FuzzCheckAWS(f *testing.F) {
	f.Add(awsTestRole, "arn:aws:iam::111122223333:role/teams/app", goodTrust(), "oidc.eks.us-west-2.amazonaws.com", awsTestThumb, "sts.amazonaws.com", false)
	f.Add("arn:aws:iam::111122223333:role/a\nb", "", "{", "h\x00st:443", "zz", "", true)
	f.Fuzz(func(t *testing.T, roleARN, realARN, policy, host, thumb, aud string, public bool) {
		facts := goodFacts()
		facts.Role.ARN, facts.Role.Trust = realARN, ParseTrustDocument(policy)
		facts.Chain = &ChainFacts{Host: host, Thumbprint: thumb, PubliclyTrusted: public}
		facts.Unverified = []Unverified{{What: host, Reason: thumb}}
		id := Identity{Object: Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"}, Namespace: "shop", ServiceAccount: "app",
			RoleARN: roleARN, Issuer: awsTestIssuer, Audience: aud}
		for _, g := range CheckAWS(id, facts) {
			if n := len([]rune(g.String())); n > MaxMessageRunes {
				t.Errorf("%q has %d runes", g.String(), n)
			}
			if strings.ContainsAny(g.Message, "\n\r\x00") {
				t.Errorf("control character in %q", g.Message)
			}
		}
	})
}
