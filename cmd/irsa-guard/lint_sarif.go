package main

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html), the subset
// `lint -o sarif` writes: one run, one rule per check of the catalog, one result per finding.
// GitHub code scanning reads the same subset
// (https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning).
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// projectURL is where the project, its releases and its documentation live.
	projectURL = "https://github.com/irsa-guard/irsa-guard"
	// checksDocURL is the page every rule's helpUri points into, at the anchor #irsa0xx.
	checksDocURL = projectURL + "/blob/main/docs/checks.md"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// ColumnKind is required by the specification (3.14.19) whenever a result has a text region.
	ColumnKind string `json:"columnKind"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	HelpURI              string             `json:"helpUri"`
	Help                 sarifMarkdown      `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifMarkdown struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags           []string `json:"tags"`
	PredictedError string   `json:"predictedError,omitempty"`
}

type sarifResult struct {
	RuleID     string           `json:"ruleId"`
	RuleIndex  int              `json:"ruleIndex"`
	Level      string           `json:"level"`
	Message    sarifText        `json:"message"`
	Locations  []sarifLocation  `json:"locations"`
	Properties sarifResultProps `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifResultProps carries what a finding says beyond its message, under the names
// `lint -o json` uses, so a SARIF consumer loses nothing.
type sarifResultProps struct {
	Object         string `json:"object"`
	Field          string `json:"field,omitempty"`
	PredictedError string `json:"predictedError,omitempty"`
	Fix            string `json:"fix"`
	Source         string `json:"source"`
}

// sarifLevel maps a severity to a SARIF level (3.27.10): info is a note.
func sarifLevel(s validators.Severity) string {
	switch s {
	case validators.SeverityError:
		return "error"
	case validators.SeverityWarning:
		return "warning"
	}
	return "note"
}

// writeSARIF prints the findings as one SARIF run. Every check of the catalog is a rule, so rule
// indexes are stable between runs; each finding is a result at its object's file and line, with
// the object and field as a logical location.
func writeSARIF(w io.Writer, results []objectResult) error {
	checks := validators.Checks()
	index := map[validators.CheckID]int{}
	rules := make([]sarifRule, 0, len(checks))
	for i, c := range checks {
		index[c.ID] = i
		rules = append(rules, sarifRuleOf(c))
	}
	run := sarifRun{
		// A release's tag is "v1.2.3"; SARIF consumers compare versions that start with a number.
		Tool:       sarifTool{Driver: sarifDriver{Name: "irsa-guard", Version: strings.TrimPrefix(version, "v"), InformationURI: projectURL, Rules: rules}},
		Results:    []sarifResult{},
		ColumnKind: "unicodeCodePoints",
	}
	for _, r := range results {
		for _, f := range r.findings {
			run.Results = append(run.Results, sarifResultOf(r, f, index[f.Check]))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func sarifRuleOf(c validators.CheckInfo) sarifRule {
	predicted := c.PredictedError
	if predicted == "" {
		predicted = "none predicted"
	}
	help := "AWS error: " + predicted + "\nFix: " + c.Fix
	md := "**AWS error:** `" + predicted + "`\n\n**Fix:** " + c.Fix + "\n\n[" + string(c.ID) + " in docs/checks.md](" + checkDocURL(c.ID) + ")"
	return sarifRule{
		ID:                   string(c.ID),
		Name:                 ruleName(c.Title),
		ShortDescription:     sarifText{Text: sentence(c.Title)},
		FullDescription:      sarifText{Text: sentence(c.Title) + " Predicted AWS error: " + sentence(predicted)},
		HelpURI:              checkDocURL(c.ID),
		Help:                 sarifMarkdown{Text: help, Markdown: md},
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(c.Severity)},
		Properties:           sarifRuleProps{Tags: []string{"irsa", "eks", "iam"}, PredictedError: c.PredictedError},
	}
}

// checkDocURL is a check's section of docs/checks.md.
func checkDocURL(id validators.CheckID) string {
	return checksDocURL + "#" + strings.ToLower(string(id))
}

func sarifResultOf(r objectResult, f validators.Finding, ruleIndex int) sarifResult {
	obj := f.Object.WithField("")
	fqn := obj.String()
	if f.Object.Field != "" {
		fqn += " " + f.Object.Field
	}
	loc := sarifLocation{LogicalLocations: []sarifLogicalLocation{{Name: obj.Name, FullyQualifiedName: fqn, Kind: "resource"}}}
	if uri := artifactURI(r.object.Source); uri != "" {
		loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: uri}, Region: sarifRegion{StartLine: max(r.object.Line, 1)}}
	}
	msg := sentence(f.Message)
	if f.Object.Field != "" {
		msg += " (field " + f.Object.Field + ")"
	}
	if f.PredictedError != "" {
		msg += " AWS error: " + sentence(f.PredictedError)
	}
	return sarifResult{
		RuleID: string(f.Check), RuleIndex: ruleIndex, Level: sarifLevel(f.Severity),
		Message:   sarifText{Text: msg + " Fix: " + sentence(f.Fix)},
		Locations: []sarifLocation{loc},
		Properties: sarifResultProps{Object: f.Object.String(), Field: f.Object.Field, PredictedError: f.PredictedError,
			Fix: f.Fix, Source: sourceOf(r.object)},
	}
}

// artifactURI is a manifest's path as a SARIF URI reference: relative paths stay relative (code
// scanning resolves them against the repository root), absolute ones become file URIs, and stdin
// has none.
func artifactURI(source string) string {
	if source == "" || source == "-" {
		return ""
	}
	p := filepath.ToSlash(source)
	if filepath.IsAbs(source) {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: strings.TrimPrefix(p, "./")}).String()
}

// ruleName turns a title into the PascalCase identifier SARIF rules carry as name (3.49.7).
func ruleName(title string) string {
	var b strings.Builder
	upper := true
	for _, r := range title {
		switch {
		case r >= 'a' && r <= 'z':
			if upper {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			upper = false
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
			upper = false
		default:
			upper = true
		}
	}
	return b.String()
}

// sentence ends s with a period, as SARIF messages should (the SARIF SDK's rule SARIF2001).
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}
