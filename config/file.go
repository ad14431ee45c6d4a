package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// maxFileBytes bounds a configuration file: the chart renders well under a kilobyte.
const maxFileBytes = 1 << 20

// load reads the file at path over c. The file must name this version; an unknown key is an
// error, so a typo never silently falls back to a default.
func (c *Configuration) load(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	if info.Size() > maxFileBytes {
		return fmt.Errorf("config file %s is %d bytes, larger than the %d a configuration can be", path, info.Size(), maxFileBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	if err := c.Decode(data); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// Decode reads a configuration document over c: apiVersion and kind first (a clear error for a
// missing or unknown version), then every key strictly.
func (c *Configuration) Decode(data []byte) error {
	var header struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &header); err != nil {
		return fmt.Errorf("not a YAML object: %w", err)
	}
	switch {
	case header.APIVersion == "" && header.Kind == "":
		return fmt.Errorf("apiVersion and kind are missing; start the file with apiVersion: %s and kind: %s "+
			"(the layout is charts/irsa-guard/templates/_config.tpl; keys are documented in docs/configuration.md)", APIVersion, Kind)
	case header.APIVersion != APIVersion:
		return fmt.Errorf("apiVersion %q is not one this irsa-guard reads; use %s", header.APIVersion, APIVersion)
	case header.Kind != Kind:
		return fmt.Errorf("kind %q is not a configuration; use kind: %s", header.Kind, Kind)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(data, &tree); err != nil {
		return fmt.Errorf("not a YAML object: %w", err)
	}
	if key := unknownKey(tree, reflect.TypeOf(*c), ""); key != "" {
		return fmt.Errorf("unknown key %q (the keys are documented in docs/configuration.md)", key)
	}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return fmt.Errorf("%s (the keys are documented in docs/configuration.md)", strings.TrimPrefix(unwrapYAML(err), "error unmarshaling JSON: "))
	}
	return nil
}

// unknownKey returns the dotted path of the first key in tree (sorted, depth first) that t has no
// field for, "" when every key is known. Maps take any key; their values are not walked.
func unknownKey(tree map[string]any, t reflect.Type, prefix string) string {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			return prefix + k
		}
		sub, isMap := tree[k].(map[string]any)
		if isMap && ft.Kind() == reflect.Struct && ft.String() != "v1.Duration" {
			if key := unknownKey(sub, ft, prefix+k+"."); key != "" {
				return key
			}
		}
	}
	return ""
}

// unwrapYAML shortens sigs.k8s.io/yaml's wrapped errors to their cause.
func unwrapYAML(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
