package validators

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// openConditions reports, for an undetermined decision, each undetermined condition of the
// statements the decision hangs on (IRSA039, a warning, never an error): the key and what its
// value depends on, or the comparison AWS does not document. It never suggests replacing the
// condition with a :sub condition: the condition may well be what the user wants.
func (d diagnoser) openConditions() []Finding {
	var out []Finding
	for _, ref := range d.res.Deciding {
		sr := d.res.Statements[ref.Index]
		for _, c := range sr.Conditions {
			if !c.Undetermined {
				continue
			}
			if len(out) == maxConditionFindings {
				return out
			}
			out = append(out, d.openCondition(sr, c))
		}
	}
	return out
}

func (d diagnoser) openCondition(sr trustpolicy.StatementResult, c trustpolicy.ConditionResult) Finding {
	// Statement[i] without the Sid: the messages are long enough and the index names the statement.
	name := fmt.Sprintf("Statement[%d]", sr.Index)
	if c.Undocumented {
		msg, fix := d.undocumented(c)
		return NewFinding(CheckTrustUndetermined, d.obj, name+": "+msg).WithFix(fix)
	}
	key := c.Key
	if len(c.DependsOn) > 0 {
		key = c.DependsOn[0]
	}
	u, _ := d.httpReq.UnknownOf(key)
	dep := u.DependsOn
	if dep == "" {
		dep = "the call"
	}
	msg := fmt.Sprintf("%s %s; depends on %s", name, d.conditionPhrase(sr.Effect, c), dep)
	if !strings.EqualFold(key, c.Key) {
		msg = fmt.Sprintf("%s: %s on %s uses ${%s}; depends on %s", name, c.Operator, d.keyLabel(c.Key), key, dep)
	}
	return NewFinding(CheckTrustUndetermined, d.obj, msg).WithFix(openFix(key, dep))
}

// conditionPhrase says what a condition requires, from the statement's side: "allows only from
// 10.0.0.0/8", "denies unless aws:RequestedRegion is "us-west-2"".
func (d diagnoser) conditionPhrase(effect trustpolicy.Effect, c trustpolicy.ConditionResult) string {
	base := strings.TrimSuffix(c.Operator, "IfExists")
	k := d.keyLabel(c.Key)
	ips, vals := listValues(c.Values, false, " or "), listValues(c.Values, true, " or ")
	phrases := map[string][2]string{ // operator -> {in an Allow, in a Deny}
		"IpAddress":                 {"allows only from " + ips, "denies calls from " + ips},
		"NotIpAddress":              {"allows only from outside " + ips, "denies calls from outside " + ips},
		"StringEquals":              {"allows only if " + k + " is " + vals, "denies if " + k + " is " + vals},
		"StringEqualsIgnoreCase":    {"allows only if " + k + " is " + vals, "denies if " + k + " is " + vals},
		"ArnEquals":                 {"allows only if " + k + " is " + vals, "denies if " + k + " is " + vals},
		"StringNotEquals":           {"allows only if " + k + " is not " + vals, "denies unless " + k + " is " + vals},
		"StringNotEqualsIgnoreCase": {"allows only if " + k + " is not " + vals, "denies unless " + k + " is " + vals},
		"ArnNotEquals":              {"allows only if " + k + " is not " + vals, "denies unless " + k + " is " + vals},
		"StringLike":                {"allows only if " + k + " matches " + vals, "denies if " + k + " matches " + vals},
		"ArnLike":                   {"allows only if " + k + " matches " + vals, "denies if " + k + " matches " + vals},
		"StringNotLike":             {"allows only if " + k + " does not match " + vals, "denies unless " + k + " matches " + vals},
		"ArnNotLike":                {"allows only if " + k + " does not match " + vals, "denies unless " + k + " matches " + vals},
		"Bool":                      {"allows only if " + k + " is " + ips, "denies if " + k + " is " + ips},
		"DateLessThan":              {"allows only before " + ips, "denies before " + ips},
		"DateLessThanEquals":        {"allows only until " + ips, "denies until " + ips},
		"DateGreaterThan":           {"allows only after " + ips, "denies after " + ips},
		"DateGreaterThanEquals":     {"allows only from " + ips, "denies from " + ips},
	}
	if p, ok := phrases[base]; ok && (!strings.HasPrefix(base, "Date") || isClockKey(c.Key)) {
		if effect == trustpolicy.Allow {
			return p[0]
		}
		return p[1]
	}
	if effect == trustpolicy.Allow {
		return fmt.Sprintf("needs %s %s %s", k, c.Operator, vals)
	}
	return fmt.Sprintf("denies when %s %s %s", k, c.Operator, vals)
}

// openFix says why a call-time key is not known and how to make it known, or to try a value.
func openFix(key, dependsOn string) string {
	region := `Set AWS_REGION and AWS_STS_REGIONAL_ENDPOINTS=regional on the pod (ServiceAccount annotation eks.amazonaws.com/sts-regional-endpoints: "true"); try it with irsa-guard trust explain --region REGION --sts-regional-endpoints regional.`
	switch {
	case strings.EqualFold(key, "aws:RequestedRegion") && dependsOn == dependsRegionUnset:
		return "AWS_REGION is not set on the pod, so the Region its SDK calls STS in is unknown. " + region
	case strings.EqualFold(key, "aws:RequestedRegion") && dependsOn == dependsGlobalSTS:
		return "With AWS_STS_REGIONAL_ENDPOINTS=legacy the SDK calls the global STS endpoint, which AWS serves in the workload's Region without documenting aws:RequestedRegion for it. " + region
	case strings.EqualFold(key, "aws:RequestedRegion"):
		return "AWS_STS_REGIONAL_ENDPOINTS is not set: SDKs differ in whether they call the regional or the global STS endpoint. " + region
	case strings.EqualFold(key, "sts:RoleSessionName"):
		return "AWS_ROLE_SESSION_NAME is not set, so the pod's SDK picks the session name. Set it on the pod; try it with irsa-guard trust explain --session-name NAME."
	case isClockKey(key):
		return "irsa-guard was not given the time of the check. Try one with irsa-guard trust explain --at 2006-01-02T15:04:05Z."
	}
	return fmt.Sprintf("Nothing to change if %s will fit when the pod calls STS: irsa-guard cannot see it before. Try a value with irsa-guard trust explain --context %s=VALUE.", key, key)
}

