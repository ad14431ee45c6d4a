// Package validators holds irsa-guard's pure checks: they take Kubernetes objects and
// already-fetched AWS facts and return findings. Nothing here does I/O or reads the clock.
package validators

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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
// (`irsa-guard lint -o json`): the object is rendered as "Kind ns/name [container c]" and its
// field, where known, as "field"; fields are only ever added.
type Finding struct {
	Check          CheckID  `json:"check"`
	Severity       Severity `json:"severity"`
	Object         Object   `json:"object"`
	Message        string   `json:"message"`
	PredictedError string   `json:"predictedError,omitempty"`
	Fix            string   `json:"fix"`
	// Stale marks an IRSA090 that says a fact was served from an answer IAM gave earlier, after a
	// refresh failed (stale-if-error): the checks did run, on that answer, so it is a note and
	// failClosed has nothing to deny. Not part of the JSON shape.
	Stale bool `json:"-"`
}

// findingJSON is Finding's wire form.
type findingJSON struct {
	Check          CheckID  `json:"check"`
	Severity       Severity `json:"severity"`
	Object         string   `json:"object"`
	Field          string   `json:"field,omitempty"`
	Message        string   `json:"message"`
	PredictedError string   `json:"predictedError,omitempty"`
	Fix            string   `json:"fix"`
}

// MarshalJSON writes the public shape: the object as its rendered string, plus its field.
// Messages and fixes quote ARN templates ("arn:<partition>:..."), so HTML characters are kept as
// they are rather than escaped.
func (f Finding) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(findingJSON{Check: f.Check, Severity: f.Severity, Object: f.Object.String(), Field: f.Object.Field,
		Message: f.Message, PredictedError: f.PredictedError, Fix: f.Fix})
	return bytes.TrimRight(b.Bytes(), "\n"), err
}

// UnmarshalJSON reads the public shape back (the object's parts from its rendered string).
func (f *Finding) UnmarshalJSON(data []byte) error {
	var w findingJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*f = Finding{Check: w.Check, Severity: w.Severity, Object: ParseObject(w.Object), Message: w.Message, PredictedError: w.PredictedError, Fix: w.Fix}
	f.Object.Field = w.Field
	return nil
}

// String renders a finding the way a warning or a denial shows it: "IRSA001: message".
func (f Finding) String() string { return string(f.Check) + ": " + f.Message }

// NewFinding builds a finding from the catalog entry of id: severity, predicted error and a
// default fix come from there; message is sanitised to one line of at most MaxMessageRunes.
func NewFinding(id CheckID, object Object, message string) Finding {
	info := catalog[id]
	return Finding{
		Check:          id,
		Severity:       info.Severity,
		Object:         object,
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

// Object names what a finding is about, as a user would type it, down to the container and the
// field to edit where a check knows them.
type Object struct {
	Kind      string // ServiceAccount, Pod, Deployment, ...
	Namespace string
	Name      string
	Container string // set for container-level pod findings
	// Field is the path of what to edit, e.g. metadata.annotations["eks.amazonaws.com/role-arn"]
	// or spec.containers[0].env[AWS_ACCESS_KEY_ID]; "" when the finding is about the whole object.
	Field string
}

// WithContainer is o narrowed to one container.
func (o Object) WithContainer(name string) Object { o.Container = name; return o }

// WithField is o narrowed to one field.
func (o Object) WithField(path string) Object { o.Field = path; return o }

// AnnotationField is the field path of an annotation.
func AnnotationField(key string) string {
	if f, ok := annotationFields[key]; ok {
		return f
	}
	return "metadata.annotations[" + strconv.Quote(key) + "]"
}

// annotationFields are the field paths of the IRSA annotation keys, built once: every review of
// an annotated object names them, found or not, and quoting allocates.
var annotationFields = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{AnnotationRoleARN, AnnotationAudience, AnnotationTokenExpiration, AnnotationSTSRegionalEndpoints, AnnotationSkipContainers} {
		m[k] = "metadata.annotations[" + strconv.Quote(k) + "]"
	}
	return m
}()

// ParseObject reads Object.String's form back; Field is not part of it.
func ParseObject(s string) Object {
	var o Object
	o.Kind, s, _ = strings.Cut(s, " ")
	if ref, container, ok := strings.Cut(s, " container "); ok {
		s, o.Container = ref, container
	}
	if ns, name, ok := strings.Cut(s, "/"); ok {
		o.Namespace, o.Name = ns, name
	} else {
		o.Name = s
	}
	return o
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
