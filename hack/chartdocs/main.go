// Command chartdocs writes a Helm chart's README.md from README.md.gotmpl and the `# --` comments
// in values.yaml, so the parameter table can never drift from the values it describes.
//
//	go run ./hack/chartdocs charts/irsa-guard          # rewrite README.md
//	go run ./hack/chartdocs -check charts/irsa-guard   # fail if README.md is stale
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"sigs.k8s.io/yaml"
)

func main() {
	check := flag.Bool("check", false, "do not write: exit 1 if README.md differs from what would be generated")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chartdocs [-check] CHART_DIR")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *check); err != nil {
		fmt.Fprintln(os.Stderr, "chartdocs:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	want, err := generate(dir)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "README.md")
	if !check {
		return os.WriteFile(path, want, 0o644)
	}
	got, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s is out of date with values.yaml or README.md.gotmpl: run `make chart-docs` and commit it", path)
	}
	return nil
}

// chartMeta is what the README template may use from Chart.yaml.
type chartMeta struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	KubeVersion string `json:"kubeVersion"`
}

// generate renders the README of the chart in dir.
func generate(dir string) ([]byte, error) {
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read chart file: %w", err)
		}
		return b, nil
	}
	chartYAML, err := read("Chart.yaml")
	if err != nil {
		return nil, err
	}
	var meta chartMeta
	if err := yaml.Unmarshal(chartYAML, &meta); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "Chart.yaml"), err)
	}
	values, err := read("values.yaml")
	if err != nil {
		return nil, err
	}
	params, err := parseValues(values)
	if err != nil {
		return nil, err
	}
	schema, err := read("values.schema.json")
	if err != nil {
		return nil, err
	}
	if err := checkSchema(schema, params); err != nil {
		return nil, err
	}
	tmplText, err := read("README.md.gotmpl")
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New("README.md.gotmpl").Option("missingkey=error").Parse(string(tmplText))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = tmpl.Execute(&out, struct {
		Chart      chartMeta
		Parameters string
	}{meta, markdownTable(params)})
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
