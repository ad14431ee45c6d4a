// Package validators holds irsa-guard's pure checks: they take Kubernetes objects and
// already-fetched AWS facts and return findings. Nothing here does I/O or reads the clock.
package validators

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Severity says how sure irsa-guard is that AWS will refuse the pod's credentials.
type Severity string

const (
	// SeverityError means sts:AssumeRoleWithWebIdentity will fail.
	SeverityError Severity = "error"
	// SeverityWarning means the setup is risky or will silently fall back (e.g. to the node role).
	SeverityWarning Severity = "warning"
	// SeverityInfo is context a user should know, such as a check that could not run.
	SeverityInfo Severity = "info"
)

// Rank orders severities so callers can sort and filter (error > warning > info).
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 2
	case SeverityWarning:
		return 1
	default:
		return 0
	}
}

// MaxMessageRunes is the Kubernetes guidance for an admission warning's length.
const MaxMessageRunes = 120

// Finding is one result of one check against one object. Its JSON shape is a public contract
// (`irsa-guard lint -o json`), so fields are only ever added.
type Finding struct {
	Check          CheckID  `json:"check"`
	Severity       Severity `json:"severity"`
	Object         string   `json:"object"`
	Message        string   `json:"message"`
	PredictedError string   `json:"predictedError,omitempty"`
	Fix            string   `json:"fix"`
}

// String renders a finding the way a warning or a denial shows it: "IRSA001: message".
func (f Finding) String() string { return string(f.Check) + ": " + f.Message }

// NewFinding builds a finding from the catalog entry of id: severity, predicted error and a
// default fix come from there; message is sanitised to one line of at most MaxMessageRunes.
func NewFinding(id CheckID, object Object, message string) Finding {
	info := Catalog[id]
	return Finding{
		Check:          id,
		Severity:       info.Severity,
		Object:         object.String(),
		Message:        SanitizeMessage(message, MaxMessageRunes-len(id)-2),
		PredictedError: info.PredictedError,
		Fix:            SanitizeMessage(info.Fix, 4*MaxMessageRunes),
	}
}

// WithSeverity returns f with another severity (a check may downgrade, e.g. "still propagating").
func (f Finding) WithSeverity(s Severity) Finding { f.Severity = s; return f }

// WithFix returns f with a fix specific to this object instead of the catalog's generic one.
func (f Finding) WithFix(fix string) Finding {
	f.Fix = SanitizeMessage(fix, 4*MaxMessageRunes)
	return f
}

// WithPredictedError returns f predicting a more specific AWS error than the catalog's.
func (f Finding) WithPredictedError(e string) Finding { f.PredictedError = e; return f }

// Object names what a finding is about, as a user would type it.
type Object struct {
	Kind      string // ServiceAccount, Pod, Deployment, ...
	Namespace string
	Name      string
	Container string // set for container-level pod findings
}

// String renders "Kind ns/name" or "Pod ns/name container c". A manifest without a namespace
// shows just the name: irsa-guard does not guess which namespace kubectl would pick.
func (o Object) String() string {
	s := o.Kind + " "
	if o.Namespace != "" {
		s += o.Namespace + "/"
	}
	s += o.Name
	if o.Container != "" {
		s += " container " + o.Container
	}
	return SanitizeMessage(s, 2*MaxMessageRunes)
}

// Quote renders an untrusted value (an annotation, a key) for a message: Go-quoted so control
// characters and spaces are visible, and cut to max runes with "..." so one bad value cannot
// push the rest of the message out of a 120-character warning.
func Quote(value string, max int) string {
	if max < 4 {
		max = 4
	}
	if utf8.RuneCountInString(value) > max {
		r := []rune(value)
		value = string(r[:max-3]) + "..."
	}
	return fmt.Sprintf("%q", value)
}

// SanitizeMessage makes s safe for an HTTP warning header and a terminal: control characters
// become spaces, runs of white space fold to one, and the result is cut to max runes with "...".
// The apiserver silently drops a warning that contains a control character.
func SanitizeMessage(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	out := strings.TrimRight(b.String(), " ")
	if max > 3 && utf8.RuneCountInString(out) > max {
		r := []rune(out)
		out = strings.TrimRight(string(r[:max-3]), " ") + "..."
	}
	return out
}
