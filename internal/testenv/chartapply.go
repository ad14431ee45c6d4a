package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/irsa-guard/irsa-guard/manifest"
	sigsyaml "sigs.k8s.io/yaml"
)

// Manifest is one rendered object, decoded as the API server's JSON sees it, so a rendered object and
// the stored one can be compared field by field.
type Manifest struct {
	Kind      string
	Namespace string
	Name      string
	Object    map[string]any
}

// String names the object the way kubectl does in error messages, e.g. Deployment irsa-guard/irsa-guard.
func (m Manifest) String() string {
	if m.Namespace == "" {
		return m.Kind + " " + m.Name
	}
	return m.Kind + " " + m.Namespace + "/" + m.Name
}

// HelmTemplate runs `helm template irsa-guard` on charts/irsa-guard under root into namespace with the
// value files given, using the helm that hack/helm.sh builds and caches, and returns the YAML stream as
// `helm template ... | kubectl apply -f -` would pipe it. RenderChart splits it for running the server.
func HelmTemplate(ctx context.Context, root, namespace string, valueFiles ...string) ([]byte, error) {
	args := []string{"template", "irsa-guard", filepath.Join(root, "charts", "irsa-guard"), "--namespace", namespace}
	for _, f := range valueFiles {
		args = append(args, "--values", f)
	}
	script := `eval "$("$1"/hack/helm.sh)" && shift && exec helm "$@"`
	cmd := exec.CommandContext(ctx, "bash", append([]string{"-c", script, "bash", root}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s (helm comes from hack/helm.sh; run `make helm-tools` to see why it failed): %w\n%s",
			strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// DecodeManifests splits a multi-document YAML stream into objects, skipping documents that rendered
// empty. Every object must have a kind and a name: the API server would refuse it anyway, but here the
// error can say which document.
func DecodeManifests(manifests []byte) ([]Manifest, error) {
	var out []Manifest
	for i, d := range manifest.SplitDocuments(manifests) {
		doc := i + 1
		data, err := sigsyaml.YAMLToJSON(d.Body)
		if err != nil {
			return nil, fmt.Errorf("YAML document %d: %w", doc, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("YAML document %d is not an object: %w", doc, err)
		}
		if obj == nil {
			continue // a template that rendered nothing but comments
		}
		m, err := manifestOf(obj)
		if err != nil {
			return nil, fmt.Errorf("YAML document %d: %w", doc, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// manifestOf reads the identity of a decoded object.
func manifestOf(obj map[string]any) (Manifest, error) {
	meta, _ := obj["metadata"].(map[string]any)
	m := Manifest{Object: obj}
	m.Kind, _ = obj["kind"].(string)
	m.Name, _ = meta["name"].(string)
	m.Namespace, _ = meta["namespace"].(string)
	if m.Kind == "" || m.Name == "" {
		return m, errors.New("an object needs kind and metadata.name")
	}
	return m, nil
}

// ApplyAsRendered server-side applies manifests with the real kubectl (field validation Strict, as
// kubectl sends by default; field manager "kubectl", as StartIRSAGuard's apply, so either may update
// the other's objects without conflicts) and checks that the API server stored every object with every rendered
// field as rendered. Strict validation rejects unknown and duplicate fields; the comparison catches
// what it lets through: fields the server drops (a disabled feature gate) or rewrites (a quantity in
// a non-canonical form, which GitOps tools then show as a permanent diff). It returns the objects as
// stored.
func (e *Env) ApplyAsRendered(ctx context.Context, manifests []byte) ([]Manifest, error) {
	rendered, err := DecodeManifests(manifests)
	if err != nil {
		return nil, err
	}
	res := e.KubectlWithInput(ctx, manifests, "apply", "--server-side", "-o", "json", "-f", "-")
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("kubectl apply --server-side rejected the render: %s", res)
	}
	stored, err := decodeApplied([]byte(res.Stdout))
	if err != nil {
		return nil, err
	}
	byID := map[string]Manifest{}
	for _, s := range stored {
		byID[s.String()] = s
	}
	var problems []string
	var out []Manifest
	for _, r := range rendered {
		s, ok := byID[r.String()]
		if !ok {
			problems = append(problems, r.String()+": kubectl did not return it as applied")
			continue
		}
		out = append(out, s)
		for _, d := range Drift(r.Object, s.Object) {
			problems = append(problems, r.String()+": "+d)
		}
	}
	if len(problems) > 0 {
		return out, fmt.Errorf("the API server did not store the render as rendered:\n%s", strings.Join(problems, "\n"))
	}
	return out, nil
}

// decodeApplied reads `kubectl apply -o json` output: one object, or a List when several were applied.
func decodeApplied(data []byte) ([]Manifest, error) {
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("kubectl apply -o json printed something that is not JSON: %w", err)
	}
	items := []any{obj}
	if obj["kind"] == "List" {
		items, _ = obj["items"].([]any)
	}
	var out []Manifest
	for i, item := range items {
		o, _ := item.(map[string]any)
		m, err := manifestOf(o)
		if err != nil {
			return nil, fmt.Errorf("kubectl apply -o json item %d: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Drift lists, as "path: rendered X, stored Y" lines, every field of rendered that stored lacks or holds
// with another value. Fields only stored has (defaults, status, server-managed metadata) are not drift,
// so a list element may gain fields but a list may not change length or order.
func Drift(rendered, stored any) []string {
	var out []string
	drift("", rendered, stored, &out)
	return out
}

func drift(path string, rendered, stored any, out *[]string) {
	switch r := rendered.(type) {
	case map[string]any:
		s, ok := stored.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: rendered an object, stored %s", orRoot(path), describe(stored)))
			return
		}
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			child := k
			if path != "" {
				child = path + "." + k
			}
			sv, present := s[k]
			if !present {
				if r[k] != nil && !isEmpty(r[k]) {
					*out = append(*out, fmt.Sprintf("%s: rendered %s, dropped by the API server", child, describe(r[k])))
				}
				continue
			}
			drift(child, r[k], sv, out)
		}
	case []any:
		s, ok := stored.([]any)
		if !ok || len(s) != len(r) {
			*out = append(*out, fmt.Sprintf("%s: rendered %s, stored %s", orRoot(path), describe(rendered), describe(stored)))
			return
		}
		for i := range r {
			drift(fmt.Sprintf("%s[%d]", path, i), r[i], s[i], out)
		}
	default:
		if !reflect.DeepEqual(rendered, stored) {
			*out = append(*out, fmt.Sprintf("%s: rendered %s, stored %s", orRoot(path), describe(rendered), describe(stored)))
		}
	}
}

// isEmpty reports whether a rendered value means the same as the field being absent ({} or []), which
// the API server does not store for omitempty fields.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func orRoot(path string) string {
	if path == "" {
		return "(object)"
	}
	return path
}

// describe shows a value briefly: scalars as JSON (long strings, such as a Secret's key, cut short),
// objects and lists by size.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return fmt.Sprintf("an object with %d fields", len(x))
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case string:
		if len(x) > 40 {
			return fmt.Sprintf("%q... (%d bytes)", x[:16], len(x))
		}
	}
	data, _ := json.Marshal(v)
	return string(data)
}
