package trustpolicy

import (
	"fmt"
	"strconv"
	"strings"
)

// ConditionResult explains one (operator, key) condition of a statement.
type ConditionResult struct {
	Operator string   `json:"operator"`
	Key      string   `json:"key"`
	Values   []string `json:"values"`           // the policy's values
	Actual   []string `json:"actual,omitempty"` // the request's known values for Key
	Present  bool     `json:"present"`          // the request certainly has Key (known or not)
	Matched  bool     `json:"matched"`          // the condition certainly holds
	// Undetermined is set when the condition may hold or not: it depends on the call-time value
	// of the keys in DependsOn, or (Undocumented) on semantics AWS does not document.
	Undetermined bool     `json:"undetermined,omitempty"`
	DependsOn    []string `json:"dependsOn,omitempty"`
	Undocumented bool     `json:"undocumented,omitempty"`
	// Unsupported is set for an operator IAM does not know (the condition then never matches).
	Unsupported bool   `json:"unsupported,omitempty"`
	Reason      string `json:"reason"`
}

func (c ConditionResult) truth() truth {
	switch {
	case c.Matched:
		return yes
	case c.Undetermined:
		return maybe
	}
	return no
}

// truth is Kleene's three-valued logic: maybe stands for "true or false, not known yet".
type truth uint8

const (
	no truth = iota
	yes
	maybe
)

func (t truth) not() truth {
	switch t {
	case yes:
		return no
	case no:
		return yes
	}
	return maybe
}

func (t truth) and(u truth) truth {
	switch {
	case t == no || u == no:
		return no
	case t == yes && u == yes:
		return yes
	}
	return maybe
}

func (t truth) or(u truth) truth {
	switch {
	case t == yes || u == yes:
		return yes
	case t == no && u == no:
		return no
	}
	return maybe
}

