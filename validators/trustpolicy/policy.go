// Package trustpolicy parses IAM policy documents and evaluates them for one request with IAM's
// semantics. It knows nothing about IRSA: callers build the request (action, principal, context
// keys) and interpret the result.
package trustpolicy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Effect is a statement's Effect: "Allow" or "Deny" (IAM is case-sensitive here).
type Effect string

// The two effects IAM accepts.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Policy is a parsed IAM policy document.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
	// Notes lists what IAM treats differently from how the policy reads: elements IAM rejects in a
	// role trust policy when it is written (NotPrincipal, Resource), and text IAM takes literally
	// (a wildcard inside a principal, a policy variable under an old Version). They do not stop
	// evaluation; they are in document order.
	Notes []Note
}

// Statement is one entry of the policy's Statement element.
type Statement struct {
	Index        int // position in the Statement list (0 when Statement is a single object)
	Sid          string
	Effect       Effect
	Principal    *Principal // nil when absent
	NotPrincipal *Principal // recorded; not supported in role trust policies
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Conditions   []Condition // in document order
}

// Name renders the statement as people refer to it: Statement[1] ("Sid").
func (s Statement) Name() string {
	if s.Sid != "" {
		return fmt.Sprintf("Statement[%d] (%q)", s.Index, s.Sid)
	}
	return fmt.Sprintf("Statement[%d]", s.Index)
}

// Principal is a Principal or NotPrincipal element: "*" or a map of principal type (Federated,
// AWS, Service, CanonicalUser) to one or more values.
type Principal struct {
	Any    bool                // "Principal": "*"
	Values map[string][]string // type -> values, e.g. "Federated" -> [arn:aws:iam::...:oidc-provider/...]
}

// Condition is one (operator, key) pair of a Condition block with its values.
type Condition struct {
	Operator string   // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string   // as written
	Values   []string // booleans and numbers in their JSON text form
	Path     string   // e.g. Statement[0].Condition.StringEquals
}

// ParseError says where a policy is broken: byte offset, line:column and the element path.
type ParseError struct {
	Offset int64
	Path   string // e.g. Statement[1].Condition.StringEquals; "" for JSON syntax errors
	Msg    string
	data   []byte
}