// undocumented explains a condition whose result AWS does not document: an operator whose family
// does not fit the key's type (named, with the operator to use), a value the operator cannot
// read, a set operator with IfExists on a missing key.
func (d diagnoser) undocumented(c trustpolicy.ConditionResult) (msg, fix string) {
	label := d.keyLabel(c.Key)
	fam, kt := operatorType(c.Operator), trustpolicy.KeyType(0)
	if t, ok := d.httpReq.TypeOf(c.Key); ok {
		kt = t
	}
	switch {
	case kt != 0 && fam != 0 && kt&fam == 0 && fam == trustpolicy.TypeARN:
		like := strings.Replace(strings.Replace(c.Operator, "ArnEquals", "StringEquals", 1), "ArnLike", "StringLike", 1)
		like = strings.Replace(strings.Replace(like, "ArnNotEquals", "StringNotEquals", 1), "ArnNotLike", "StringNotLike", 1)
		return fmt.Sprintf("%s on %s, which is not an ARN; AWS does not document the result", c.Operator, label),
			fmt.Sprintf("Compare %s with a string operator: %q: {%q: %s}.", label, like, c.Key, jsonValues(c.Values))
	case kt != 0 && fam != 0 && kt&fam == 0:
		return fmt.Sprintf("%s on %s, a %s key; AWS does not document the result", c.Operator, label, kt),
			fmt.Sprintf("Use a %s operator for %s, e.g. %s.", kt, label, exampleOperator(kt))
	case strings.Contains(c.Operator, ":") && strings.HasSuffix(c.Operator, "IfExists"):
		return fmt.Sprintf("%s on absent %s is undocumented", c.Operator, label),
			"Drop IfExists: a set operator already says what a missing key means (ForAnyValue false, ForAllValues true)."
	}
	reason := strings.TrimSuffix(c.Reason, "; AWS does not document what IAM does with it")
	if i := strings.LastIndex(reason, "; "); i >= 0 && strings.HasPrefix(reason, `"`) {
		reason = reason[i+2:] // drop the "actual may or may not match values" part
	}
	reason = strings.TrimPrefix(reason, "policy value ")
	return fmt.Sprintf("%s on %s: %s; result undocumented", c.Operator, label, reason),
		"Write the value in the operator's format (IAM Access Analyzer flags this as a type mismatch): numbers for Numeric*, ISO 8601 dates for Date*, true or false for Bool, CIDR ranges for IpAddress."
}

// operatorType is the key type an operator's family compares (0 for Null and unknown operators).
func operatorType(op string) trustpolicy.KeyType {
	base := strings.TrimPrefix(strings.TrimPrefix(op, "ForAnyValue:"), "ForAllValues:")
	for _, p := range []struct {
		prefix string
		t      trustpolicy.KeyType
	}{
		{"String", trustpolicy.TypeString}, {"Numeric", trustpolicy.TypeNumeric}, {"Date", trustpolicy.TypeDate},
		{"Bool", trustpolicy.TypeBool}, {"Binary", trustpolicy.TypeBinary}, {"IpAddress", trustpolicy.TypeIP},
		{"NotIpAddress", trustpolicy.TypeIP}, {"Arn", trustpolicy.TypeARN},
	} {
		if strings.HasPrefix(base, p.prefix) {
			return p.t
		}
	}
	return 0
}

func exampleOperator(kt trustpolicy.KeyType) string {
	switch {
	case kt&trustpolicy.TypeString != 0:
		return "StringEquals or StringLike"
	case kt&trustpolicy.TypeDate != 0:
		return "DateLessThan"
	case kt&trustpolicy.TypeNumeric != 0:
		return "NumericLessThan"
	case kt&trustpolicy.TypeBool != 0:
		return "Bool"
	case kt&trustpolicy.TypeIP != 0:
		return "IpAddress"
	case kt&trustpolicy.TypeARN != 0:
		return "ArnLike"
	}
	return "BinaryEquals"
}

// keyLabel shortens this cluster's claim keys to ":sub" and ":aud"; other keys stay whole.
func (d diagnoser) keyLabel(key string) string {
	host := providerHostPath(d.req.ProviderARN)
	if len(key) > len(host) && strings.EqualFold(key[:len(host)], host) && key[len(host)] == ':' {
		return key[len(host):]
	}
	if invisibleIn(key) != "" || utf8.RuneCountInString(key) > 60 {
		return Quote(key, 60)
	}
	return key
}

// listValues renders up to two policy values, quoted or not, joined by sep, and how many more.
func listValues(vs []string, quote bool, sep string) string {
	shown := make([]string, 0, 2)
	for _, v := range vs[:min(len(vs), 2)] {
		if quote || invisibleIn(v) != "" || strings.ContainsAny(v, " \"") {
			v = Quote(v, 40)
		}
		shown = append(shown, v)
	}
	s := strings.Join(shown, sep)
	if len(vs) > 2 {
		s += fmt.Sprintf("%s%d more", sep, len(vs)-2)
	}
	if s == "" {
		s = "nothing"
	}
	return s
}

// jsonValues renders policy values as a JSON string or list.
func jsonValues(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}
