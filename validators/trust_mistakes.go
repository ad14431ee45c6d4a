package validators

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// regionFirstEKS matches the wrong issuer form oidc.REGION.eks.<suffix>: the real EKS issuer is
// oidc.eks.REGION.<suffix>.
var regionFirstEKS = regexp.MustCompile(`^oidc\.([a-z]{2}(?:-[a-z]+)+-\d+)\.eks\.(.+)$`)

// eksIssuer splits oidc.eks.REGION.<suffix>/id/ID.
var eksIssuer = regexp.MustCompile(`^oidc\.eks\.([a-z0-9-]+)\.([^/]+)/id/([^/]+)$`)

// diagnoseIssuer explains how a trusted issuer host/path (from a principal or a condition key)
// differs from this cluster's, naming the human mistake where there is a known one. It is kept
// short: it ends up inside a 120-character message.
func diagnoseIssuer(got, want string) string {
	switch {
	case got == want:
		return ""
	case strings.HasPrefix(got, "https://"):
		return "includes https://, which IAM never matches"
	case strings.EqualFold(got, want):
		return "differs from this cluster's issuer in letter case only; IAM compares exactly"
	case got+"/" == want:
		return "lacks the trailing slash of this cluster's issuer " + Quote(want, 40)
	case got == want+"/":
		return "has a trailing slash that this cluster's issuer " + Quote(want, 40) + " lacks"
	}
	if m := regionFirstEKS.FindStringSubmatch(got); m != nil {
		return fmt.Sprintf("uses oidc.%s.eks...; EKS issuers are oidc.eks.%s...", m[1], m[1])
	}
	g, w := eksIssuer.FindStringSubmatch(got), eksIssuer.FindStringSubmatch(want)
	if g != nil && w != nil && g[1] == w[1] && g[2] == w[2] {
		return fmt.Sprintf("is another cluster's issuer (id %s)", Quote(g[3], 36))
	}
	if g != nil && w != nil && g[3] == w[3] {
		return fmt.Sprintf("names region %s; this cluster's issuer is in %s", g[1], w[1])
	}
	return fmt.Sprintf("names issuer %s, not this cluster's", Quote(got, 50))
}

// providerFinding explains why no Allow statement's principal is this cluster's provider: the
// right issuer in another account (IRSA035) or some other provider (IRSA030).
func (d diagnoser) providerFinding() Finding {
	want, _ := parseProviderARN(d.req.ProviderARN)
	fix := fmt.Sprintf(`Trust this cluster's provider: "Principal": {"Federated": %q}.`, d.req.ProviderARN)
	var trusted []string
	first := ""
	for _, s := range d.policy.Statements {
		if s.Effect != trustpolicy.Allow || s.Principal == nil {
			continue
		}
		for _, f := range s.Principal.Values["Federated"] {
			trusted = append(trusted, f)
			got, ok := parseProviderARN(f)
			switch {
			case ok && got.hostPath == want.hostPath && got.partition == want.partition && got.account != want.account:
				msg := fmt.Sprintf("%s trusts the provider in account %s; the role is in %s", s.Name(), got.account, want.account)
				return NewFinding(CheckTrustCrossAccount, d.obj, msg).WithFix(
					"Create an OIDC provider for the issuer in account " + want.account + " and trust it: " + fix[len("Trust this cluster's provider: "):])
			case first != "":
			case strings.Contains(f, "https://"):
				first = fmt.Sprintf("%s: Federated principal includes https://", s.Name())
			case strings.Contains(f, "*") && f != "*":
				// "You cannot use a wildcard to match part of a principal name or ARN."
				// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)
				first = fmt.Sprintf("%s: Federated principal has a wildcard; IAM matches principals exactly", s.Name())
			case !ok:
				first = fmt.Sprintf("%s: Federated %s is not an oidc-provider ARN", s.Name(), Quote(f, 50))
			case got.partition != want.partition:
				first = fmt.Sprintf("%s trusts a provider in partition %s, not %s", s.Name(), got.partition, want.partition)
			default:
				first = s.Name() + ": provider " + diagnoseIssuer(got.hostPath, want.hostPath)
			}
		}
	}
	if first == "" {
		first = "no Allow statement has a Federated principal"
		for _, s := range d.policy.Statements {
			if s.NotPrincipal != nil {
				first = s.Name() + " uses NotPrincipal, which role trust policies do not support"
			}
		}
	}
	if len(trusted) > 0 {
		fix += " It trusts only: " + strings.Join(trusted, ", ") + "."
	}
	return NewFinding(CheckTrustNoProvider, d.obj, first).WithFix(fix)
}

// diagnoseCondition explains one certainly failing condition of an otherwise matching statement
// and shows the corrected condition: IRSA038 for a condition on the clock, IRSA032 otherwise.
func (d diagnoser) diagnoseCondition(sr trustpolicy.StatementResult, c trustpolicy.ConditionResult) Finding {
	s := d.statement(sr.Index)
	if isClockKey(c.Key) {
		return d.windowFinding(sr, c)
	}
	msg, fix := d.conditionMistake(c)
	return NewFinding(CheckTrustConditions, d.obj, s.Name()+": "+msg).WithFix(fix)
}

