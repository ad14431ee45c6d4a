package trustpolicy

import (
	"fmt"
	"strings"
)

// Note is one thing Parse noticed, with its position and element path.
type Note struct {
	Path    string `json:"path"` // e.g. Statement[0].Resource
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
	// Rejected is set when IAM rejects the policy with MalformedPolicyDocument when it is written
	// (CreateRole, UpdateAssumeRolePolicy), so the policy can never be a role's trust policy.
	Rejected bool `json:"rejected,omitempty"`
	offset   int64
}

// String renders the note as "line 3, column 5: Statement[0].Resource: message".
func (n Note) String() string {
	if n.Path == "" {
		return fmt.Sprintf("line %d, column %d: %s", n.Line, n.Column, n.Message)
	}
	return fmt.Sprintf("line %d, column %d: %s: %s", n.Line, n.Column, n.Path, n.Message)
}

// note records a Note at n's position.
func (p *parser) note(offset int64, path string, rejected bool, format string, args ...any) {
	line, col := lineColumn(p.data, offset)
	p.notes = append(p.notes, Note{Path: path, Line: line, Column: col, Message: fmt.Sprintf(format, args...), Rejected: rejected, offset: offset})
}

// noDuplicates rejects an object that repeats a key. IAM's policy grammar says "Individual elements
// must not contain multiple instances of the same key"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html#policies-grammar-notes);
// which of the values IAM would use is not documented, so irsa-guard does not evaluate such a
// policy instead of guessing.
func (p *parser) noDuplicates(n *node, path string) error {
	seen := make(map[string]int64, len(n.members))
	for _, m := range n.members {
		if first, dup := seen[m.key]; dup {
			line, _ := lineColumn(p.data, first)
			return &ParseError{Offset: m.offset, Path: path, data: p.data,
				Msg: fmt.Sprintf("duplicate key %q (first at line %d); IAM does not accept a key twice in one element", m.key, line)}
		}
		seen[m.key] = m.offset
	}
	return nil
}

// usesPolicyVariables reports whether a condition value contains a ${...} policy variable.
func usesPolicyVariables(pol *Policy) bool {
	for _, s := range pol.Statements {
		for _, c := range s.Conditions {
			for _, v := range c.Values {
				if strings.Contains(v, "${") {
					return true
				}
			}
		}
	}
	return false
}
