package diagnose

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// ANSI colours, used only when the output is a terminal and NO_COLOR is not set
// (https://no-color.org).
const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	faint  = "\x1b[2m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// statusWarn labels a step that passes with a warning, in text only.
const statusWarn Status = "warn"

// Printer writes reports for people.
type Printer struct {
	W     io.Writer
	Color bool
}

func (p Printer) paint(color, s string) string {
	if !p.Color {
		return s
	}
	return color + s + reset
}

// label is a status as a fixed-width, coloured word.
func (p Printer) label(s Status) string {
	word := fmt.Sprintf("%-7s", strings.ToUpper(string(s)))
	switch s {
	case statusWarn:
		return p.paint(yellow, word)
	case StatusPass:
		return p.paint(green, word)
	case StatusFail:
		return p.paint(red+bold, word)
	case StatusUnknown:
		return p.paint(yellow, word)
	}
	return p.paint(faint, word)
}

// Report writes one subject's diagnosis: the header, each step with its message, the AWS error
// it causes and the fix, then the probe and a summary line.
func (p Printer) Report(r Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", p.paint(bold, "Diagnosing "+r.Subject))
	c := r.Context
	if c.KubeContext != "" {
		fmt.Fprintf(&b, "  kube context  %s\n", c.KubeContext)
	}
	if c.Cluster != "" {
		fmt.Fprintf(&b, "  EKS cluster   %s\n", c.Cluster)
	}
	if c.Issuer != "" {
		fmt.Fprintf(&b, "  OIDC issuer   %s (from %s)\n", c.Issuer, c.IssuerFrom)
	}
	fmt.Fprintf(&b, "  AWS           %s\n\n", c.AWS)
	const indent = "           "
	for i, st := range r.Steps {
		status := st.Status
		if st.Warning {
			status = statusWarn // JSON keeps "pass" and says "warning": true
		}
		fmt.Fprintf(&b, "%s %2d. %s\n", p.label(status), i+1, st.Step)
		fmt.Fprintf(&b, "%s%s\n", indent, st.Message)
		if st.PredictedError != "" {
			fmt.Fprintf(&b, "%s%s %s\n", indent, p.paint(red, "AWS error:"), st.PredictedError)
		}
		if st.Fix != "" && (st.Status != StatusPass || st.Warning) {
			fmt.Fprintf(&b, "%s%s %s\n", indent, p.paint(bold, "fix:"), st.Fix)
		}
		if st.FixDocument != "" {
			for _, line := range strings.Split(strings.TrimRight(st.FixDocument, "\n"), "\n") {
				fmt.Fprintf(&b, "%s  %s\n", indent, line)
			}
		}
		for _, d := range st.Details {
			fmt.Fprintf(&b, "%s%s\n", indent, p.paint(faint, "· "+d))
		}
	}
	if r.Probe != nil {
		p.probe(&b, *r.Probe)
	}
	b.WriteString("\n" + p.summary(r) + "\n")
	_, err := io.WriteString(p.W, b.String())
	return err
}

func (p Printer) probe(b *strings.Builder, pr Probe) {
	fmt.Fprintf(b, "\n%s sts:AssumeRoleWithWebIdentity on %s with a fresh token (audience %s, session %s)\n",
		p.paint(bold, "Probe:"), pr.RoleARN, pr.Audience, pr.SessionName)
	switch pr.Outcome {
	case OutcomeAllowed:
		fmt.Fprintf(b, "  STS         %s: issued credentials for %s (discarded, never printed)\n", p.paint(green, "allowed"), pr.AssumedRole)
	case OutcomeDenied:
		fmt.Fprintf(b, "  STS         %s: %s: %s\n", p.paint(red, "denied"), pr.Code, pr.Message)
	default:
		fmt.Fprintf(b, "  STS         %s: %s\n", p.paint(yellow, "not asked"), pr.Message)
	}
	predicted := pr.Predicted
	if pr.PredictedError != "" {
		predicted += ": " + pr.PredictedError
	}
	fmt.Fprintf(b, "  irsa-guard  predicted %s\n", predicted)
	verdict := pr.Verdict
	switch pr.Verdict {
	case VerdictAgree:
		verdict = p.paint(green, verdict)
	case VerdictDisagree:
		verdict = p.paint(red+bold, verdict) + ": STS's answer is the truth; please report this to irsa-guard with the -o json output"
	}
	fmt.Fprintf(b, "  verdict     %s\n", verdict)
}

// summary is the last line: what failed, or that nothing did.
func (p Printer) summary(r Result) string {
	var fails, unknown, warns int
	for _, st := range r.Steps {
		switch {
		case st.Status == StatusFail:
			fails++
		case st.Status == StatusUnknown:
			unknown++
		case st.Warning:
			warns++
		}
	}
	switch {
	case fails > 0:
		return p.paint(red+bold, fmt.Sprintf("%d of %d steps fail", fails, len(r.Steps))) + unknownSuffix(unknown) + "."
	case r.Probe != nil && r.Probe.Outcome == OutcomeDenied:
		return p.paint(red+bold, "STS denies the role") + " though no step fails" + unknownSuffix(unknown) + "."
	case unknown > 0:
		return p.paint(yellow, fmt.Sprintf("No step fails; %d could not be checked", unknown)) + ": see why above."
	case warns > 0:
		return p.paint(yellow, fmt.Sprintf("No step fails; %d warn", warns)) + ": see above."
	}
	return p.paint(green, "No step fails.")
}

func unknownSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d could not be checked", n)
}

// Table writes one line per subject, worst first: status, subject, and the deciding step. The
// columns are padded by hand: colour codes would throw a tabwriter's widths off.
func (p Printer) Table(results []Result) error {
	type row struct {
		status                Status
		subject, step, detail string
	}
	rows := make([]row, 0, len(results))
	for _, r := range results {
		w := row{status: r.Status(), subject: r.Subject, step: "-", detail: "every step passes or does not apply"}
		if st, ok := r.Worst(); ok {
			w.step, w.detail = st.Step, st.Message
		} else if r.Probe != nil && r.Probe.Outcome == OutcomeDenied {
			w.step, w.detail = "probe", r.Probe.Code+": "+r.Probe.Message
		} else if i := slices.IndexFunc(r.Steps, func(s Step) bool { return s.Warning }); i >= 0 {
			w.status, w.step, w.detail = statusWarn, r.Steps[i].Step, r.Steps[i].Message
		}
		rows = append(rows, w)
	}
	slices.SortStableFunc(rows, func(a, b row) int { return b.status.rank() - a.status.rank() })
	wSubject, wStep := len("SUBJECT"), len("STEP")
	for _, w := range rows {
		wSubject, wStep = max(wSubject, len(w.subject)), max(wStep, len(w.step))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s  %-*s  %-*s  %s\n", "STATUS", wSubject, "SUBJECT", wStep, "STEP", "FINDING")
	for _, w := range rows {
		fmt.Fprintf(&b, "%s  %-*s  %-*s  %s\n", p.label(w.status), wSubject, w.subject, wStep, w.step, w.detail)
	}
	_, err := io.WriteString(p.W, b.String())
	return err
}
