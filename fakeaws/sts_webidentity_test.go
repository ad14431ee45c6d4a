package fakeaws

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// webIdentityWorld is an HTTPS issuer and a fake AWS whose caller account has an IAM OIDC
// provider for it (pinning its thumbprint, since its CA is private) and roles that trust it.
type webIdentityWorld struct {
	srv         *Server
	issuer      *OIDCIssuer
	state       *awsstate.State
	providerARN string
	keyPrefix   string // the provider's condition-key prefix: host and path of the issuer
}

// newWebIdentityWorld starts the world; edit, when set, changes the state before it is served.
func newWebIdentityWorld(t *testing.T, opts OIDCIssuerOptions, edit func(w *webIdentityWorld)) *webIdentityWorld {
	t.Helper()
	issuer, err := NewOIDCIssuer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	w := &webIdentityWorld{issuer: issuer, keyPrefix: strings.TrimPrefix(issuer.URL(), "https://")}
	w.providerARN = "arn:aws:iam::" + testAccount + ":oidc-provider/" + w.keyPrefix
	trust := func(effect, action string, conds map[string]map[string]any) awsstate.PolicyText {
		st := map[string]any{"Effect": effect, "Principal": map[string]string{"Federated": w.providerARN}, "Action": action}
		if conds != nil {
			st["Condition"] = conds
		}
		b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
		return awsstate.PolicyText(b)
	}
	irsa := map[string]map[string]any{"StringEquals": {w.keyPrefix + ":sub": "system:serviceaccount:shop:app", w.keyPrefix + ":aud": "sts.amazonaws.com"}}
	with := func(extra map[string]map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{"StringEquals": irsa["StringEquals"]}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	w.state = &awsstate.State{
		CallerAccount: testAccount,
		Accounts: map[string]*awsstate.Account{
			testAccount: {
				OIDCProviders: []awsstate.OIDCProvider{{URL: issuer.URL(), ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{issuer.Thumbprint()}}},
				Roles: []awsstate.Role{
					{Name: "app", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity", irsa)},
					{Name: "pathed-app", Path: "/irsa/", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity", irsa)},
					{Name: "other-sa", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity",
						map[string]map[string]any{"StringEquals": {w.keyPrefix + ":sub": "system:serviceaccount:shop:other"}})},
					{Name: "assume-only", TrustPolicy: trust("Allow", "sts:AssumeRole", irsa)},
					{Name: "expired-trust", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity",
						with(map[string]map[string]any{"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}))},
					{Name: "loopback-only", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity",
						with(map[string]map[string]any{"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"}}))},
					{Name: "named-session", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity",
						with(map[string]map[string]any{"StringLike": {"sts:RoleSessionName": "probe-*"}}))},
				},
			},
			otherAccount: {Roles: []awsstate.Role{{Name: "app", TrustPolicy: trust("Allow", "sts:AssumeRoleWithWebIdentity", irsa)}}},
		},
	}
	if edit != nil {
		edit(w)
	}
	w.srv = NewServer(w.state)
	t.Cleanup(w.srv.Close)
	return w
}

// token is a TokenRequest-shaped token for shop/app with the given audiences, valid for an hour.
func (w *webIdentityWorld) token(t *testing.T, audiences ...string) string {
	t.Helper()
	tok, err := w.issuer.ServiceAccountToken("shop", "app", time.Hour, audiences...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claims is the claims of a shop/app token to edit before signing with SignToken.
func (w *webIdentityWorld) claims() map[string]any {
	now := time.Now()
	return map[string]any{"iss": w.issuer.URL(), "sub": "system:serviceaccount:shop:app", "aud": []string{"sts.amazonaws.com"},
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func (w *webIdentityWorld) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := w.issuer.SignToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// assume calls AssumeRoleWithWebIdentity as a pod would: anonymous credentials, the real SDK.
func (w *webIdentityWorld) assume(t *testing.T, roleARN, session, token string, duration int32) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	t.Helper()
	cfg := sdkConfig(w.srv, "", "", "")
	cfg.Credentials = aws.AnonymousCredentials{}
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(session), WebIdentityToken: aws.String(token)}
	if duration != 0 {
		in.DurationSeconds = aws.Int32(duration)
	}
	return stsClient(cfg).AssumeRoleWithWebIdentity(testContext(t), in)
}

const appRole = "arn:aws:iam::111122223333:role/app"

func TestAssumeRoleWithWebIdentitySucceeds(t *testing.T) {
	w := newWebIdentityWorld(t, OIDCIssuerOptions{}, nil)
	out, err := w.assume(t, appRole, "probe-1", w.token(t, "sts.amazonaws.com"), 900)
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	got := map[string]string{
		"subject":  aws.ToString(out.SubjectFromWebIdentityToken),
		"audience": aws.ToString(out.Audience),
		"provider": aws.ToString(out.Provider),
		"arn":      aws.ToString(out.AssumedRoleUser.Arn),
		"id":       aws.ToString(out.AssumedRoleUser.AssumedRoleId),
	}
	want := map[string]string{
		"subject":  "system:serviceaccount:shop:app",
		"audience": "sts.amazonaws.com",
		"provider": w.providerARN,
		"arn":      "arn:aws:sts::111122223333:assumed-role/app/probe-1",
		"id":       roleID(appRole) + ":probe-1",
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s = %q, want %q", k, got[k], want[k])
		}
	}
	c := out.Credentials
	if akid := aws.ToString(c.AccessKeyId); len(akid) != 20 || !strings.HasPrefix(akid, "ASIA") {
		t.Errorf("AccessKeyId = %q", akid)
	}
	if d := time.Until(aws.ToTime(c.Expiration)); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("Expiration in %v, want the 15 minutes asked for", d)
	}
	// The credentials act as the role, in its account.
	assumed := sdkConfig(w.srv, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	id, err := stsClient(assumed).GetCallerIdentity(testContext(t), &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != want["arn"] || aws.ToString(id.Account) != testAccount {
		t.Errorf("GetCallerIdentity with the session: %v %+v", err, id)
	}
	if _, err := iamClient(assumed).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("pathed-app")}); err != nil {
		t.Errorf("GetRole with the session: %v", err)
	}
	if n := w.srv.Calls("AssumeRoleWithWebIdentity"); n != 1 {
		t.Errorf("Calls = %d, want 1", n)
	}
}

// TestAssumeRoleWithWebIdentityTrust covers the trust policy and the request context STS builds.
func TestAssumeRoleWithWebIdentityTrust(t *testing.T) {
	w := newWebIdentityWorld(t, OIDCIssuerOptions{}, nil)
	tests := map[string]struct {
		roleARN, session string
		wantDenied       bool
	}{
		"a role under a path is found with its path":                    {roleARN: "arn:aws:iam::111122223333:role/irsa/pathed-app"},
		"the same role without its path does not exist":                 {roleARN: "arn:aws:iam::111122223333:role/pathed-app", wantDenied: true},
		"a wrongly cased role name is another, missing role":            {roleARN: "arn:aws:iam::111122223333:role/App", wantDenied: true},
		"a role that does not exist is AccessDenied too":                {roleARN: "arn:aws:iam::111122223333:role/nope", wantDenied: true},
		"a trust for another ServiceAccount denies":                     {roleARN: "arn:aws:iam::111122223333:role/other-sa", wantDenied: true},
		"a trust allowing only sts:AssumeRole denies":                   {roleARN: "arn:aws:iam::111122223333:role/assume-only", wantDenied: true},
		"aws:CurrentTime is in the context: an expired trust denies":    {roleARN: "arn:aws:iam::111122223333:role/expired-trust", wantDenied: true},
		"aws:SourceIp and aws:SecureTransport are in the context":       {roleARN: "arn:aws:iam::111122223333:role/loopback-only"},
		"sts:RoleSessionName is in the context: a matching name":        {roleARN: "arn:aws:iam::111122223333:role/named-session", session: "probe-7"},
		"sts:RoleSessionName is in the context: another name is denied": {roleARN: "arn:aws:iam::111122223333:role/named-session", session: "app", wantDenied: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			session := tc.session
			if session == "" {
				session = "probe-1"
			}
			_, err := w.assume(t, tc.roleARN, session, w.token(t, "sts.amazonaws.com"), 0)
			if tc.wantDenied {
				assertAPIError(t, err, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
			} else if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
		})
	}
}

// TestAssumeRoleWithWebIdentityRefusals has one case per error STS answers, with its exact text.
func TestAssumeRoleWithWebIdentityRefusals(t *testing.T) {
	w := newWebIdentityWorld(t, OIDCIssuerOptions{}, nil)
	good := w.token(t, "sts.amazonaws.com")
	claimsWith := func(edit func(map[string]any)) string {
		c := w.claims()
		edit(c)
		return w.sign(t, c)
	}
	past := time.Now().Add(-time.Minute).Unix()
	tests := map[string]struct {
		roleARN        *string // nil: the app role
		session, token string
		duration       int32
		wantCode       string
		wantStatus     int
		wantMessage    string // a regular expression when it starts with ^
	}{
		"a role ARN shorter than 20 characters": {
			roleARN: aws.String("arn:aws:iam::1:r"), wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value 'arn:aws:iam::1:r' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
		},
		"an empty role ARN": {
			roleARN: aws.String(""), wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
		},
		"a malformed role ARN": {
			roleARN: aws.String("arn:aws:iam::::1234567890:role/example"), wantCode: "ValidationError", wantStatus: 400, wantMessage: "Request ARN is invalid",
		},
		"a session name with a space": {
			session: "probe 1", wantCode: "ValidationError", wantStatus: 400,
			wantMessage: `1 validation error detected: Value 'probe 1' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`,
		},
		"a one-character session name": {
			session: "p", wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value 'p' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
		},
		"a token too short, whose value the message leaves out": {
			token: "abc", wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4",
		},
		"a duration below 900 seconds": {
			duration: 600, wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
		},
		"two broken constraints are reported together": {
			roleARN: aws.String("arn:aws:iam::1:r"), duration: 50000, wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "2 validation errors detected: Value 'arn:aws:iam::1:r' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; " +
				"Value '50000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
		},
		"a duration above the role's maximum": {
			duration: 7200, wantCode: "ValidationError", wantStatus: 400,
			wantMessage: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
		},
		"a token that is not a JWT": {
			token: "not-a-jwt-at-all", wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
		},
		"a token signed with HS256, which STS does not accept": {
			token: unsignedToken("HS256", w.claims()), wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
		},
		"a token whose exp is not an integer": {
			token: claimsWith(func(c map[string]any) { c["exp"] = 1.5e12 + 0.5 }), wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
		},
		"an issuer without an IAM provider in the role's account": {
			token:    claimsWith(func(c map[string]any) { c["iss"] = "https://127.0.0.1:1/id/NOPROVIDER" }),
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "No OpenIDConnect provider found in your account for https://127.0.0.1:1/id/NOPROVIDER",
		},
		"a role in an account that lacks the provider": {
			roleARN: aws.String("arn:aws:iam::444455556666:role/app"), wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "No OpenIDConnect provider found in your account for " + w.issuer.URL(),
		},
		"a token without aud": {
			token: claimsWith(func(c map[string]any) { delete(c, "aud") }), wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "Missing a required claim: aud",
		},
		"a token for another audience": {
			token: w.token(t, "vault"), wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Incorrect token audience",
		},
		"an expired token": {
			token: claimsWith(func(c map[string]any) { c["exp"] = past }), wantCode: "ExpiredTokenException", wantStatus: 400,
			wantMessage: `^Token expired: current date/time \d{10} must be before the expiration date/time ` + strconv.FormatInt(past, 10) + `$`,
		},
		"a token whose payload was changed after signing": {
			token: tamper(good), wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request.",
		},
		"a token signed by a key the JWKS does not have": {
			token: withKid(t, good, "rotated-away"), wantCode: "InvalidIdentityToken", wantStatus: 400,
			wantMessage: "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			roleARN, session, token := appRole, "probe-1", good
			if tc.roleARN != nil {
				roleARN = *tc.roleARN
			}
			if tc.session != "" {
				session = tc.session
			}
			if tc.token != "" {
				token = tc.token
			}
			_, err := w.assume(t, roleARN, session, token, tc.duration)
			if !strings.HasPrefix(tc.wantMessage, "^") {
				assertAPIError(t, err, tc.wantCode, tc.wantStatus, tc.wantMessage)
				return
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tc.wantCode || !regexp.MustCompile(tc.wantMessage).MatchString(ae.ErrorMessage()) {
				t.Errorf("error = %v, want %s matching %s", err, tc.wantCode, tc.wantMessage)
			}
		})
	}
}

// TestAssumeRoleWithWebIdentityThumbprints follows IAM's rule: a chain the trusted CAs verify
// needs no thumbprint; any other must end in a pinned certificate, on every host STS fetches from.
func TestAssumeRoleWithWebIdentityThumbprints(t *testing.T) {
	const mismatch = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
	wrongThumb := strings.Repeat("ab", 20)
	tests := map[string]struct {
		opts        OIDCIssuerOptions
		thumbprints func(o *OIDCIssuer) []string
		trustRoot   bool
		wantMessage string // "" for success
	}{
		"a private chain with its thumbprint pinned is accepted": {
			thumbprints: func(o *OIDCIssuer) []string { return []string{o.Thumbprint()} },
		},
		"a thumbprint is compared without regard to case": {
			thumbprints: func(o *OIDCIssuer) []string { return []string{strings.ToUpper(o.Thumbprint())} },
		},
		"a private chain with another thumbprint is refused": {
			thumbprints: func(*OIDCIssuer) []string { return []string{wrongThumb} }, wantMessage: mismatch,
		},
		"a private chain with no thumbprint is refused": {
			thumbprints: func(*OIDCIssuer) []string { return nil }, wantMessage: mismatch,
		},
		"a trusted chain needs no matching thumbprint": {
			thumbprints: func(*OIDCIssuer) []string { return []string{wrongThumb} }, trustRoot: true,
		},
		"keys on a second host need that host's thumbprint too": {
			opts:        OIDCIssuerOptions{SeparateJWKSHost: true},
			thumbprints: func(o *OIDCIssuer) []string { return []string{o.Thumbprint()} }, wantMessage: mismatch,
		},
		"keys on a second host are accepted with both thumbprints": {
			opts:        OIDCIssuerOptions{SeparateJWKSHost: true},
			thumbprints: func(o *OIDCIssuer) []string { return []string{o.Thumbprint(), o.JWKSThumbprint()} },
		},
		"a server that omits its intermediate pins its leaf": {
			opts:        OIDCIssuerOptions{OmitIntermediate: true},
			thumbprints: func(o *OIDCIssuer) []string { return []string{o.Thumbprint()} }, trustRoot: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWebIdentityWorld(t, tc.opts, func(w *webIdentityWorld) {
				w.state.Accounts[testAccount].OIDCProviders[0].Thumbprints = tc.thumbprints(w.issuer)
			})
			if tc.trustRoot {
				w.srv.SetIssuerRoots(w.issuer.RootPool())
			}
			_, err := w.assume(t, appRole, "probe-1", w.token(t, "sts.amazonaws.com"), 0)
			if tc.wantMessage == "" {
				if err != nil {
					t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
				}
				return
			}
			assertAPIError(t, err, "InvalidIdentityToken", 400, tc.wantMessage)
		})
	}
}

// TestAssumeRoleWithWebIdentityUnreachableKeys: every way of not getting the keys is the same
// "Couldn't retrieve verification key", and a hostile issuer cannot hold the fake beyond its
// bounds.
func TestAssumeRoleWithWebIdentityUnreachableKeys(t *testing.T) {
	const noKey = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	huge := strings.Repeat(" ", 64<<20)
	tests := map[string]struct {
		wrap    func(http.Handler) http.Handler
		timeout time.Duration
		within  time.Duration
	}{
		"the JWKS answers 500": {
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/keys") {
						http.Error(rw, "down", http.StatusInternalServerError)
						return
					}
					h.ServeHTTP(rw, r)
				})
			},
			within: 5 * time.Second,
		},
		"the discovery document redirects": {
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "openid-configuration") {
						http.Redirect(rw, r, "/elsewhere", http.StatusFound)
						return
					}
					h.ServeHTTP(rw, r)
				})
			},
			within: 5 * time.Second,
		},
		"a 64 MiB discovery document is cut off at the bound": {
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "openid-configuration") {
						_, _ = rw.Write([]byte(`{"jwks_uri":"` + huge + `"}`))
						return
					}
					h.ServeHTTP(rw, r)
				})
			},
			within: 5 * time.Second,
		},
		"a JWKS that never finishes is abandoned at the timeout": {
			wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					if strings.HasSuffix(r.URL.Path, "/keys") {
						rw.Header().Set("Content-Type", "application/json")
						_, _ = rw.Write([]byte(`{"keys":[`))
						rw.(http.Flusher).Flush()
						select { // trickle nothing until the client goes away
						case <-r.Context().Done():
						case <-time.After(30 * time.Second):
						}
						return
					}
					h.ServeHTTP(rw, r)
				})
			},
			timeout: 300 * time.Millisecond,
			within:  3 * time.Second,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w := newWebIdentityWorld(t, OIDCIssuerOptions{Wrap: tc.wrap}, nil)
			w.srv.SetIssuerTimeout(tc.timeout)
			start := time.Now()
			_, err := w.assume(t, appRole, "probe-1", w.token(t, "sts.amazonaws.com"), 0)
			assertAPIError(t, err, "InvalidIdentityToken", 400, noKey)
			if d := time.Since(start); d > tc.within {
				t.Errorf("answered after %v, want within %v", d, tc.within)
			}
		})
	}

	t.Run("an issuer that has stopped", func(t *testing.T) {
		w := newWebIdentityWorld(t, OIDCIssuerOptions{}, nil)
		tok := w.token(t, "sts.amazonaws.com")
		w.issuer.Close()
		_, err := w.assume(t, appRole, "probe-1", tok, 0)
		assertAPIError(t, err, "InvalidIdentityToken", 400, noKey)
	})

	t.Run("an issuer off this machine is never contacted", func(t *testing.T) {
		const remote = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
		w := newWebIdentityWorld(t, OIDCIssuerOptions{}, func(w *webIdentityWorld) {
			acct := w.state.Accounts[testAccount]
			acct.OIDCProviders = append(acct.OIDCProviders, awsstate.OIDCProvider{URL: remote, ClientIDs: []string{"sts.amazonaws.com"}})
		})
		c := w.claims()
		c["iss"] = remote
		_, err := w.assume(t, appRole, "probe-1", w.sign(t, c), 0)
		assertAPIError(t, err, "InvalidIdentityToken", 400, noKey)
	})
}

