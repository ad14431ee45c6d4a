// Package webhook holds irsa-guard's admission adapters: decode -> look up facts ->
// validators -> Decide -> response. Decide is the only place that knows about modes.
package webhook

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// Labels users put on objects and namespaces to steer irsa-guard.
const (
	// LabelMode on a namespace overrides the configured mode for objects in it.
	LabelMode = "irsa-guard.io/mode"
	// LabelSkip "true" on an object opts it out entirely.
	LabelSkip = "irsa-guard.io/skip"
)

// MaxWarnings is how many findings one response carries as warnings; the rest are counted in a
// final "and N more" line. kubectl prints each warning on its own line, and the API server
// truncates everything once warnings pass 4096 runes in total.
const MaxWarnings = 5

// Policy is the configured decision policy.
type Policy struct {
	Mode           config.Mode
	NamespaceModes map[string]config.Mode
	CheckModes     map[validators.CheckID]config.Mode
	FailClosed     bool
}

// PolicyFromOptions converts validated options into a Policy.
func PolicyFromOptions(o *config.Options) Policy {
	p := Policy{Mode: o.Mode, FailClosed: o.FailClosed,
		NamespaceModes: map[string]config.Mode{}, CheckModes: map[validators.CheckID]config.Mode{}}
	for ns, m := range o.NamespaceModes {
		p.NamespaceModes[ns] = config.Mode(m)
	}
	for id, m := range o.CheckModes {
		p.CheckModes[validators.CheckID(id)] = config.Mode(m)
	}
	return p
}

// Subject is what Decide needs to know about the object under review besides its findings.
type Subject struct {
	Namespace       string
	NamespaceLabels map[string]string // nil when the namespace could not be read
	ObjectLabels    map[string]string
}

// Decision is the answer to one admission request.
type Decision struct {
	Allowed  bool
	Mode     config.Mode // the object's mode before per-check overrides
	Denial   string      // every denying finding with its fix; "" when allowed
	Warnings []string    // at most MaxWarnings+1 lines, each <= 120 runes, ID first
	Reported []validators.Finding
}

// Decide turns findings into allowed / warned / denied. The object's mode is the namespace
// label, else the configured namespace mode, else the global mode; a per-check mode then
// overrides it for that check, except that "off" for a namespace (or globally) silences every
// check. Findings about irsa-guard's own infrastructure (IRSA090) never deny unless
// FailClosed is set and the check is enforced.
func (p Policy) Decide(s Subject, findings []validators.Finding) Decision {
	if s.ObjectLabels[LabelSkip] == "true" {
		return Decision{Allowed: true, Mode: config.ModeOff}
	}
	mode, notes := p.objectMode(s)
	d := Decision{Allowed: true, Mode: mode}
	if mode == config.ModeOff {
		return d
	}
	var deny, warn []validators.Finding
	for _, f := range findings {
		m := mode
		if cm, ok := p.CheckModes[f.Check]; ok {
			m = cm
		}
		switch {
		case m == config.ModeOff:
			continue
		case m == config.ModeEnforce && f.Check == validators.CheckCouldNotVerify && p.FailClosed:
			deny = append(deny, f)
		case m == config.ModeEnforce && f.Severity == validators.SeverityError && f.Check != validators.CheckCouldNotVerify:
			deny = append(deny, f)
		default:
			warn = append(warn, f)
		}
		d.Reported = append(d.Reported, f)
	}
	if len(deny) > 0 {
		d.Allowed = false
		d.Denial = denial(deny)
	}
	d.Warnings = warnings(append(notes, append(deny, warn...)...))
	return d
}

// objectMode resolves the object's mode. A namespace label that is not a mode is ignored with
// a note, so a typo never silently switches enforcement on or off.
func (p Policy) objectMode(s Subject) (config.Mode, []validators.Finding) {
	if v, ok := s.NamespaceLabels[LabelMode]; ok {
		switch m := config.Mode(v); m {
		case config.ModeEnforce, config.ModeWarn, config.ModeOff:
			return m, nil
		}
		mode := p.configuredMode(s.Namespace)
		note := validators.Finding{Check: "irsa-guard", Severity: validators.SeverityInfo,
			Message: validators.SanitizeMessage("namespace label "+LabelMode+"="+validators.Quote(v, 20)+
				" is not enforce, warn or off; using "+string(mode), 100)}
		return mode, []validators.Finding{note}
	}
	return p.configuredMode(s.Namespace), nil
}

func (p Policy) configuredMode(ns string) config.Mode {
	if m, ok := p.NamespaceModes[ns]; ok {
		return m
	}
	if p.Mode == "" {
		return config.ModeWarn
	}
	return p.Mode
}

// warnings renders findings worst first, one line each, at most MaxWarnings plus a count.
func warnings(fs []validators.Finding) []string {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b validators.Finding) int { return cmp.Compare(b.Severity.Rank(), a.Severity.Rank()) })
	var out []string
	seen := map[string]bool{}
	for _, f := range fs {
		w := validators.SanitizeMessage(f.String(), validators.MaxMessageRunes)
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	if len(out) > MaxWarnings {
		more := len(out) - MaxWarnings
		out = append(out[:MaxWarnings], "and "+strconv.Itoa(more)+" more; run irsa-guard lint on the object for all findings")
	}
	return out
}

// denial lists every denying finding with its fix, one per line.
func denial(fs []validators.Finding) string {
	var b strings.Builder
	b.WriteString("irsa-guard found ")
	b.WriteString(strconv.Itoa(len(fs)))
	if len(fs) == 1 {
		b.WriteString(" problem that will break IAM Roles for Service Accounts:")
	} else {
		b.WriteString(" problems that will break IAM Roles for Service Accounts:")
	}
	for _, f := range fs {
		b.WriteString("\n- ")
		b.WriteString(f.String())
		if f.PredictedError != "" {
			b.WriteString(" (pods would get: " + f.PredictedError + ")")
		}
		b.WriteString(" Fix: " + f.Fix)
	}
	return b.String()
}
