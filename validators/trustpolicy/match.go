package trustpolicy

import "strings"

// pattern is a policy value after policy-variable substitution. wild[i] marks a rune that acts as
// a wildcard in *Like operators; runes that came from ${*}, ${?} or a substituted value never do.
type pattern struct {
	r    []rune
	wild []bool
}

// globPattern treats every * and ? in s as a wildcard (actions, Arn* and *Like values).
func globPattern(s string) pattern {
	p := pattern{r: []rune(s)}
	p.wild = make([]bool, len(p.r))
	for i, c := range p.r {
		p.wild[i] = c == '*' || c == '?'
	}
	return p
}

func (p *pattern) add(s string, wildcards bool) {
	for _, c := range s {
		p.r = append(p.r, c)
		p.wild = append(p.wild, wildcards && (c == '*' || c == '?'))
	}
}

func (p pattern) String() string { return string(p.r) }

// equal compares literally: in StringEquals a * is just a character.
func (p pattern) equal(s string, fold bool) bool {
	if fold {
		return strings.EqualFold(string(p.r), s)
	}
	return string(p.r) == s
}

// match is IAM's wildcard match: * is any run of characters (including none and including / and :),
// ? is exactly one character. It runs in O(len(p)*len(s)) at worst, so hostile patterns such as
// "*a*a*a*b" cannot blow up.
func (p pattern) match(s string, fold bool) bool {
	str := []rune(s)
	eq := func(a, b rune) bool {
		if a == b {
			return true
		}
		return fold && strings.EqualFold(string(a), string(b))
	}
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p.r) && p.wild[pi] && p.r[pi] == '*':
			starP, starS = pi, si
			pi++
		case pi < len(p.r) && ((p.wild[pi] && p.r[pi] == '?') || (!p.wild[pi] && eq(p.r[pi], str[si]))):
			pi++
			si++
		case starP >= 0:
			starS++
			pi, si = starP+1, starS
		default:
			return false
		}
	}
	for pi < len(p.r) && p.wild[pi] && p.r[pi] == '*' {
		pi++
	}
	return pi == len(p.r)
}

// matchAction compares an action against a policy Action entry: case-insensitive, with wildcards.
func matchAction(policyAction, action string) bool {
	return globPattern(policyAction).match(action, true)
}

// expand substitutes policy variables (${key}, ${key, 'default'}, ${*}, ${?}, ${$}) in a policy
// value, as IAM does for Version 2012-10-17. A variable whose key is absent (and has no default)
// or has several values makes the value unusable: t is no and key names the variable, so the
// condition does not match, as in IAM
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html). A variable
// whose value is known only at call time makes the value unknown: t is maybe.
func expand(v string, vars bool, rc *reqContext) (p pattern, t truth, key string) {
	if !vars || !strings.Contains(v, "${") {
		return globPattern(v), yes, ""
	}
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			p.add(v, true)
			return p, yes, ""
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			p.add(v, true)
			return p, yes, ""
		}
		p.add(v[:i], true)
		inner := strings.TrimSpace(v[i+2 : i+j])
		v = v[i+j+1:]
		switch inner {
		case "*", "?", "$":
			p.add(inner, false)
			continue
		}
		key, def, hasDef := inner, "", false
		if k, d, found := strings.Cut(inner, ","); found {
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				key, def, hasDef = strings.TrimSpace(k), d[1:len(d)-1], true
			}
		}
		st := rc.lookup(key)
		switch {
		case st.known && len(st.values) == 1:
			p.add(st.values[0], false)
		case st.unknown != nil:
			return pattern{}, maybe, key
		case !st.certainlyPresent() && hasDef:
			p.add(def, false)
		default:
			return pattern{}, no, key
		}
	}
}
