// Package webhook holds irsa-guard's admission adapters: the framework decodes the object, the
// review engine (package review) returns its findings, and Decide, the only place that knows
// about modes, turns them into allowed / warned / denied.
package webhook

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// MaxWarnings is how many findings one response carries as warnings; the rest are counted in a
// final "and N more" line. kubectl prints each warning on its own line, and the API server
// truncates everything once warnings pass 4096 runes in total.
const MaxWarnings = 5

// Policy is the configured decision policy (config.Policy: modes and failClosed).
type Policy struct{ config.Policy }

// Subject is what Decide needs to know about the object under review besides its findings.
type Subject struct {
	Namespace string
	// NamespaceLabels are the namespace's labels, used only when NamespaceKnown.
	NamespaceLabels map[string]string
	NamespaceKnown  bool
	ObjectLabels    map[string]string
}

// Decision is the answer to one admission request.
type Decision struct {
	Allowed  bool
	Mode     config.Mode // the object's mode before per-check overrides
	Denial   string      // every denying finding with its fix; "" when allowed
	Warnings []string    // at most MaxWarnings+1 lines, each <= 120 runes, ID first
	Reported []validators.Finding
	// Notes are about irsa-guard's own configuration (a namespace label that is not a mode), not
	// about the object; they lead the warnings.
	Notes []string
}

// Decide turns findings into allowed / warned / denied. The object's mode is the namespace
// label, else the configured namespace mode, else the global mode; a per-check mode then
// overrides it for that check, except that "off" for a namespace (or globally) silences every
// check. Findings about irsa-guard's own infrastructure (IRSA090) never deny unless
// FailClosed is set and the check is enforced, but always warn; an IRSA090 that only says a
// cached answer was used (Finding.Stale) never denies: the checks ran on that answer. Other info findings are reported
// but not sent as warnings.
func (p Policy) Decide(s Subject, findings []validators.Finding) Decision {
	if s.ObjectLabels[config.LabelSkip] == "true" {
		return Decision{Allowed: true, Mode: config.ModeOff}
	}
	mode, notes := p.objectMode(s)
	d := Decision{Allowed: true, Mode: mode, Notes: notes}
	if mode == config.ModeOff {
		return d
	}
	var deny, warn []validators.Finding
	for _, f := range findings {
		m := p.CheckMode(mode, f.Check)
		switch {
		case m == config.ModeOff:
			continue
		case m == config.ModeEnforce && f.Check == validators.CheckCouldNotVerify && p.FailClosed && !f.Stale:
			deny = append(deny, f)
		case m == config.ModeEnforce && f.Severity == validators.SeverityError && f.Check != validators.CheckCouldNotVerify:
			deny = append(deny, f)
		case f.Severity == validators.SeverityInfo && f.Check != validators.CheckCouldNotVerify:
			// A note, not something to act on before the object is created: kubectl would print
			// it on every apply of a chart that works. lint, diagnose and the metrics show it.
		default:
			warn = append(warn, f)
		}
		d.Reported = append(d.Reported, f)
	}
	if len(deny) > 0 {
		d.Allowed = false
		d.Denial = denial(deny)
	}
	d.Warnings = append(notes, warnings(append(deny, warn...))...)
	return d
}

// objectMode resolves the object's mode. A namespace label that is not a mode is ignored with
// a note, so a typo never silently switches enforcement on or off.
func (p Policy) objectMode(s Subject) (config.Mode, []string) {
	if v, ok := s.NamespaceLabels[config.LabelMode]; ok && s.NamespaceKnown {
		if m := config.Mode(v); slices.Contains(config.Modes(), m) {
			return m, nil
		}
		mode := p.NamespaceMode(s.Namespace)
		note := validators.SanitizeMessage("irsa-guard: namespace label "+config.LabelMode+"="+validators.Quote(v, 20)+
			" is not enforce, warn or off; using "+string(mode), validators.MaxMessageRunes)
		return mode, []string{note}
	}
	return p.NamespaceMode(s.Namespace), nil
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
