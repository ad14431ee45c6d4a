package trustpolicy

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// compare applies one base operator (ignoring negation) to one policy value and one request
// value; v is nil when the request value is known only at call time. A policy or request value
// that cannot be read as the operator's type is undetermined: IAM accepts such a policy when it is
// written (IAM Access Analyzer only warns, "Type mismatch number", "Type mismatch date", "Type
// mismatch Boolean":
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html)
// and AWS does not document how it evaluates it.
func compare(op operator, pv string, v *string, vars bool, rc *reqContext) verdict {
	switch op.family {
	case "string", "arn":
		p, t, key := expand(pv, vars, rc)
		switch {
		case t == no:
			return verdict{t: no, reason: fmt.Sprintf("policy variable ${%s} has no single value in the request", key)}
		case t == maybe:
			return verdict{t: maybe, dependsOn: []string{key}, reason: fmt.Sprintf("policy variable ${%s} is known only at call time", key)}
		case v == nil:
			return verdict{t: maybe}
		case op.family == "arn":
			return verdict{t: truthOf(matchARN(p, *v))}
		}
		switch op.base {
		case "StringLike", "StringNotLike":
			return verdict{t: truthOf(p.match(*v, false))}
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
			return verdict{t: truthOf(p.equal(*v, true))}
		default:
			return verdict{t: truthOf(p.equal(*v, false))}
		}
	case "numeric":
		return compareParsed(pv, v, "a number", parseNumber, func(got, want float64) bool { return compareOrdered(op.base, got, want) })
	case "date":
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
		base := strings.Replace(op.base, "Date", "Numeric", 1)
		return compareParsed(pv, v, "a date", parseDate, func(got, want time.Time) bool {
			return compareOrdered(base, float64(got.Sub(want)), 0)
		})
	case "bool":
		// Bool takes policy variables (…#Conditions_Boolean).
		p, t, key := expand(pv, vars, rc)
		switch t {
		case no:
			return verdict{t: no, reason: fmt.Sprintf("policy variable ${%s} has no single value in the request", key)}
		case maybe:
			return verdict{t: maybe, dependsOn: []string{key}, reason: fmt.Sprintf("policy variable ${%s} is known only at call time", key)}
		}
		return compareParsed(p.String(), v, "true or false", parseBool, func(got, want bool) bool { return got == want })
	case "binary":
		if v == nil {
			return verdict{t: maybe}
		}
		return verdict{t: truthOf(pv == *v)}
	case "ip":
		// "The value must be in the standard CIDR format … If you specify an IP address without the
		// associated routing prefix, IAM uses the default prefix value of /32." (…#Conditions_IPAddress)
		return compareParsed(pv, v, "an IP range", parsePrefix, func(got, want netip.Prefix) bool {
			return want.Contains(got.Addr())
		})
	}
	return verdict{t: no}
}

// compareParsed reads the policy value and the request value as T and compares them.
func compareParsed[T any](pv string, v *string, what string, parse func(string) (T, error), cmp func(got, want T) bool) verdict {
	want, err := parse(pv)
	if err != nil {
		return verdict{t: maybe, undocumented: true,
			reason: fmt.Sprintf("policy value %q is not %s; AWS does not document what IAM does with it", pv, what)}
	}
	if v == nil {
		return verdict{t: maybe}
	}
	got, err := parse(*v)
	if err != nil {
		return verdict{t: maybe, undocumented: true, reason: fmt.Sprintf("request value %q is not %s", *v, what)}
	}
	return verdict{t: truthOf(cmp(got, want))}
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, fmt.Errorf("not a finite number")
	}
	return f, err
}

// dateLayouts are the W3C profile of ISO 8601 (https://www.w3.org/TR/NOTE-datetime) that IAM's
// date operators take, most precise first.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02", "2006-01", "2006"}

// parseDate reads a W3C ISO 8601 date or epoch seconds.
func parseDate(s string) (time.Time, error) {
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) > 4 {
		return time.Unix(secs, 0).UTC(), nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date")
}

func parseBool(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, nil
	case strings.EqualFold(s, "false"):
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

func parsePrefix(s string) (netip.Prefix, error) {
	if prefix, err := netip.ParsePrefix(s); err == nil {
		return prefix, nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not an IP address")
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

func compareOrdered(base string, got, want float64) bool {
	switch base {
	case "NumericEquals", "NumericNotEquals": // negation applied by the caller
		return got == want
	case "NumericLessThan":
		return got < want
	case "NumericLessThanEquals":
		return got <= want
	case "NumericGreaterThan":
		return got > want
	case "NumericGreaterThanEquals":
		return got >= want
	}
	return false
}

// matchARN compares ARNs component by component (IAM's Arn* operators): each of the six
// colon-separated parts is matched on its own with * and ? wildcards, case-sensitively.
func matchARN(p pattern, actual string) bool {
	pp := splitPattern(p, 6)
	ap := strings.SplitN(actual, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !pp[i].match(ap[i], false) {
			return false
		}
	}
	return true
}

func splitPattern(p pattern, n int) []pattern {
	var out []pattern
	cur := pattern{}
	for i, c := range p.r {
		if c == ':' && len(out) < n-1 {
			out = append(out, cur)
			cur = pattern{}
			continue
		}
		cur.r = append(cur.r, c)
		cur.wild = append(cur.wild, p.wild[i])
	}
	return append(out, cur)
}
