package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseValues(t *testing.T) {
	tests := map[string]struct {
		yaml    string
		want    []Parameter
		wantErr string
	}{
		"a documented leaf becomes a row with its JSON default": {
			yaml: "# -- Webhook replicas.\nreplicaCount: 2\n",
			want: []Parameter{{Key: "replicaCount", Type: "int", Default: "`2`", Description: "Webhook replicas."}},
		},
		"a description continues over the following comment lines": {
			yaml: "# -- What the API server does\n# when irsa-guard is down.\nfailurePolicy: Ignore\n",
			want: []Parameter{{Key: "failurePolicy", Type: "string", Default: "`\"Ignore\"`", Description: "What the API server does when irsa-guard is down."}},
		},
		"an undocumented map is a section whose keys are checked one by one": {
			yaml: "image:\n  # -- Image tag.\n  tag: \"\"\n  # -- Pull it always.\n  pull: true\n",
			want: []Parameter{
				{Key: "image.tag", Type: "string", Default: "`\"\"`", Description: "Image tag."},
				{Key: "image.pull", Type: "bool", Default: "`true`", Description: "Pull it always."},
			},
		},
		"a documented map covers its undocumented children": {
			yaml: "# -- Container resources.\nresources:\n  requests:\n    cpu: 100m\n",
			want: []Parameter{{Key: "resources", Type: "object", Default: "`{\"requests\":{\"cpu\":\"100m\"}}`", Description: "Container resources."}},
		},
		"a file header comment before a blank line is not the first key's description": {
			yaml: "# Values for the chart.\n\n# -- Webhook replicas.\nreplicaCount: 2\n",
			want: []Parameter{{Key: "replicaCount", Type: "int", Default: "`2`", Description: "Webhook replicas."}},
		},
		"@default replaces a misleading literal default": {
			yaml: "# -- Image tag.\n# @default -- the chart's appVersion\ntag: \"\"\n",
			want: []Parameter{{Key: "tag", Type: "string", Default: "the chart's appVersion", Description: "Image tag."}},
		},
		"an empty list is a list, not an undocumented section": {
			yaml: "# -- Tolerations.\ntolerations: []\n",
			want: []Parameter{{Key: "tolerations", Type: "list", Default: "`[]`", Description: "Tolerations."}},
		},
		"every undocumented key is named in one error": {
			yaml:    "replicaCount: 2\nimage:\n  tag: x\n  # -- Documented.\n  repository: r\nempty: {}\n",
			wantErr: "values.yaml keys without a \"# --\" comment (add one above each key): replicaCount, image.tag, empty",
		},
		"a plain comment without the marker does not document a key": {
			yaml:    "# Webhook replicas.\nreplicaCount: 2\n",
			wantErr: "replicaCount",
		},
		"an empty marker is rejected": {
			yaml:    "# --\nreplicaCount: 2\n",
			wantErr: "replicaCount: the \"# --\" comment is empty",
		},
		"a list at the top level is not a values file": {
			yaml:    "- a\n- b\n",
			wantErr: "values.yaml must be a single YAML mapping",
		},
		"broken YAML says so": {
			yaml:    "a: [\n",
			wantErr: "values.yaml is not valid YAML",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseValues([]byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseValues() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseValues() error = %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parseValues() = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("parameter %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestMarkdownTableEscapesPipes(t *testing.T) {
	got := markdownTable([]Parameter{{Key: "mode", Type: "string", Default: "`\"warn\"`", Description: "enforce | warn | off"}})
	want := "| Key | Type | Default | Description |\n|-----|------|---------|-------------|\n" +
		"| `mode` | string | `\"warn\"` | enforce \\| warn \\| off |"
	if got != want {
		t.Errorf("markdownTable() =\n%s\nwant\n%s", got, want)
	}
}

func TestCheckSchema(t *testing.T) {
	schema := []byte(`{
	  "definitions": {"fixers": {"properties": {"fsGroup": {}}}},
	  "properties": {
	    "replicaCount": {},
	    "config": {"properties": {"mode": {}, "fixers": {"$ref": "#/definitions/fixers"}}}
	  }
	}`)
	tests := map[string]struct {
		keys    []string
		wantErr string
	}{
		"declared keys pass, through a $ref too": {keys: []string{"replicaCount", "config.mode", "config.fixers.fsGroup"}},
		"a key missing from the schema is named": {
			keys:    []string{"replicaCount", "config.moed", "config.fixers.compose"},
			wantErr: "values.schema.json does not declare these values.yaml keys (add them under \"properties\"): config.moed, config.fixers.compose",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var params []Parameter
			for _, k := range tc.keys {
				params = append(params, Parameter{Key: k})
			}
			err := checkSchema(schema, params)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("checkSchema() error = %v", err)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("checkSchema() error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestChartREADMEUpToDate keeps the committed chart README in step with values.yaml: `go test ./...`
// (make test) fails when someone edits a value's comment and forgets `make chart-docs`.
func TestChartREADMEUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "charts", "irsa-guard")
	want, err := generate(dir)
	if err != nil {
		t.Fatalf("generate(%s): %v", dir, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s/README.md is out of date: run `make chart-docs` and commit it", dir)
	}
}

// FuzzParseValues feeds arbitrary YAML to the comment parser: it must return rows or an error,
// never panic.
func FuzzParseValues(f *testing.F) {
	f.Add("# -- Replicas.\nreplicaCount: 2\n")
	f.Add("a:\n  # -- b\n  b: [1, {c: d}]\n")
	f.Add("# -- x\n# @default -- y\nx: ~\n")
	f.Add("? [a]\n: b\n")
	f.Fuzz(func(t *testing.T, in string) {
		params, err := parseValues([]byte(in))
		if err == nil {
			_ = markdownTable(params)
		}
	})
}
