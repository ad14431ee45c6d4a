package trustpolicy

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ConditionResult explains one (operator, key) condition of a statement.
type ConditionResult struct {
	Operator string   `json:"operator"`
	Key      string   `json:"key"`
	Values   []string `json:"values"`           // the policy's values
	Actual   []string `json:"actual,omitempty"` // the request's values for Key
	Present  bool     `json:"present"`          // the request has Key with at least one value
	Matched  bool     `json:"matched"`
	// Unsupported is set for an operator IAM does not know (the condition then never matches).
	Unsupported bool   `json:"unsupported,omitempty"`
	Reason      string `json:"reason"`
}

// operator is a condition operator split into its parts.
type operator struct {
	base     string // e.g. StringLike
	forAny   bool   // ForAnyValue:
	forAll   bool   // ForAllValues:
	ifExists bool   // ...IfExists
	negated  bool
	family   string // string, numeric, date, bool, binary, ip, arn, null
}

// operators maps each base operator IAM knows to its family and whether it is negated. It is a
// read-only table.
var operators = map[string]struct {
	family  string
	negated bool
}{
	"StringEquals": {"string", false}, "StringNotEquals": {"string", true},
	"StringEqualsIgnoreCase": {"string", false}, "StringNotEqualsIgnoreCase": {"string", true},
	"StringLike": {"string", false}, "StringNotLike": {"string", true},
	"NumericEquals": {"numeric", false}, "NumericNotEquals": {"numeric", true},
	"NumericLessThan": {"numeric", false}, "NumericLessThanEquals": {"numeric", false},
	"NumericGreaterThan": {"numeric", false}, "NumericGreaterThanEquals": {"numeric", false},
	"DateEquals": {"date", false}, "DateNotEquals": {"date", true},
	"DateLessThan": {"date", false}, "DateLessThanEquals": {"date", false},
	"DateGreaterThan": {"date", false}, "DateGreaterThanEquals": {"date", false},
	"Bool": {"bool", false}, "BinaryEquals": {"binary", false},
	"IpAddress": {"ip", false}, "NotIpAddress": {"ip", true},
	"ArnEquals": {"arn", false}, "ArnNotEquals": {"arn", true},
	"ArnLike": {"arn", false}, "ArnNotLike": {"arn", true},
	"Null": {"null", false},
}

// parseOperator splits "ForAnyValue:StringLikeIfExists". Operator names are case-sensitive in IAM;
// the error suggests the right spelling when only the case differs.
func parseOperator(op string) (operator, error) {
	o := operator{}
	rest := op
	if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		o.forAny, rest = true, r
	} else if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		o.forAll, rest = true, r
	}
	if r, ok := strings.CutSuffix(rest, "IfExists"); ok && r != "" {
		o.ifExists, rest = true, r
	}
	spec, known := operators[rest]
	if !known {
		for name := range operators {
			if strings.EqualFold(name, rest) {
				return o, fmt.Errorf("unknown condition operator %q (operators are case-sensitive: %s)", op, name)
			}
		}
		return o, fmt.Errorf("unknown condition operator %q", op)
	}
	if spec.family == "null" && (o.ifExists || o.forAny || o.forAll) {
		return o, fmt.Errorf("condition operator %q is not valid: Null takes no IfExists or set qualifier", op)
	}
	o.base, o.family, o.negated = rest, spec.family, spec.negated
	return o, nil
}

