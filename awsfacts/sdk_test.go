package awsfacts

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/validators"
)

func TestVerifyFindings(t *testing.T) {
	tests := map[string]struct {
		roleARN     string
		audience    string
		editState   func(*awsstate.State)
		editOptions func(*Options)
		want        []string
		wantMessage string // a substring of the first finding's message
	}{
		"a correctly set up role and provider give no findings": {
			roleARN: "arn:aws:iam::111122223333:role/app",
			want:    []string{},
		},
		"a role that does not exist is IRSA010": {
			roleARN:     "arn:aws:iam::111122223333:role/ap",
			want:        []string{"IRSA010/error"},
			wantMessage: `IAM role "ap" does not exist in account 111122223333`,
		},
		"an annotation without the role's path is IRSA011": {
			roleARN:     "arn:aws:iam::111122223333:role/Team-Writer",
			want:        []string{"IRSA011/error"},
			wantMessage: `real ARN "arn:aws:iam::111122223333:role/teams/payments/Team-Writer"`,
		},
		"an annotation with the name in the wrong case is IRSA011": {
			roleARN: "arn:aws:iam::111122223333:role/teams/payments/team-writer",
			want:    []string{"IRSA011/error"},
		},
		"a policy with an encoded percent sign is decoded exactly once": {
			roleARN: "arn:aws:iam::111122223333:role/percent",
			want:    []string{},
		},
		"no OIDC provider for the issuer in the role's account is IRSA020": {
			roleARN:   "arn:aws:iam::111122223333:role/app",
			editState: func(s *awsstate.State) { s.Accounts[ownAccount].OIDCProviders = nil },
			want:      []string{"IRSA020/error"},
		},
		"a provider without the token audience is IRSA021": {
			roleARN:   "arn:aws:iam::111122223333:role/app",
			editState: func(s *awsstate.State) { s.Accounts[ownAccount].OIDCProviders[0].ClientIDs = []string{"vault"} },
			want:      []string{"IRSA021/error"},
		},
		"a custom audience the provider lacks is IRSA021 and an aud mismatch": {
			roleARN:  "arn:aws:iam::111122223333:role/app",
			audience: "vault",
			want:     []string{"IRSA032/error", "IRSA021/error"},
		},
		"a stale thumbprint on a publicly trusted chain is a warning": {
			roleARN: "arn:aws:iam::111122223333:role/app",
			editState: func(s *awsstate.State) {
				s.Accounts[ownAccount].OIDCProviders[0].Thumbprints = []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}
			},
			want:        []string{"IRSA022/warning"},
			wantMessage: "public CA: AWS ignores them",
		},
		"a stale thumbprint on a private chain is an error": {
			roleARN: "arn:aws:iam::111122223333:role/app",
			editState: func(s *awsstate.State) {
				s.Accounts[ownAccount].OIDCProviders[0].Thumbprints = []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}
			},
			editOptions: func(o *Options) { o.IssuerRoots, o.PublicRoots = o.PublicRoots, []*x509.Certificate{} },
			want:        []string{"IRSA022/error"},
			wantMessage: "private CA: STS will reject tokens",
		},
		"a role created a minute ago whose trust is broken may still be propagating": {
			roleARN: "arn:aws:iam::111122223333:role/app",
			editState: func(s *awsstate.State) {
				r := &s.Accounts[ownAccount].Roles[0]
				r.CreateDate = testNow.Add(-time.Minute)
				r.TrustPolicy = awsstate.PolicyText(strings.ReplaceAll(string(r.TrustPolicy), "shop:app", "shop:other"))
			},
			want:        []string{"IRSA032/warning"},
			wantMessage: "may still be propagating",
		},
		"a role in another account without a reader role cannot be verified": {
			roleARN:     "arn:aws:iam::777788889999:role/app",
			want:        []string{"IRSA090/info"},
			wantMessage: "no access to account 777788889999",
		},
		"a role in another account is read through its reader role": {
			roleARN:     "arn:aws:iam::444455556666:role/irsa/remote-app",
			editOptions: func(o *Options) { o.ReaderRoles = map[string]string{remoteAccount: "irsa-guard-reader"} },
			want:        []string{},
		},
		"a missing role in another account is found missing through the reader role": {
			roleARN: "arn:aws:iam::444455556666:role/gone",
			editOptions: func(o *Options) {
				o.ReaderRoles = map[string]string{remoteAccount: "arn:aws:iam::444455556666:role/irsa-guard-reader"}
			},
			want: []string{"IRSA010/error"},
		},
		"a reader role that does not trust irsa-guard cannot be verified": {
			roleARN:     "arn:aws:iam::444455556666:role/irsa/remote-app",
			editOptions: func(o *Options) { o.ReaderRoles = map[string]string{remoteAccount: "untrusting-reader"} },
			want:        []string{"IRSA090/info"},
			wantMessage: "could not verify the role and OIDC provider (irsa-guard's own access denied via reader role untrusting-reader)",
		},
		"a role-arn that is not an ARN is left to IRSA001": {
			roleARN: "app",
			want:    []string{},
		},
	}
	iss := startIssuer(t, fakeaws.OIDCIssuerOptions{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, iss, tc.editState)
			v := e.verifier(t, tc.editOptions)
			id := e.identity(tc.roleARN)
			id.Audience = tc.audience
			got := check(v, testContext(t), id)
			if s := summary(got); !slices.Equal(s, tc.want) {
				t.Fatalf("findings = %v, want %v\n%v", s, tc.want, got)
			}
			if tc.wantMessage != "" && !strings.Contains(got[0].Message, tc.wantMessage) {
				t.Errorf("message %q does not contain %q", got[0].Message, tc.wantMessage)
			}
			for _, f := range got {
				if f.Object.String() != "ServiceAccount shop/app" {
					t.Errorf("finding on %q, want ServiceAccount shop/app", f.Object)
				}
			}
		})
	}
}