// conditionMistake names the human mistake behind one failing condition.
func (d diagnoser) conditionMistake(c trustpolicy.ConditionResult) (msg, fix string) {
	host := providerHostPath(d.req.ProviderARN)
	subKey, audKey := host+":sub", host+":aud"
	key := strings.ToLower(c.Key)
	prefix, claim := c.Key, ""
	if i := strings.LastIndexByte(c.Key, ':'); i >= 0 {
		prefix, claim = c.Key[:i], strings.ToLower(c.Key[i+1:])
	}
	want, wantKey := d.req.Subject, subKey
	if claim == "aud" || (claim != "sub" && claimDistance(claim, "aud") < claimDistance(claim, "sub")) {
		want, wantKey = d.req.audience(), audKey
	}
	fixed := fmt.Sprintf(`"StringEquals": {%q: %q}`, wantKey, want)
	switch {
	case c.Unsupported:
		return c.Reason, "Use a valid operator, e.g. " + fixed + "."
	case !c.Present && strings.HasPrefix(key, "https://"):
		return "condition key starts with https://, so it never matches", "Drop https:// from the key: " + fixed + "."
	case !c.Present && !strings.EqualFold(prefix, host) && (claim == "sub" || claim == "aud"):
		return ":" + claim + " condition key " + diagnoseIssuer(prefix, host), "Use this cluster's issuer in the key: " + fixed + "."
	case !c.Present && strings.EqualFold(prefix, host) && claim != "sub" && claim != "aud":
		return fmt.Sprintf("condition key ends in %s, a claim STS never sets; did you mean \":%s\"?", Quote(":"+claim, 20), wantKey[len(host)+1:]),
			"Fix the key: " + fixed + "."
	case !c.Present && d.overridden(c.Key):
		return fmt.Sprintf("%s %s: the key is absent from this what-if request", c.Operator, Quote(c.Key, 60)),
			"A call without this key fails the condition; if such calls should pass, add IfExists to the operator (e.g. " + c.Operator + "IfExists)."
	case !c.Present:
		return fmt.Sprintf("%s %s: STS never sets this key for a pod's web identity call", c.Operator, Quote(c.Key, 60)),
			"Drop the condition: STS evaluates a pod's sts:AssumeRoleWithWebIdentity call without this key (docs/trust-explain.md lists the keys it has)."
	}
	if !strings.EqualFold(prefix, host) {
		return fmt.Sprintf("%s on %s wants %s, the call has %s", c.Operator, d.keyLabel(c.Key), quoteValues(c.Values), quoteValues(c.Actual)), callKeyFix(c.Key)
	}
	base := strings.TrimPrefix(strings.TrimPrefix(c.Operator, "ForAnyValue:"), "ForAllValues:")
	if strings.HasPrefix(base, "StringEquals") || strings.HasPrefix(base, "ArnEquals") {
		for _, v := range c.Values {
			if strings.ContainsAny(v, "*?") && wildcardMatches(v, c.Actual) {
				like := strings.Replace(c.Operator, "StringEquals", "StringLike", 1)
				return fmt.Sprintf("%s treats * and ? in the :%s value literally; use StringLike", c.Operator, claim),
					fmt.Sprintf(`Use StringLike for wildcards: %q: {%q: %q}.`, like, c.Key, v)
			}
		}
	}
	if strings.EqualFold(c.Key, subKey) {
		if msg := d.subMistake(c); msg != "" {
			return msg, fmt.Sprintf("Set the sub condition to this ServiceAccount (or add it to the list): %s.", fixed)
		}
	}
	return fmt.Sprintf("%s on :%s wants %s, token has %s", c.Operator, claim, quoteValues(c.Values), quoteValues(c.Actual)),
		"Make the condition match the token: " + fixed + "."
}

