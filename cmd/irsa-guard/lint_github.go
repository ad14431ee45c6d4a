package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators"
)

// writeGitHub prints one GitHub Actions workflow command per finding
// (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands), e.g.
//
//	::error file=k8s/sa.yaml,line=3,title=IRSA011 ServiceAccount shop/orders::role-arn differs ...
//
// so each finding shows on the line of the manifest in the pull request, then the text summary.
// Severities map to the commands' levels: error, warning, and notice for info.
func writeGitHub(w io.Writer, results []objectResult) error {
	var b strings.Builder
	for _, r := range results {
		for _, f := range r.findings {
			props := []string{}
			if r.object.Source != "" && r.object.Source != "-" {
				props = append(props, "file="+escapeProperty(r.object.Source), fmt.Sprintf("line=%d", max(r.object.Line, 1)))
			}
			props = append(props, "title="+escapeProperty(string(f.Check)+" "+f.Object.String()))
			msg := f.Message
			if f.Object.Field != "" {
				msg += "\nfield: " + f.Object.Field
			}
			if f.PredictedError != "" {
				msg += "\nAWS error: " + f.PredictedError
			}
			msg += "\nfix: " + f.Fix + "\ndocs: " + checkDocURL(f.Check)
			fmt.Fprintf(&b, "::%s %s::%s\n", githubLevel(f.Severity), strings.Join(props, ","), escapeData(msg))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return writeSummary(w, results)
}

func githubLevel(s validators.Severity) string {
	switch s {
	case validators.SeverityError:
		return "error"
	case validators.SeverityWarning:
		return "warning"
	}
	return "notice"
}

// escapeData escapes a workflow command's message the way @actions/core does
// (https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts): %, CR and LF.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value: the data escapes plus : and ,.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