func TestAssumeRoleWithWebIdentityFaultsAndWire(t *testing.T) {
	w := newWebIdentityWorld(t, OIDCIssuerOptions{}, nil)
	tok := w.token(t, "sts.amazonaws.com")
	if err := w.srv.SetFaults(awsstate.Fault{API: "AssumeRoleWithWebIdentity", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	_, err := w.assume(t, appRole, "probe-1", tok, 0)
	assertAPIError(t, err, "Throttling", 400, "Rate exceeded")
	if err := w.srv.SetFaults(awsstate.Fault{API: "AssumeRoleWithWebIdentity", Error: "AccessDenied"}); err != nil {
		t.Fatal(err)
	}
	_, err = w.assume(t, appRole, "probe-1", tok, 0)
	assertAPIError(t, err, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	if n := w.srv.Calls("AssumeRoleWithWebIdentity"); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}
	if err := w.srv.SetFaults(); err != nil {
		t.Fatal(err)
	}

	// The call needs no Authorization header at all, and the answer is STS's envelope.
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {appRole},
		"RoleSessionName": {"probe-1"}, "WebIdentityToken": {tok}}
	status, _, body := postQuery(t, w.srv, form, "")
	for _, want := range []string{`<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`,
		"<SubjectFromWebIdentityToken>system:serviceaccount:shop:app</SubjectFromWebIdentityToken>",
		"<Audience>sts.amazonaws.com</Audience>", "<Provider>" + w.providerARN + "</Provider>"} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("unsigned call: %d %s\nwant it to contain %s", status, body, want)
		}
	}
	if strings.Contains(body, tok) {
		t.Error("the answer echoes the token")
	}
}

// tamper swaps the token's sub after signing.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	b = []byte(strings.Replace(string(b), "shop:app", "shop:adm", 1))
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// withKid re-signs nothing: it only changes the header's kid, so no JWKS key matches.
func withKid(t *testing.T, tok, kid string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid})
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + parts[2]
}

// unsignedToken is a token with the given alg and a dummy signature.
func unsignedToken(alg string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": alg})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2ln"
}