// evalCondition applies IAM's rules for one condition: keys and operators AND, values OR, the
// missing-key rules per operator kind, and ForAnyValue/ForAllValues over multi-valued keys.
func evalCondition(c Condition, vars bool, lookup lookupFunc) ConditionResult {
	res := ConditionResult{Operator: c.Operator, Key: c.Key, Values: c.Values}
	actual, ok := lookup(c.Key)
	res.Present = ok && len(actual) > 0
	res.Actual = actual
	op, err := parseOperator(c.Operator)
	if err != nil {
		res.Unsupported, res.Reason = true, err.Error()+"; the condition never matches"
		return res
	}
	if op.family == "null" {
		for _, v := range c.Values {
			if want, err := strconv.ParseBool(v); err == nil && want == !res.Present {
				res.Matched = true
			}
		}
		res.Reason = fmt.Sprintf("key is %s; Null wants %s", presence(res.Present), strings.Join(c.Values, " or "))
		return res
	}
	if !res.Present {
		switch {
		case op.ifExists:
			res.Matched, res.Reason = true, "key is absent: ...IfExists is true on a missing key"
		case op.forAny:
			res.Reason = "key is absent: ForAnyValue is false on a missing key"
		case op.forAll:
			res.Matched, res.Reason = true, "key is absent: ForAllValues is true on a missing key"
		case op.negated:
			res.Matched, res.Reason = true, "key is absent: negated operators are true on a missing key"
		default:
			res.Reason = "key is absent from the request"
		}
		return res
	}
	var problems []string
	perValue := func(v string) bool {
		any := false
		for _, pv := range c.Values {
			m, problem := compare(op, pv, v, vars, lookup)
			if problem != "" {
				problems = append(problems, problem)
			}
			any = any || m
		}
		if op.negated {
			return !any
		}
		return any
	}
	switch {
	case op.forAll || (op.negated && !op.forAny):
		res.Matched = true
		for _, v := range actual {
			res.Matched = perValue(v) && res.Matched
		}
	default:
		for _, v := range actual {
			res.Matched = perValue(v) || res.Matched
		}
	}
	res.Reason = fmt.Sprintf("%s %s %s", quoteList(actual), verdict(res.Matched, op.negated), quoteList(c.Values))
	if len(problems) > 0 {
		res.Reason += "; " + problems[0]
	}
	return res
}

func presence(present bool) string {
	if present {
		return "present"
	}
	return "absent"
}

func verdict(matched, negated bool) string {
	switch {
	case matched && !negated, !matched && negated:
		return "matches"
	default:
		return "does not match"
	}
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// compare applies one base operator (ignoring negation) to one policy value and one request
// value. problem explains a policy value that can never match (unresolved variable, bad number).
func compare(op operator, policyValue, actual string, vars bool, lookup lookupFunc) (bool, string) {
	switch op.family {
	case "string", "arn":
		p, ok, missing := expand(policyValue, vars, lookup)
		if !ok {
			return false, fmt.Sprintf("policy variable ${%s} has no single value in the request", missing)
		}
		if op.family == "arn" {
			return matchARN(p, actual), ""
		}
		switch op.base {
		case "StringLike", "StringNotLike":
			return p.match(actual, false), ""
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
			return p.equal(actual, true), ""
		default:
			return p.equal(actual, false), ""
		}
	case "numeric":
		want, err1 := parseNumber(policyValue)
		got, err2 := parseNumber(actual)
		if err1 != nil {
			return false, fmt.Sprintf("policy value %q is not a number", policyValue)
		}
		if err2 != nil {
			return false, ""
		}
		return compareOrdered(op.base, got, want), ""
	case "date":
		want, err1 := parseDate(policyValue)
		got, err2 := parseDate(actual)
		if err1 != nil {
			return false, fmt.Sprintf("policy value %q is not a date (ISO 8601 or epoch seconds)", policyValue)
		}
		if err2 != nil {
			return false, ""
		}
		return compareOrdered(strings.Replace(op.base, "Date", "Numeric", 1), float64(got.UnixNano()), float64(want.UnixNano())), ""
	case "bool":
		want, err1 := strconv.ParseBool(policyValue)
		got, err2 := strconv.ParseBool(actual)
		if err1 != nil {
			return false, fmt.Sprintf("policy value %q is not true or false", policyValue)
		}
		return err2 == nil && want == got, ""
	case "binary":
		return policyValue == actual, ""
	case "ip":
		prefix, err := netip.ParsePrefix(policyValue)
		if err != nil {
			addr, aerr := netip.ParseAddr(policyValue)
			if aerr != nil {
				return false, fmt.Sprintf("policy value %q is not an IP address or CIDR", policyValue)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		addr, err := netip.ParseAddr(actual)
		return err == nil && prefix.Contains(addr), ""
	}
	return false, ""
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return 0, fmt.Errorf("not a finite number")
	}
	return f, err
}

func parseDate(s string) (time.Time, error) {
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date")
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