// overridden reports whether the request's key was set by a what-if (TrustRequest.Context).
func (d diagnoser) overridden(key string) bool {
	for k := range d.req.Context {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// callKeyFix says how to make the call fit a condition on a key of the call (not a token claim).
func callKeyFix(key string) string {
	switch strings.ToLower(key) {
	case "sts:rolesessionname":
		return "Set AWS_ROLE_SESSION_NAME on the pod to a session name the condition allows, or change the condition."
	case "aws:requestedregion":
		return "Call STS in a Region the condition allows (AWS_REGION with AWS_STS_REGIONAL_ENDPOINTS=regional), or change the condition."
	}
	return "Change the condition, or make the pod's call fit it."
}

// maxListedSubjects caps how many allowed subjects a message lists.
const maxListedSubjects = 3

// subMistake compares this ServiceAccount's subject with every value of a failing :sub condition
// and names what differs: an invisible character, a repeated system:serviceaccount: prefix, letter
// case, the namespace, or the name.
func (d diagnoser) subMistake(c trustpolicy.ConditionResult) string {
	wantNS, wantName, _ := splitSubject(d.req.Subject)
	for _, v := range c.Values {
		if what := invisibleIn(v); what != "" && valueMatches(c.Operator, cleanInvisible(v), d.req.Subject) {
			return fmt.Sprintf("sub value %s has %s", Quote(v, 60), what)
		}
	}
	for _, v := range c.Values {
		if rest, ok := strings.CutPrefix(v, serviceAccountPrefix+serviceAccountPrefix); ok && valueMatches(c.Operator, serviceAccountPrefix+rest, d.req.Subject) {
			return fmt.Sprintf("sub value repeats the %s prefix", serviceAccountPrefix)
		}
	}
	for _, v := range c.Values {
		if v != d.req.Subject && strings.EqualFold(v, d.req.Subject) {
			return fmt.Sprintf("sub value %s differs from %s only in letter case", Quote(v, 50), subjectLabel(wantNS, wantName))
		}
	}
	var allowed []string
	nsDiffers, nameDiffers := false, false
	for _, v := range c.Values {
		ns, name, ok := splitSubject(v)
		if !ok {
			continue
		}
		nsOK, nameOK := partMatches(c.Operator, ns, wantNS), partMatches(c.Operator, name, wantName)
		nsDiffers = nsDiffers || (!nsOK && nameOK)
		nameDiffers = nameDiffers || (nsOK && !nameOK)
		allowed = append(allowed, subjectLabel(ns, name))
	}
	if len(allowed) == 0 {
		return ""
	}
	what := "namespace and name"
	switch {
	case nameDiffers && !nsDiffers:
		what = "ServiceAccount"
	case nsDiffers && !nameDiffers:
		what = "namespace"
	}
	list := strings.Join(allowed[:min(len(allowed), maxListedSubjects)], ", ")
	if len(allowed) > maxListedSubjects {
		list += fmt.Sprintf(" and %d more", len(allowed)-maxListedSubjects)
	}
	return fmt.Sprintf("sub allows %s, wrong %s for %s", list, what, subjectLabel(wantNS, wantName))
}

const serviceAccountPrefix = "system:serviceaccount:"

// subjectLabel renders ns/name, quoted when a part has a space or an invisible character.
func subjectLabel(ns, name string) string {
	label := ns + "/" + name
	if invisibleIn(label) != "" || strings.ContainsAny(label, " \t") {
		return Quote(label, 40)
	}
	return label
}

// invisibleIn names a character a person cannot see in v: a leading or trailing space, or an
// invisible or control character such as U+200B.
func invisibleIn(v string) string {
	switch {
	case v != strings.TrimLeftFunc(v, unicode.IsSpace):
		return "a leading space"
	case v != strings.TrimRightFunc(v, unicode.IsSpace):
		return "a trailing space"
	}
	for _, r := range v {
		if !unicode.IsGraphic(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Sprintf("an invisible character (%U)", r)
		}
	}
	return ""
}

// cleanInvisible drops what invisibleIn finds.
func cleanInvisible(v string) string {
	v = strings.TrimFunc(v, unicode.IsSpace)
	return strings.Map(func(r rune) rune {
		if !unicode.IsGraphic(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, v)
}

// valueMatches reports whether one value of a string operator matches s, as the operator compares.
func valueMatches(operator, value, s string) bool {
	base := strings.TrimPrefix(strings.TrimPrefix(operator, "ForAnyValue:"), "ForAllValues:")
	switch {
	case strings.HasPrefix(base, "StringLike"), strings.HasPrefix(base, "ArnLike"):
		return wildcardMatches(value, []string{s})
	case strings.HasPrefix(base, "StringEqualsIgnoreCase"):
		return strings.EqualFold(value, s)
	}
	return value == s
}

// partMatches compares one part (namespace or name) of a sub value with this ServiceAccount's.
func partMatches(operator, part, want string) bool { return valueMatches(operator, part, want) }

func wildcardMatches(pattern string, actual []string) bool {
	p, err := trustpolicy.Parse(fmt.Appendf(nil, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringLike":{"k":%q}}}}`, pattern))
	if err != nil {
		return false
	}
	return trustpolicy.Evaluate(p, trustpolicy.Request{Action: "a", Context: map[string][]string{"k": actual}}).Decision == trustpolicy.DecisionAllow
}

func quoteValues(vs []string) string {
	q := make([]string, 0, len(vs))
	for _, v := range vs {
		q = append(q, Quote(v, 50))
	}
	return strings.Join(q, " or ")
}

// splitSubject splits system:serviceaccount:<namespace>:<name>.
func splitSubject(sub string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(sub, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	return namespace, name, ok && namespace != "" && name != ""
}

// claimDistance is the Levenshtein distance between two claim names, used to tell a :sud typo from an :aud one.
func claimDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
