package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// header is what every Kubernetes object has; it decides how to decode the rest.
type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// readDocument decodes one document into zero or more Objects (more for kind: List).
func readDocument(d RawDocument, source string, n int) ([]Object, error) {
	body, err := yaml.YAMLToJSON(d.Body)
	if err != nil {
		return nil, docError(source, n, d.Line, shiftLines(err.Error(), d.Line))
	}
	if len(strings.TrimSpace(string(body))) == 0 || string(body) == "null" {
		return nil, nil // empty document or only comments
	}
	if body[0] != '{' {
		return nil, nil // a scalar or a list: not a Kubernetes object (e.g. a values file)
	}
	loc := Object{Source: source, Document: n, Line: d.Line}
	var h header
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, docError(source, n, d.Line, explain(err, body))
	}
	if h.Kind == "List" || (strings.HasSuffix(h.Kind, "List") && h.Items != nil) {
		var out []Object
		for i, item := range h.Items {
			loc.Item = i + 1
			o, ok, err := decodeObject(item, loc)
			if err != nil {
				return nil, docError(source, n, d.Line, fmt.Sprintf("item %d: %v", i+1, err))
			}
			if ok {
				out = append(out, o)
			}
		}
		return out, nil
	}
	o, ok, err := decodeObject(body, loc)
	if err != nil {
		return nil, docError(source, n, d.Line, err.Error())
	}
	if !ok {
		return nil, nil
	}
	return []Object{o}, nil
}

// decodeObject decodes one object of a kind irsa-guard checks; ok is false for other kinds.
func decodeObject(body []byte, loc Object) (Object, bool, error) {
	var h header
	if err := json.Unmarshal(body, &h); err != nil {
		return Object{}, false, fmt.Errorf("%s", explain(err, body))
	}
	o := loc
	o.APIVersion, o.Kind, o.Namespace, o.Name = h.APIVersion, h.Kind, h.Metadata.Namespace, h.Metadata.Name
	if o.Name == "" && h.Metadata.GenerateName != "" {
		o.Name = h.Metadata.GenerateName + "*" // as validators.PodObject names it
	}
	group, _, _ := strings.Cut(h.APIVersion, "/")
	if !strings.Contains(h.APIVersion, "/") {
		group = ""
	}
	var err error
	switch {
	case h.Kind == "ServiceAccount" && group == "":
		o.ServiceAccount = &corev1.ServiceAccount{}
		err = json.Unmarshal(body, o.ServiceAccount)
	case h.Kind == "Pod" && group == "":
		o.Pod = &corev1.Pod{}
		err = json.Unmarshal(body, o.Pod)
	case group == "apps" && (h.Kind == "Deployment" || h.Kind == "StatefulSet" || h.Kind == "DaemonSet" || h.Kind == "ReplicaSet"):
		// Deployment, StatefulSet, DaemonSet and ReplicaSet share spec.template.
		var w struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		err = json.Unmarshal(body, &w)
		o.Pod = templatePod(h, w.Spec.Template)
	case group == "batch" && h.Kind == "Job":
		var j batchv1.Job
		err = json.Unmarshal(body, &j)
		o.Pod = templatePod(h, j.Spec.Template)
	case group == "batch" && h.Kind == "CronJob":
		var c batchv1.CronJob
		err = json.Unmarshal(body, &c)
		o.Pod = templatePod(h, c.Spec.JobTemplate.Spec.Template)
	default:
		return Object{}, false, nil
	}
	if err != nil {
		return Object{}, false, fmt.Errorf("%s %s: %s", h.Kind, o.Name, explain(err, body))
	}
	return o, true, nil
}

// templatePod turns a workload's pod template into the Pod the controller would create.
func templatePod(h header, t corev1.PodTemplateSpec) *corev1.Pod {
	meta := t.ObjectMeta
	meta.Namespace = h.Metadata.Namespace
	if meta.Name == "" {
		meta.Name = h.Metadata.Name
	}
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta, Spec: t.Spec}
}

// explain turns a JSON type error into advice. The commonest is an unquoted annotation value
// (token-expiration: 3600), which the API server rejects as well.
func explain(err error, body []byte) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	field := te.Field
	if strings.HasSuffix(field, "annotations") || strings.HasSuffix(field, "labels") {
		var doc any
		if json.Unmarshal(body, &doc) == nil {
			if key := firstNonString(doc, field); key != "" {
				field += "[" + strconv.Quote(key) + "]"
			}
		}
		return fmt.Sprintf("field %s: got a JSON %s, want a string; quote the value, e.g. \"3600\" or \"true\"", field, te.Value)
	}
	return fmt.Sprintf("field %s: got a JSON %s, want %s", field, te.Value, te.Type)
}

// firstNonString follows a dotted field path ("metadata.annotations") through decoded JSON and
// returns the first key (in sorted order) of that map whose value is not a string.
func firstNonString(doc any, path string) string {
	for _, part := range strings.Split(path, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return ""
		}
		doc = m[part]
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if _, ok := v.(string); !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// shiftLines rewrites "line N" in a YAML error, which counts from the document's start, to a
// line of the file.
func shiftLines(msg string, start int) string {
	return yamlLine.ReplaceAllStringFunc(msg, func(m string) string {
		n, err := strconv.Atoi(m[len("line "):])
		if err != nil {
			return m
		}
		return "line " + strconv.Itoa(n+start-1)
	})
}

func docError(source string, n, line int, msg string) error {
	return fmt.Errorf("%s: document %d (line %d): %s", source, n, line, msg)
}