func (e *ParseError) Error() string {
	line, col := lineColumn(e.data, e.Offset)
	if e.Path == "" {
		return fmt.Sprintf("line %d, column %d: %s", line, col, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d: %s: %s", line, col, e.Path, e.Msg)
}

// Line and Column of the error, 1-based.
func (e *ParseError) Position() (line, column int) { return lineColumn(e.data, e.Offset) }

// Parse reads an IAM policy document. It accepts what IAM's policy grammar accepts and reports
// the first problem with its position and path, e.g.
// `line 9, column 11: Statement[0].Condition.StringEquals: value must be a string, number, boolean or list of them`.
func Parse(data []byte) (*Policy, error) {
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	p := &parser{data: data}
	return p.policy(root)
}

type parser struct {
	data  []byte
	notes []Note
}

func (p *parser) errorf(n *node, path, format string, args ...any) error {
	return &ParseError{Offset: n.offset, Path: path, Msg: fmt.Sprintf(format, args...), data: p.data}
}

func (p *parser) policy(root *node) (*Policy, error) {
	if root.kind != kindObject {
		return nil, p.errorf(root, "", "a policy must be a JSON object with a Statement, got %s", root.kind)
	}
	if err := p.noDuplicates(root, ""); err != nil {
		return nil, err
	}
	pol := &Policy{}
	var stmts, version *node
	for _, m := range root.members {
		switch m.key {
		case "Version":
			if m.value.kind != kindString {
				return nil, p.errorf(m.value, "Version", "must be a string such as \"2012-10-17\", got %s", m.value.kind)
			}
			pol.Version, version = m.value.str, m.value
		case "Id":
			if m.value.kind != kindString {
				return nil, p.errorf(m.value, "Id", "must be a string, got %s", m.value.kind)
			}
			pol.ID = m.value.str
		case "Statement":
			stmts = m.value
		default:
			return nil, p.errorf(m.value, m.key, "unknown policy element (expected Version, Id or Statement)")
		}
	}
	switch {
	case stmts == nil:
		return nil, p.errorf(root, "", "the policy has no Statement element")
	case stmts.kind == kindObject:
		s, err := p.statement(stmts, 0, "Statement")
		if err != nil {
			return nil, err
		}
		pol.Statements = []Statement{s}
	case stmts.kind == kindArray:
		for i, item := range stmts.items {
			s, err := p.statement(item, i, fmt.Sprintf("Statement[%d]", i))
			if err != nil {
				return nil, err
			}
			pol.Statements = append(pol.Statements, s)
		}
	default:
		return nil, p.errorf(stmts, "Statement", "must be an object or a list of objects, got %s", stmts.kind)
	}
	switch pol.Version {
	case "2012-10-17", "", "2008-10-17":
	default:
		return nil, p.errorf(version, "Version", "unknown version %q (use \"2012-10-17\")", pol.Version)
	}
	if pol.Version != "2012-10-17" && usesPolicyVariables(pol) {
		at, v := root.offset, "missing, so IAM uses 2008-10-17"
		if version != nil {
			at, v = version.offset, "2008-10-17"
		}
		// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
		p.note(at, "Version", false, "%s, where policy variables like ${aws:username} are plain text; use \"2012-10-17\"", v)
	}
	slices.SortStableFunc(p.notes, func(a, b Note) int { return cmp.Compare(a.offset, b.offset) })
	pol.Notes = p.notes
	return pol, nil
}

func (p *parser) statement(n *node, index int, path string) (Statement, error) {
	s := Statement{Index: index}
	if n.kind != kindObject {
		return s, p.errorf(n, path, "a statement must be an object, got %s", n.kind)
	}
	if err := p.noDuplicates(n, path); err != nil {
		return s, err
	}
	var err error
	for _, m := range n.members {
		mpath := path + "." + m.key
		switch m.key {
		case "Sid":
			if m.value.kind != kindString {
				return s, p.errorf(m.value, mpath, "must be a string, got %s", m.value.kind)
			}
			s.Sid = m.value.str
		case "Effect":
			if m.value.kind != kindString || (m.value.str != string(Allow) && m.value.str != string(Deny)) {
				return s, p.errorf(m.value, mpath, "must be \"Allow\" or \"Deny\" (case-sensitive)")
			}
			s.Effect = Effect(m.value.str)
		case "Principal":
			s.Principal, err = p.principal(m.value, mpath)
		case "NotPrincipal":
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-role-trust-policy-syntax-error-notprincipal
			p.note(m.offset, mpath, true, "role trust policies do not support NotPrincipal; IAM rejects the policy when it is written (MalformedPolicyDocument)")
			s.NotPrincipal, err = p.principal(m.value, mpath)
		case "Action":
			s.Action, err = p.stringList(m.value, mpath)
		case "NotAction":
			s.NotAction, err = p.stringList(m.value, mpath)
		case "Resource", "NotResource":
			// https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-role-trust-policy-syntax-error-resource;
			// CreateRole answers "MalformedPolicyDocument: Has prohibited field Resource"
			// (https://github.com/kubernetes-sigs/external-dns/issues/3085).
			p.note(m.offset, mpath, true, "a role trust policy cannot name a resource; IAM rejects the policy when it is written (MalformedPolicyDocument: Has prohibited field %s)", m.key)
			if m.key == "Resource" {
				s.Resource, err = p.stringList(m.value, mpath)
			} else {
				s.NotResource, err = p.stringList(m.value, mpath)
			}
		case "Condition":
			s.Conditions, err = p.conditions(m.value, mpath)
		default:
			return s, p.errorf(m.value, mpath, "unknown statement element (expected Sid, Effect, Principal, Action, NotAction or Condition)")
		}
		if err != nil {
			return s, err
		}
	}
	switch {
	case s.Effect == "":
		return s, p.errorf(n, path, "missing Effect (\"Allow\" or \"Deny\")")
	case s.Action == nil && s.NotAction == nil:
		return s, p.errorf(n, path, "missing Action, e.g. \"Action\": \"sts:AssumeRoleWithWebIdentity\"")
	case s.Action != nil && s.NotAction != nil:
		return s, p.errorf(n, path, "has both Action and NotAction; keep one")
	case s.Principal != nil && s.NotPrincipal != nil:
		return s, p.errorf(n, path, "has both Principal and NotPrincipal; keep Principal")
	}
	return s, nil
}

func (p *parser) principal(n *node, path string) (*Principal, error) {
	switch n.kind {
	case kindString:
		if n.str != "*" {
			return nil, p.errorf(n, path, "a string principal must be \"*\"; write {\"Federated\": %q} for a provider", n.str)
		}
		return &Principal{Any: true}, nil
	case kindObject:
		if err := p.noDuplicates(n, path); err != nil {
			return nil, err
		}
		pr := &Principal{Values: map[string][]string{}}
		for _, m := range n.members {
			switch m.key {
			case "Federated", "AWS", "Service", "CanonicalUser":
			default:
				return nil, p.errorf(m.value, path+"."+m.key, "unknown principal type (expected Federated, AWS, Service or CanonicalUser)")
			}
			vals, err := p.stringList(m.value, path+"."+m.key)
			if err != nil {
				return nil, err
			}
			for i, v := range vals {
				if v == "*" || !strings.Contains(v, "*") {
					continue
				}
				at, vpath := m.value.offset, path+"."+m.key
				if m.value.kind == kindArray {
					at, vpath = m.value.items[i].offset, fmt.Sprintf("%s[%d]", vpath, i)
				}
				// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html:
				// "You cannot use a wildcard to match part of a principal name or ARN."
				p.note(at, vpath, false, "IAM does not expand a wildcard inside a principal, so %q matches only that exact text", v)
			}
			pr.Values[m.key] = append(pr.Values[m.key], vals...)
		}
		return pr, nil
	default:
		return nil, p.errorf(n, path, "must be \"*\" or an object like {\"Federated\": \"arn:...\"}, got %s", n.kind)
	}
}

// stringList reads a string or a non-empty list of strings (Action, Principal values).
func (p *parser) stringList(n *node, path string) ([]string, error) {
	switch n.kind {
	case kindString:
		return []string{n.str}, nil
	case kindArray:
		if len(n.items) == 0 {
			return nil, p.errorf(n, path, "must not be an empty list")
		}
		out := make([]string, 0, len(n.items))
		for i, item := range n.items {
			if item.kind != kindString {
				return nil, p.errorf(item, fmt.Sprintf("%s[%d]", path, i), "must be a string, got %s", item.kind)
			}
			out = append(out, item.str)
		}
		return out, nil
	default:
		return nil, p.errorf(n, path, "must be a string or a list of strings, got %s", n.kind)
	}
}

func (p *parser) conditions(n *node, path string) ([]Condition, error) {
	if n.kind != kindObject {
		return nil, p.errorf(n, path, "must be an object like {\"StringEquals\": {\"key\": \"value\"}}, got %s", n.kind)
	}
	if err := p.noDuplicates(n, path); err != nil {
		return nil, err
	}
	var out []Condition
	for _, op := range n.members {
		opPath := path + "." + op.key
		if op.value.kind != kindObject {
			return nil, p.errorf(op.value, opPath, "must be an object of condition keys to values, got %s", op.value.kind)
		}
		if err := p.noDuplicates(op.value, opPath); err != nil {
			return nil, err
		}
		for _, k := range op.value.members {
			vals, err := p.conditionValues(k.value, opPath+"["+quoteKey(k.key)+"]")
			if err != nil {
				return nil, err
			}
			out = append(out, Condition{Operator: op.key, Key: k.key, Values: vals, Path: opPath})
		}
	}
	return out, nil
}

func quoteKey(k string) string { return fmt.Sprintf("%q", k) }

func (p *parser) conditionValues(n *node, path string) ([]string, error) {
	scalar := func(n *node) (string, bool) {
		switch n.kind {
		case kindString:
			return n.str, true
		case kindNumber:
			return n.num.String(), true
		case kindBool:
			return fmt.Sprint(n.boolean), true
		}
		return "", false
	}
	if v, ok := scalar(n); ok {
		return []string{v}, nil
	}
	if n.kind != kindArray {
		return nil, p.errorf(n, path, "value must be a string, number, boolean or list of them, got %s", n.kind)
	}
	out := make([]string, 0, len(n.items))
	for i, item := range n.items {
		v, ok := scalar(item)
		if !ok {
			return nil, p.errorf(item, fmt.Sprintf("%s[%d]", path, i), "value must be a string, number or boolean, got %s", item.kind)
		}
		out = append(out, v)
	}
	return out, nil
}