func truthOf(b bool) truth {
	if b {
		return yes
	}
	return no
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

// verdict is a condition's truth with the reason and the keys it depends on.
type verdict struct {
	t            truth
	reason       string
	dependsOn    []string
	undocumented bool
}

// evalCondition applies IAM's rules for one condition: keys and operators AND, values OR, the
// missing-key rules per operator kind, and ForAnyValue/ForAllValues over multi-valued keys; in
// three-valued logic over keys known only at call time.
func evalCondition(c Condition, vars bool, rc *reqContext) ConditionResult {
	res := ConditionResult{Operator: c.Operator, Key: c.Key, Values: c.Values}
	st := rc.lookup(c.Key)
	res.Present, res.Actual = st.certainlyPresent(), st.values
	op, err := parseOperator(c.Operator)
	if err != nil {
		res.Unsupported, res.Reason = true, err.Error()+"; the condition never matches"
		return res
	}
	var v verdict
	switch {
	case op.family == "null":
		v = evalNull(c, st)
	case st.known && len(st.values) > 0:
		v = evalPresent(op, c, st.values, vars, rc)
	case st.unknown == nil: // absent
		v = evalAbsent(op)
	default:
		v = evalPresent(op, c, nil, vars, rc)
		if v.t == maybe && !v.undocumented {
			v.dependsOn = append([]string{c.Key}, v.dependsOn...)
			v.reason = "value known only at call time: depends on " + st.unknown.DependsOn
		}
		if st.unknown.MaybeAbsent {
			a := evalAbsent(op)
			switch {
			case a.t == v.t && a.t != maybe:
				v.reason = fmt.Sprintf("%s whether or not the key is present (it depends on %s)", map[truth]string{yes: "true", no: "false"}[a.t], st.unknown.DependsOn)
			case a.undocumented:
				v = verdict{t: maybe, reason: a.reason, undocumented: true}
			default:
				v.t = maybe
				v.dependsOn = append([]string{c.Key}, v.dependsOn...)
				if !v.undocumented {
					v.reason = fmt.Sprintf("the key may be absent, or present with a value known only at call time: depends on %s", st.unknown.DependsOn)
				}
			}
		}
	}
	res.Matched, res.Undetermined, res.Undocumented, res.Reason = v.t == yes, v.t == maybe, v.undocumented && v.t == maybe, v.reason
	if v.t == maybe {
		res.DependsOn = uniqueKeys(v.dependsOn)
	}
	return res
}

// evalNull is the Null operator: true tests that the key is absent, false that it is present.
func evalNull(c Condition, st keyState) verdict {
	present := truthOf(st.certainlyPresent())
	if st.unknown != nil && st.unknown.MaybeAbsent {
		present = maybe
	}
	t, bad := no, ""
	for _, v := range c.Values {
		switch {
		case strings.EqualFold(v, "true"):
			t = t.or(present.not())
		case strings.EqualFold(v, "false"):
			t = t.or(present)
		default:
			bad = v
		}
	}
	what := map[truth]string{yes: "present", no: "absent", maybe: "present or absent, known only at call time"}[present]
	if bad != "" && t != yes {
		return verdict{t: maybe, undocumented: true,
			reason: fmt.Sprintf("Null takes true or false, not %q; AWS does not document what IAM does with it", bad)}
	}
	v := verdict{t: t, reason: fmt.Sprintf("key is %s; Null wants %s", what, strings.Join(c.Values, " or "))}
	if t == maybe {
		v.dependsOn = []string{c.Key}
	}
	return v
}

// evalAbsent applies the documented missing-key rules
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
// positive operators are false, negated operators and ...IfExists true; ForAnyValue is false and
// ForAllValues true on a missing key
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
// A set operator combined with IfExists is documented piecewise only: undetermined.
func evalAbsent(op operator) verdict {
	switch {
	case op.ifExists && (op.forAny || op.forAll):
		set := "ForAnyValue"
		if op.forAll {
			set = "ForAllValues"
		}
		return verdict{t: maybe, undocumented: true,
			reason: "key is absent: AWS documents " + set + ": and ...IfExists on a missing key separately, not combined"}
	case op.ifExists:
		return verdict{t: yes, reason: "key is absent: ...IfExists is true on a missing key"}
	case op.forAny:
		return verdict{t: no, reason: "key is absent: ForAnyValue is false on a missing key"}
	case op.forAll:
		return verdict{t: yes, reason: "key is absent: ForAllValues is true on a missing key"}
	case op.negated:
		return verdict{t: yes, reason: "key is absent: negated operators are true on a missing key"}
	}
	return verdict{t: no, reason: "key is absent from the request"}
}

// evalPresent compares a present key's values (nil when known only at call time) with the
// policy's values: values OR; the negation; then every request value (ForAllValues and plain
// negated operators) or any request value.
func evalPresent(op operator, c Condition, actual []string, vars bool, rc *reqContext) verdict {
	if kt, typed := rc.typeOf(c.Key); typed && kt&familyType[op.family] == 0 {
		return verdict{t: maybe, undocumented: true,
			reason: fmt.Sprintf("%s compares %s values but the key is %s; AWS does not document the result", op.base, familyName(op.family), kt)}
	}
	var deps []string
	var problem string
	undocumented := false
	perValue := func(v *string) truth {
		t := no
		for _, pv := range c.Values {
			cmp := compare(op, pv, v, vars, rc)
			if cmp.t == maybe {
				deps = append(deps, cmp.dependsOn...)
				undocumented = undocumented || cmp.undocumented
			}
			if cmp.reason != "" && problem == "" {
				problem = cmp.reason
			}
			t = t.or(cmp.t)
		}
		if op.negated {
			return t.not()
		}
		return t
	}
	all := op.forAll || (op.negated && !op.forAny)
	var t truth
	if actual == nil {
		t = perValue(nil)
	} else {
		t = truthOf(all)
		for i := range actual {
			if all {
				t = t.and(perValue(&actual[i]))
			} else {
				t = t.or(perValue(&actual[i]))
			}
		}
	}
	v := verdict{t: t, dependsOn: deps, undocumented: undocumented && t == maybe}
	if actual != nil {
		v.reason = fmt.Sprintf("%s %s %s", quoteList(actual), matchWord(t, op.negated), quoteList(c.Values))
	}
	if problem != "" {
		v.reason = strings.TrimPrefix(v.reason+"; "+problem, "; ")
	}
	return v
}

func familyName(f string) string {
	return map[string]string{"string": "String", "numeric": "Numeric", "date": "Date", "bool": "Bool",
		"binary": "Binary", "ip": "IP address", "arn": "ARN"}[f]
}

func matchWord(t truth, negated bool) string {
	switch {
	case t == maybe:
		return "may or may not match"
	case (t == yes) != negated:
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
