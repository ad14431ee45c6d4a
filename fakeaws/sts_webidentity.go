package fakeaws

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// The messages STS answers AssumeRoleWithWebIdentity with, as seen in public error output (see
// docs/aws-state.md for where each was seen).
const (
	msgNotJWT          = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgNoProvider      = "No OpenIDConnect provider found in your account for "
	msgWrongAudience   = "Incorrect token audience"
	msgMissingClaim    = "Missing a required claim: "
	msgNoKey           = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	msgThumbprint      = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
	msgNotValidated    = "The web identity token that was passed could not be validated by Amazon Web Services. Get a new identity token from the identity provider and then retry the request."
	msgWebIdentityDeny = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
	msgDurationTooLong = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
)

// webIdentityDuration is STS's default DurationSeconds.
const webIdentityDuration = 3600

// webIdentityInput is an AssumeRoleWithWebIdentity request's parameters.
type webIdentityInput struct {
	roleARN, session, token string
	duration                int64
}

// assumeRoleWithWebIdentity is sts:AssumeRoleWithWebIdentity for OpenID Connect tokens, checked
// in this order: the model's constraints, the role ARN's syntax, the token's syntax and issuer,
// the IAM OIDC provider for that issuer in the role's account, the audience, the issuer's keys
// (TLS trust or thumbprint), the signature and expiry, the role and its trust policy, and the
// duration against the role's maximum. STS does not document its order; this one is a best
// guess, so a token with several faults may be reported for a different one than STS would.
func (s *Server) assumeRoleWithWebIdentity(c *queryCall) {
	invalid := func(msg string) { c.fail(http.StatusBadRequest, "Sender", "InvalidIdentityToken", msg) }
	in, msg := readWebIdentityInput(c.r.Form)
	if msg != "" {
		c.fail(http.StatusBadRequest, "Sender", "ValidationError", msg)
		return
	}
	partition, account, path, name, ok := awsstate.ParseRoleARN(in.roleARN)
	if !ok {
		c.fail(http.StatusBadRequest, "Sender", "ValidationError", "Request ARN is invalid")
		return
	}
	tok, err := parseWebToken(in.token)
	switch {
	case err != nil:
		invalid(msgNotJWT)
		return
	case tok.iss == "":
		invalid(msgMissingClaim + "iss")
		return
	}
	provider := findProvider(c.st, partition, account, tok.iss)
	if provider == nil {
		invalid(msgNoProvider + tok.iss)
		return
	}
	if len(tok.aud) == 0 {
		invalid(msgMissingClaim + "aud")
		return
	}
	audience, ok := matchAudience(tok.aud, provider.ClientIDs)
	if !ok {
		invalid(msgWrongAudience)
		return
	}
	keys, err := s.fetchIssuerKeys(c.r.Context(), tok.iss, provider.Thumbprints)
	if tp := (*thumbprintError)(nil); errors.As(err, &tp) {
		invalid(msgThumbprint)
		return
	} else if err != nil {
		invalid(msgNoKey)
		return
	}
	now := time.Now()
	switch err := tok.verify(keys); {
	case errors.Is(err, errNoKey):
		invalid(msgNoKey)
		return
	case err != nil:
		invalid(msgNotValidated)
		return
	case !tok.hasExp:
		invalid(msgMissingClaim + "exp")
		return
	case now.Unix() >= tok.exp:
		c.fail(http.StatusBadRequest, "Sender", "ExpiredTokenException",
			fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now.Unix(), tok.exp))
		return
	case tok.sub == "":
		invalid(msgMissingClaim + "sub")
		return
	}
	providerARN := provider.ARN(partition, account)
	role := findRole(c.st.Accounts[account], name)
	// STS matches the role ARN exactly and does not say whether a role exists.
	if role == nil || role.Name != name || role.Path != path ||
		!webIdentityTrusted(string(role.TrustPolicy), providerARN, webIdentityContext(c.r, tok, audience, in.session, now)) {
		c.fail(http.StatusForbidden, "Sender", "AccessDenied", msgWebIdentityDeny)
		return
	}
	if in.duration > int64(role.MaxSessionDuration) {
		c.fail(http.StatusBadRequest, "Sender", "ValidationError", msgDurationTooLong)
		return
	}
	creds, user := s.issueSession(partition, account, role, in.roleARN, in.session, in.duration)
	c.respond(struct {
		SubjectFromWebIdentityToken string
		Audience                    string
		AssumedRoleUser             assumedRoleUser
		Credentials                 stsCredentials
		Provider                    string
	}{tok.sub, audience, user, creds, providerARN})
}

// webIdentityTrusted is the one place that asks the project's trust-policy evaluator. STS has no
// "maybe": anything but an allow, including a policy that does not parse, is a denial.
func webIdentityTrusted(policy, providerARN string, ctx map[string][]string) bool {
	p, err := trustpolicy.Parse([]byte(policy))
	if err != nil {
		return false
	}
	res := trustpolicy.Evaluate(p, trustpolicy.Request{
		Action:        "sts:AssumeRoleWithWebIdentity",
		PrincipalType: "Federated",
		Principal:     providerARN,
		Context:       ctx,
	})
	return res.Decision == trustpolicy.DecisionAllow
}

