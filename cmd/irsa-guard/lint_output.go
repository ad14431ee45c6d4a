package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators"
)

// lintFinding is a finding as `lint -o json` prints it: the public Finding shape plus where
// the object is in the input.
type lintFinding struct {
	validators.Finding
	Source string
}

// MarshalJSON adds "source" to the finding's own JSON object.
func (f lintFinding) MarshalJSON() ([]byte, error) {
	b, err := f.Finding.MarshalJSON()
	if err != nil {
		return nil, err
	}
	src, err := json.Marshal(f.Source) // a file path: nothing HTML-escaped matters here
	if err != nil {
		return nil, err
	}
	return append(append(append(b[:len(b)-1], `,"source":`...), src...), '}'), nil
}

// writeJSON prints {"findings":[...]}; the array is never null so scripts can index it.
func writeJSON(w io.Writer, results []objectResult) error {
	out := struct {
		Findings []lintFinding `json:"findings"`
	}{Findings: []lintFinding{}}
	for _, r := range results {
		for _, f := range r.findings {
			out.Findings = append(out.Findings, lintFinding{Finding: f, Source: sourceOf(r.object)})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// detailIndent lines up a finding's details under its message.
const detailIndent = "                   "

// writeText prints findings grouped per object, then one summary line.
func writeText(w io.Writer, results []objectResult) error {
	var b strings.Builder
	for _, r := range results {
		if len(r.findings) == 0 {
			continue
		}
		ref := r.object.Ref()
		fmt.Fprintf(&b, "%s  (%s)\n", ref, sourceOf(r.object))
		for _, f := range r.findings {
			fmt.Fprintf(&b, "  %-7s %s  %s\n", f.Severity, f.Check, f.Message)
			// Container-level messages name their container already; anything else that is
			// not the object itself (a ServiceAccount reported via a workload) is spelt out.
			if obj := f.Object; obj.Kind != ref.Kind || obj.Namespace != ref.Namespace || obj.Name != ref.Name {
				fmt.Fprintf(&b, "%sin: %s\n", detailIndent, obj)
			}
			if f.PredictedError != "" {
				fmt.Fprintf(&b, "%sAWS error: %s\n", detailIndent, f.PredictedError)
			}
			fmt.Fprintf(&b, "%sfix: %s\n", detailIndent, f.Fix)
		}
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return writeSummary(w, results)
}

// writeSummary prints the one line that ends the text and GitHub outputs.
func writeSummary(w io.Writer, results []objectResult) error {
	counts := map[validators.Severity]int{}
	withFindings := 0
	for _, r := range results {
		if len(r.findings) > 0 {
			withFindings++
		}
		for _, f := range r.findings {
			counts[f.Severity]++
		}
	}
	_, err := fmt.Fprintf(w, "%d %s checked, %d with findings: %d %s, %d %s, %d info\n",
		len(results), plural(len(results), "object", "objects"), withFindings,
		counts[validators.SeverityError], plural(counts[validators.SeverityError], "error", "errors"),
		counts[validators.SeverityWarning], plural(counts[validators.SeverityWarning], "warning", "warnings"),
		counts[validators.SeverityInfo])
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
