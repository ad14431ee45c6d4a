package trustpolicy

import (
	"slices"
	"strings"
	"time"
)

// MaxInstants bounds Instants so that a hostile policy cannot make a caller re-evaluate it
// thousands of times. A list this long may have left later instants out.
const MaxInstants = 32

// Instants lists the instants a Date or Numeric condition on one of keys (clock keys such as
// aws:CurrentTime and aws:EpochTime) compares the request with, sorted and without repeats, at
// most 32 (the earliest). Between two consecutive instants every such condition keeps its
// result, so a decision can change only at an instant or just after it (…Equals operators):
// evaluating at each instant and one second later finds every change. Values that are not dates
// or numbers are skipped: their conditions are undetermined anyway.
func Instants(p *Policy, keys ...string) []time.Time {
	var out []time.Time
	for _, s := range p.Statements {
		for _, c := range s.Conditions {
			if !slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, c.Key) }) {
				continue
			}
			op, err := parseOperator(c.Operator)
			if err != nil || (op.family != "date" && op.family != "numeric") {
				continue
			}
			for _, v := range c.Values {
				if t, ok := instant(op.family, v); ok {
					out = append(out, t)
				}
				if len(out) > 4*MaxInstants {
					break
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	out = slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
	if len(out) > MaxInstants {
		out = out[:MaxInstants]
	}
	return out
}

func instant(family, v string) (time.Time, bool) {
	if family == "date" {
		t, err := parseDate(v)
		return t.UTC(), err == nil
	}
	f, err := parseNumber(v)
	if err != nil || f < -1e15 || f > 1e15 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
}