func TestVerifyProviderMissingPredictsExactSTSError(t *testing.T) {
	e := newEnv(t, func(s *awsstate.State) { s.Accounts[ownAccount].OIDCProviders = nil })
	got := check(e.verifier(t, nil), testContext(t), e.identity("arn:aws:iam::111122223333:role/app"))
	f, ok := findingWith(got, validators.CheckProviderMissing)
	if !ok {
		t.Fatalf("no IRSA020 in %v", got)
	}
	want := "InvalidIdentityToken: No OpenIDConnect provider found in your account for " + e.issuer.url
	if f.PredictedError != want {
		t.Errorf("PredictedError = %q, want %q", f.PredictedError, want)
	}
}

func TestVerifyUsesOwnAccountFromSTS(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	for range 3 {
		check(v, testContext(t), e.identity("arn:aws:iam::111122223333:role/app"))
	}
	if n := e.aws.Calls("GetCallerIdentity"); n != 1 {
		t.Errorf("GetCallerIdentity calls = %d, want 1 (cached)", n)
	}
	e.aws.ResetCalls()
	v = e.verifier(t, func(o *Options) { o.Account = ownAccount })
	check(v, testContext(t), e.identity("arn:aws:iam::111122223333:role/app"))
	if n := e.aws.Calls("GetCallerIdentity"); n != 0 {
		t.Errorf("GetCallerIdentity calls with Options.Account = %d, want 0", n)
	}
}

func TestGetRoleDecodesPolicyOnce(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	facts, err := v.getRole(testContext(t), v.iam, "percent")
	if err != nil {
		t.Fatalf("getRole: %v", err)
	}
	// The state holds the literal text "Save100%25"; IAM sends it encoded as "Save100%2525".
	if !strings.Contains(facts.Trust.Text, `"Sid":"Save100%25"`) || facts.Trust.Policy == nil || facts.Trust.Policy.Statements[0].Sid != "Save100%25" {
		t.Errorf("trust policy = %s (%v), want the Sid decoded exactly once and parsed", facts.Trust.Text, facts.Trust.Err)
	}
	if facts.ARN != "arn:aws:iam::111122223333:role/percent" || !facts.CreateDate.Equal(awsstate.DefaultCreateDate()) {
		t.Errorf("facts = %+v", facts)
	}
}

func TestVerifyThumbprintAgainstTheJWKSHost(t *testing.T) {
	tests := map[string]struct {
		issuer      fakeaws.OIDCIssuerOptions
		pin         func(*issuer) string // the thumbprint IAM holds
		private     bool
		want        []string
		wantMessage string
	}{
		"the top intermediate of the jwks host matches": {
			pin:  func(i *issuer) string { return i.JWKSThumbprint() },
			want: []string{},
		},
		"keys on another host: pinning the issuer host's chain is not enough": {
			issuer:  fakeaws.OIDCIssuerOptions{SeparateJWKSHost: true},
			pin:     func(i *issuer) string { return i.Thumbprint() },
			private: true,
			want:    []string{"IRSA022/error"},
		},
		"keys on another host: the jwks host's thumbprint matches": {
			issuer: fakeaws.OIDCIssuerOptions{SeparateJWKSHost: true},
			pin:    func(i *issuer) string { return i.JWKSThumbprint() },
			want:   []string{},
		},
		"a server that omits its intermediate cannot be read and says why": {
			issuer:      fakeaws.OIDCIssuerOptions{OmitIntermediate: true},
			pin:         func(i *issuer) string { return i.JWKSThumbprint() },
			want:        []string{"IRSA090/info"},
			wantMessage: "could not verify the issuer's TLS thumbprint (TLS certificate not trusted)",
		},
		"a server that also sends its root is pinned by the root": {
			issuer: fakeaws.OIDCIssuerOptions{IncludeRoot: true},
			pin:    func(i *issuer) string { return i.JWKSThumbprint() },
			want:   []string{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			iss := startIssuer(t, tc.issuer)
			e := newEnvOn(t, iss, func(s *awsstate.State) {
				s.Accounts[ownAccount].OIDCProviders[0].Thumbprints = []string{tc.pin(iss)}
			})
			v := e.verifier(t, func(o *Options) {
				if tc.private {
					o.IssuerRoots, o.PublicRoots = o.PublicRoots, []*x509.Certificate{}
				}
			})
			got := check(v, testContext(t), e.identity(appRole))
			if s := summary(got); !slices.Equal(s, tc.want) {
				t.Fatalf("findings = %v, want %v", got, tc.want)
			}
			if tc.wantMessage != "" && got[0].Message != tc.wantMessage {
				t.Errorf("message = %q, want %q", got[0].Message, tc.wantMessage)
			}
		})
	}
}

func TestVerifyNoticesARotatedChainAfterTheCacheExpires(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	ctx := testContext(t)
	if got := check(v, ctx, e.identity(appRole)); len(got) != 0 {
		t.Fatalf("findings before rotation = %v", got)
	}
	if err := e.issuer.Rotate(); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(11 * time.Minute)
	if got := summary(check(v, ctx, e.identity(appRole))); !slices.Equal(got, []string{"IRSA022/warning"}) {
		t.Errorf("findings after rotation = %v, want the public-CA IRSA022 warning", got)
	}
}
