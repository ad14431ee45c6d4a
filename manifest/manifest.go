// Package manifest reads Kubernetes manifests (multi-document YAML, JSON, kind: List) into
// the objects irsa-guard checks: ServiceAccounts, Pods and the pod templates of workloads.
// Everything it reads is untrusted input: it never panics, and a malformed document is an
// error naming the file, the document and its line.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/validators"
)

// MaxInputBytes bounds one file or stdin: a manifest set larger than this is not something a
// person wrote, and reading it whole must not exhaust memory.
const MaxInputBytes = 32 << 20

// Object is one checked object from a manifest and where it was found.
type Object struct {
	Source   string // file name, or "-" for stdin
	Document int    // 1-based document number within Source
	Item     int    // 1-based item number within a kind: List document, 0 otherwise
	Line     int    // 1-based line where the document starts

	APIVersion, Kind, Namespace, Name string

	// ServiceAccount is set when Kind is ServiceAccount.
	ServiceAccount *corev1.ServiceAccount
	// Pod is set for a Pod, and for a workload holds its pod template as a Pod in the
	// workload's namespace, so every pod check runs on templates unchanged.
	Pod *corev1.Pod
}

// Ref names the object the way findings do ("Deployment shop/orders").
func (o Object) Ref() validators.Object {
	return validators.Object{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// Location says where the object is, for messages: "deploy.yaml document 2 (line 14)".
func (o Object) Location() string {
	s := fmt.Sprintf("%s document %d", o.Source, o.Document)
	if o.Item > 0 {
		s += fmt.Sprintf(" item %d", o.Item)
	}
	return s + fmt.Sprintf(" (line %d)", o.Line)
}

// ServiceAccountName is the ServiceAccount a pod (template) runs as: "default" when unset,
// as the API server defaults it. "" for objects without a pod.
func (o Object) ServiceAccountName() string {
	switch {
	case o.Pod == nil:
		return ""
	case o.Pod.Spec.ServiceAccountName != "":
		return o.Pod.Spec.ServiceAccountName
	case o.Pod.Spec.DeprecatedServiceAccount != "":
		return o.Pod.Spec.DeprecatedServiceAccount
	}
	return "default"
}

// Read reads every document of r. source names r in errors and in each Object. Documents that
// are not Kubernetes objects (no kind), and kinds irsa-guard does not check, are skipped.
func Read(r io.Reader, source string) ([]Object, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("read %s: larger than %d MiB; split the manifests", source, MaxInputBytes>>20)
	}
	var out []Object
	for i, doc := range SplitDocuments(data) {
		objs, err := readDocument(doc, source, i+1)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// RawDocument is one YAML document (or one JSON value) of a stream and the line it starts on.
type RawDocument struct {
	Body []byte
	Line int // 1-based
}

// SplitDocuments splits a YAML stream at "---" lines, keeping each document's first line so
// errors can point at it. A document that is a stream of JSON objects (kubectl accepts
// concatenated JSON) is split into one document per value. It is the repository's one
// multi-document reader: lint, the test environment and the chart checks all split with it.
// Documents may be empty or hold only comments.
func SplitDocuments(data []byte) []RawDocument {
	var docs []RawDocument
	var cur bytes.Buffer
	start, line := 1, 0
	flush := func(next int) {
		docs = append(docs, splitJSONStream(RawDocument{Body: bytes.Clone(cur.Bytes()), Line: start})...)
		cur.Reset()
		start = next
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxInputBytes+1)
	for sc.Scan() {
		line++
		text := sc.Text()
		trimmed := strings.TrimRight(text, " \t\r")
		if trimmed == "---" || strings.HasPrefix(text, "--- ") || trimmed == "..." {
			flush(line + 1)
			continue
		}
		cur.WriteString(text)
		cur.WriteByte('\n')
	}
	flush(line + 1)
	return docs
}

func splitJSONStream(d RawDocument) []RawDocument {
	trimmed := bytes.TrimLeft(d.Body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return []RawDocument{d}
	}
	dec := json.NewDecoder(bytes.NewReader(d.Body))
	var docs []RawDocument
	for {
		off := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return docs
			}
			// Let the YAML reader report the error with its line numbers.
			return []RawDocument{d}
		}
		begin := off + len(d.Body[off:]) - len(bytes.TrimLeft(d.Body[off:], " \t\r\n"))
		docs = append(docs, RawDocument{Body: raw, Line: d.Line + bytes.Count(d.Body[:begin], []byte("\n"))})
	}
}