// webIdentityContext is the request context STS has when it evaluates the trust policy: the
// provider's :sub and :aud keys (audience is the single client ID that matched) and the global
// keys present in every request, per the IAM User Guide's "AWS global condition context keys".
// aws:SecureTransport is true because STS endpoints only accept HTTPS, whatever the fake's own
// transport; aws:RequestedRegion is known only when the request went to an STS host name.
func webIdentityContext(r *http.Request, tok *webToken, audience, session string, now time.Time) map[string][]string {
	key := strings.TrimPrefix(tok.iss, "https://")
	ctx := map[string][]string{
		key + ":sub":          {tok.sub},
		key + ":aud":          {audience},
		"aws:CurrentTime":     {now.UTC().Format(time.RFC3339)},
		"aws:EpochTime":       {strconv.FormatInt(now.Unix(), 10)},
		"aws:SecureTransport": {"true"},
		"aws:ViaAWSService":   {"false"},
		"sts:RoleSessionName": {session},
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ctx["aws:SourceIp"] = []string{host}
	}
	if ua := r.UserAgent(); ua != "" {
		ctx["aws:UserAgent"] = []string{ua}
	}
	if region := stsHostRegion(r.Host); region != "" {
		ctx["aws:RequestedRegion"] = []string{region}
	}
	return ctx
}

// stsHostRE matches regional STS host names: sts.REGION.amazonaws.com(.cn) and the FIPS form.
var stsHostRE = regexp.MustCompile(`^sts(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// stsHostRegion is the region an STS host name serves; the global endpoint is us-east-1.
func stsHostRegion(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "sts.amazonaws.com" {
		return "us-east-1"
	}
	if m := stsHostRE.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}

// findProvider is the IAM OIDC provider of account whose URL is exactly iss.
func findProvider(st *awsstate.State, partition, account, iss string) *awsstate.OIDCProvider {
	acct := st.Accounts[account]
	if acct == nil || partition != st.Partition {
		return nil
	}
	for i := range acct.OIDCProviders {
		if acct.OIDCProviders[i].URL == iss {
			return &acct.OIDCProviders[i]
		}
	}
	return nil
}

// matchAudience is the first of the token's audiences that is one of the provider's client IDs.
func matchAudience(aud, clientIDs []string) (string, bool) {
	for _, a := range aud {
		for _, id := range clientIDs {
			if a == id {
				return a, true
			}
		}
	}
	return "", false
}

// readWebIdentityInput applies the API model's constraints (botocore
// data/sts/2011-06-15/service-2.json: RoleArn arnType 20-2048, RoleSessionName 2-64 of
// [\w+=,.@-]*, WebIdentityToken clientTokenType 4-20000, DurationSeconds 900-43200) and returns
// STS's "N validation error(s) detected" message, or "" when the input is acceptable. The token
// is a sensitive member: STS leaves its value out of the message, and so does the fake.
func readWebIdentityInput(form url.Values) (webIdentityInput, string) {
	in := webIdentityInput{roleARN: form.Get("RoleArn"), session: form.Get("RoleSessionName"), token: form.Get("WebIdentityToken"), duration: webIdentityDuration}
	var errs []string
	value := func(member, v string) string {
		if member == "webIdentityToken" {
			return "Value at '" + member + "'"
		}
		return fmt.Sprintf("Value '%s' at '%s'", v, member)
	}
	null := func(member string) string {
		if member == "webIdentityToken" {
			return "Value at '" + member + "'"
		}
		return "Value null at '" + member + "'"
	}
	length := func(param, member, v string, lo, hi int) {
		switch {
		case !form.Has(param):
			errs = append(errs, null(member)+" failed to satisfy constraint: Member must not be null")
		case len(v) < lo:
			errs = append(errs, fmt.Sprintf("%s failed to satisfy constraint: Member must have length greater than or equal to %d", value(member, v), lo))
		case len(v) > hi:
			errs = append(errs, fmt.Sprintf("%s failed to satisfy constraint: Member must have length less than or equal to %d", value(member, v), hi))
		}
	}
	length("RoleArn", "roleArn", in.roleARN, 20, 2048)
	length("RoleSessionName", "roleSessionName", in.session, 2, 64)
	if form.Has("RoleSessionName") && !sessionPatternRE.MatchString(in.session) {
		errs = append(errs, value("roleSessionName", in.session)+` failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	}
	length("WebIdentityToken", "webIdentityToken", in.token, 4, 20000)
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.ParseInt(d, 10, 32)
		switch {
		case err != nil:
			errs = append(errs, value("durationSeconds", d)+" failed to satisfy constraint: Member must be a number")
		case n < 900:
			errs = append(errs, value("durationSeconds", d)+" failed to satisfy constraint: Member must have value greater than or equal to 900")
		case n > 43200:
			errs = append(errs, value("durationSeconds", d)+" failed to satisfy constraint: Member must have value less than or equal to 43200")
		}
		in.duration = n
	}
	switch len(errs) {
	case 0:
		return in, ""
	case 1:
		return in, "1 validation error detected: " + errs[0]
	default:
		return in, fmt.Sprintf("%d validation errors detected: %s", len(errs), strings.Join(errs, "; "))
	}
}

// sessionPatternRE is the RoleSessionName pattern alone; the length is checked separately so
// that each broken constraint gets its own message.
var sessionPatternRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
