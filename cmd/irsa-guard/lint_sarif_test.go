package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/irsa-guard/irsa-guard/internal/nodetools"
	"github.com/irsa-guard/irsa-guard/validators"
)

// exampleArgs lint the examples lint documents, offline.
var exampleArgs = []string{"-f", "examples/good", "-f", "examples/broken", "-f", "examples/pods", "--offline"}

// TestLintSARIF checks `lint -o sarif` three ways: against a golden file, against the SARIF 2.1.0
// JSON schema, and through Microsoft's SARIF multitool (`validate`), the SARIF SDK that is the
// format's reference implementation: it parses the log into the SDK's object model and runs the
// SDK's validation rules (the SARIF20xx rules of the SARIF validator), so a log it accepts is one
// the SDK's consumers read. Its error-level results fail the test; its warnings and notes are logged.
func TestLintSARIF(t *testing.T) {
	out, code, msg := runCLI(t, "", append([]string{"lint", "-o", "sarif"}, exampleArgs...)...)
	if code != 1 {
		t.Fatalf("exit code = %d (%s), want 1 as for the other formats", code, msg)
	}
	golden(t, "lint-examples.sarif", out)

	t.Run("valid against the SARIF 2.1.0 schema", func(t *testing.T) {
		validateSARIFSchema(t, []byte(out))
	})
	jsonOut, _, _ := execCLI(t, "", append([]string{"lint", "-o", "json"}, exampleArgs...)...)
	t.Run("one result per finding, at the object's file and line", func(t *testing.T) {
		var want struct {
			Findings []struct{ Check, Severity, Source string }
		}
		if err := json.Unmarshal([]byte(jsonOut), &want); err != nil {
			t.Fatal(err)
		}
		var log struct {
			Runs []struct {
				Tool struct {
					Driver struct {
						Rules []struct{ ID, HelpURI string }
					}
				}
				Results []struct {
					RuleID, Level string
					RuleIndex     int
					Locations     []struct {
						PhysicalLocation struct {
							ArtifactLocation struct{ URI string }
							Region           struct{ StartLine int }
						}
					}
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &log); err != nil {
			t.Fatal(err)
		}
		run := log.Runs[0]
		if len(run.Tool.Driver.Rules) != len(validators.Checks()) {
			t.Errorf("%d rules, want one per check (%d)", len(run.Tool.Driver.Rules), len(validators.Checks()))
		}
		if len(run.Results) != len(want.Findings) {
			t.Fatalf("%d results, want %d (one per finding of -o json)", len(run.Results), len(want.Findings))
		}
		levels := map[string]string{"error": "error", "warning": "warning", "info": "note"}
		for i, r := range run.Results {
			f := want.Findings[i]
			loc := r.Locations[0].PhysicalLocation
			where := loc.ArtifactLocation.URI + ":" + strconv.Itoa(loc.Region.StartLine)
			rule := run.Tool.Driver.Rules[r.RuleIndex]
			if r.RuleID != f.Check || rule.ID != f.Check || r.Level != levels[f.Severity] || where != f.Source {
				t.Errorf("result %d: %s %s at %s (rule %s), want %s %s at %s", i, r.RuleID, r.Level, where, rule.ID, f.Check, levels[f.Severity], f.Source)
			}
			if want := "https://github.com/irsa-guard/irsa-guard/blob/main/docs/checks.md#" + strings.ToLower(f.Check); rule.HelpURI != want {
				t.Errorf("rule %s helpUri %s, want %s", rule.ID, rule.HelpURI, want)
			}
		}
	})
	t.Run("accepted by the SARIF SDK's multitool", func(t *testing.T) {
		multitool := nodetools.Multitool(t)
		path := filepath.Join(t.TempDir(), "lint.sarif")
		out := strings.Replace(out, `"version": "dev"`, `"version": "1.2.3"`, 1) // as a release stamps it
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		report := filepath.Join(t.TempDir(), "validation.sarif")
		cmd := exec.Command(multitool, "validate", path, "--output", report, "--log", "ForceOverwrite")
		cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1", "DOTNET_CLI_TELEMETRY_OPTOUT=1")
		console, err := cmd.CombinedOutput()
		data, readErr := os.ReadFile(report)
		if readErr != nil {
			t.Fatalf("multitool validate wrote no report (%v, %v):\n%s", readErr, err, console)
		}
		var validation struct {
			Runs []struct {
				Results []struct {
					RuleID, Level string
					Message       struct{ Text string }
				}
				Invocations []struct {
					ExecutionSuccessful        bool
					ToolExecutionNotifications []struct {
						Level   string
						Message struct{ Text string }
					}
				}
			}
		}
		if err := json.Unmarshal(data, &validation); err != nil {
			t.Fatalf("multitool report: %v", err)
		}
		for _, run := range validation.Runs {
			for _, inv := range run.Invocations {
				for _, n := range inv.ToolExecutionNotifications {
					if n.Level == "error" {
						t.Errorf("multitool could not process the log: %s", n.Message.Text)
					}
				}
			}
			for _, r := range run.Results {
				if r.Level == "error" {
					t.Errorf("multitool %s: %s", r.RuleID, r.Message.Text)
				} else {
					t.Logf("multitool %s %s: %s", r.Level, r.RuleID, r.Message.Text)
				}
			}
		}
		if t.Failed() {
			t.Logf("multitool console:\n%s", console)
		}
	})
}

// validateSARIFSchema validates a SARIF log against the committed SARIF 2.1.0 schema
// (testdata/sarif/README.md says where it comes from).
func validateSARIFSchema(t *testing.T, log []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	schemaPath, err := filepath.Abs(filepath.Join("testdata", "sarif", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(schemaPath); err != nil { // runCLI moved to the repository root
		schemaPath = filepath.Join("cmd", "irsa-guard", "testdata", "sarif", "sarif-schema-2.1.0.json")
	}
	schema, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("not valid SARIF 2.1.0: %v", err)
	}
}

func TestLintGitHubAnnotations(t *testing.T) {
	out, code, msg := runCLI(t, "", append([]string{"lint", "-o", "github"}, exampleArgs...)...)
	if code != 1 {
		t.Fatalf("exit code = %d (%s), want 1", code, msg)
	}
	golden(t, "lint-examples.github", out)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "::error file=") && !strings.HasPrefix(l, "::warning file=") && !strings.HasPrefix(l, "::notice file=") {
			t.Errorf("not a workflow command with a file: %q", l)
		}
	}
	if !strings.HasSuffix(lines[len(lines)-1], " info") {
		t.Errorf("last line %q is not the summary", lines[len(lines)-1])
	}
}

func TestGitHubEscapes(t *testing.T) {
	if got := escapeProperty("a,b:c%d\ne"); got != "a%2Cb%3Ac%25d%0Ae" {
		t.Errorf("escapeProperty = %q", got)
	}
	if got := escapeData("50% a:b,c\r\n"); got != "50%25 a:b,c%0D%0A" {
		t.Errorf("escapeData = %q", got)
	}
}

func TestArtifactURI(t *testing.T) {
	tests := map[string]string{
		"examples/good/sa.yaml":     "examples/good/sa.yaml",
		"./k8s/my app.yaml":         "k8s/my%20app.yaml",
		"/abs/path/sa.yaml":         "file:///abs/path/sa.yaml",
		"-":                         "",
		"charts/x/templates/#.yaml": "charts/x/templates/%23.yaml",
	}
	for in, want := range tests {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}
