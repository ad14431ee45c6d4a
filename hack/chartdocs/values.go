package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// docMarker starts a parameter's description in values.yaml (the helm-docs convention, so the
// comments read the same to people who know that tool).
const docMarker = "# --"

// defaultMarker overrides the rendered default when the literal value would mislead (for example
// an empty tag that means "the chart's appVersion").
const defaultMarker = "# @default --"

// Parameter is one row of the chart README's parameter table.
type Parameter struct {
	Key         string
	Type        string
	Default     string
	Description string
}

// parseValues returns the documented parameters of a values.yaml in file order. Every key must be
// documented, either itself or by a documented ancestor (a documented map such as `resources`
// covers its children); a map without a comment is a section and each of its keys is checked.
// Undocumented keys are an error naming each one, so a new value cannot ship unexplained.
func parseValues(data []byte) ([]Parameter, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("values.yaml is not valid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("values.yaml must be a single YAML mapping")
	}
	w := &walker{}
	w.mapping(doc.Content[0], "", false)
	if len(w.undocumented) > 0 {
		return nil, fmt.Errorf("values.yaml keys without a %q comment (add one above each key): %s",
			docMarker, strings.Join(w.undocumented, ", "))
	}
	if len(w.errs) > 0 {
		return nil, fmt.Errorf("values.yaml: %s", strings.Join(w.errs, "; "))
	}
	return w.params, nil
}

type walker struct {
	params       []Parameter
	undocumented []string
	errs         []string
}

func (w *walker) mapping(m *yaml.Node, prefix string, covered bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		path := key.Value
		if prefix != "" {
			path = prefix + "." + key.Value
		}
		desc, def, ok := docComment(key.HeadComment)
		switch {
		case ok:
			p, err := parameter(path, val, desc, def)
			if err != nil {
				w.errs = append(w.errs, err.Error())
				continue
			}
			w.params = append(w.params, p)
			if val.Kind == yaml.MappingNode {
				w.mapping(val, path, true)
			}
		case covered:
			if val.Kind == yaml.MappingNode {
				w.mapping(val, path, true)
			}
		case val.Kind == yaml.MappingNode && len(val.Content) > 0:
			w.mapping(val, path, false)
		default:
			w.undocumented = append(w.undocumented, path)
		}
	}
}

// docComment extracts the description that follows the last "# --" line of a key's head comment,
// continued by the comment lines after it, and an optional "# @default --" override.
func docComment(head string) (desc, def string, ok bool) {
	lines := strings.Split(head, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), docMarker) {
			start = i
		}
	}
	if start < 0 {
		return "", "", false
	}
	var parts []string
	for i, l := range lines[start:] {
		l = strings.TrimSpace(l)
		switch {
		case i == 0:
			parts = append(parts, strings.TrimSpace(strings.TrimPrefix(l, docMarker)))
		case strings.HasPrefix(l, defaultMarker):
			def = strings.TrimSpace(strings.TrimPrefix(l, defaultMarker))
		case l == "" || l == "#":
			// A blank comment line ends the description.
			return strings.Join(parts, " "), def, true
		default:
			parts = append(parts, strings.TrimSpace(strings.TrimPrefix(l, "#")))
		}
	}
	return strings.Join(parts, " "), def, true
}

func parameter(path string, val *yaml.Node, desc, def string) (Parameter, error) {
	if desc == "" {
		return Parameter{}, fmt.Errorf("%s: the %q comment is empty", path, docMarker)
	}
	var v any
	if err := val.Decode(&v); err != nil {
		return Parameter{}, fmt.Errorf("%s: %w", path, err)
	}
	if def == "" {
		b, err := json.Marshal(normalize(v))
		if err != nil {
			return Parameter{}, fmt.Errorf("%s: render default: %w", path, err)
		}
		def = "`" + string(b) + "`"
	}
	return Parameter{Key: path, Type: typeOf(val), Default: def, Description: desc}, nil
}

// typeOf names a value's type the way values.schema.json does.
func typeOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "list"
	}
	switch n.Tag {
	case "!!int":
		return "int"
	case "!!float":
		return "number"
	case "!!bool":
		return "bool"
	case "!!null":
		return "null"
	}
	return "string"
}

// normalize turns the map[string]any / map[any]any mix a YAML decode can produce into something
// encoding/json accepts, with keys sorted by json.Marshal.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = normalize(e)
		}
		return t
	}
	return v
}

// markdownTable renders the parameters as a GitHub-flavoured Markdown table.
func markdownTable(params []Parameter) string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Description |\n|-----|------|---------|-------------|\n")
	for _, p := range params {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", p.Key, p.Type, cell(p.Default), cell(p.Description))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// cell keeps a value inside its table cell: a literal "|" would start a new column.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
