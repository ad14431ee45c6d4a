package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// summary renders what Read found, one object a line, so tables state the exact outcome.
func summary(objs []Object) string {
	var lines []string
	for _, o := range objs {
		s := fmt.Sprintf("%s %s sa=%s at %s", o.Ref(), o.APIVersion, o.ServiceAccountName(), o.Location())
		if o.ServiceAccount != nil {
			s += " annotations=" + fmt.Sprint(len(o.ServiceAccount.Annotations))
		}
		if o.Pod != nil {
			s += fmt.Sprintf(" containers=%d podAnnotations=%d", len(o.Pod.Spec.Containers), len(o.Pod.Annotations))
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

func TestRead(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
	}{
		"a ServiceAccount and a Deployment in one file": {
			in: `# app
apiVersion: v1
kind: ServiceAccount
metadata:
  name: orders
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/orders
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders, namespace: shop}
spec:
  template:
    metadata:
      annotations: {eks.amazonaws.com/skip-containers: istio-proxy}
    spec:
      serviceAccountName: orders
      containers: [{name: app, image: app:1}]
`,
			want: "ServiceAccount shop/orders v1 sa= at m.yaml document 1 (line 1) annotations=1\n" +
				"Deployment shop/orders apps/v1 sa=orders at m.yaml document 2 (line 10) containers=1 podAnnotations=1",
		},
		"every workload kind, with the default ServiceAccount when none is named": {
			in: `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec: {template: {spec: {containers: [{name: db}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec: {template: {spec: {serviceAccount: legacy, containers: [{name: a}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {template: {spec: {containers: [{name: a}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: backup}
spec: {template: {spec: {serviceAccountName: backup, containers: [{name: b}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec: {schedule: "@daily", jobTemplate: {spec: {template: {spec: {serviceAccountName: backup, containers: [{name: b}]}}}}}
`,
			want: "StatefulSet db apps/v1 sa=default at m.yaml document 1 (line 1) containers=1 podAnnotations=0\n" +
				"DaemonSet kube-system/agent apps/v1 sa=legacy at m.yaml document 2 (line 6) containers=1 podAnnotations=0\n" +
				"ReplicaSet rs apps/v1 sa=default at m.yaml document 3 (line 11) containers=1 podAnnotations=0\n" +
				"Job backup batch/v1 sa=backup at m.yaml document 4 (line 16) containers=1 podAnnotations=0\n" +
				"CronJob nightly batch/v1 sa=backup at m.yaml document 5 (line 21) containers=1 podAnnotations=0",
		},
		"a kubectl get -o yaml List": {
			in: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: a, namespace: shop}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: skipped}
- apiVersion: v1
  kind: Pod
  metadata: {name: p, namespace: shop}
  spec: {containers: [{name: c}]}
`,
			want: "ServiceAccount shop/a v1 sa= at m.yaml document 1 item 1 (line 1) annotations=0\n" +
				"Pod shop/p v1 sa=default at m.yaml document 1 item 3 (line 1) containers=1 podAnnotations=0",
		},
		"a Job with only generateName, as kubectl create takes it": {
			in:   "apiVersion: batch/v1\nkind: Job\nmetadata: {generateName: backup-, namespace: ops}\nspec: {template: {spec: {containers: [{name: b}]}}}\n",
			want: "Job ops/backup-* batch/v1 sa=default at m.yaml document 1 (line 1) containers=1 podAnnotations=0",
		},
		"JSON, including concatenated objects": {
			in: `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"ServiceAccount",
 "metadata":{"name":"b"}}`,
			want: "ServiceAccount a v1 sa= at m.yaml document 1 (line 1) annotations=0\n" +
				"ServiceAccount b v1 sa= at m.yaml document 2 (line 2) annotations=0",
		},
		"other kinds, other groups, empty documents and non-Kubernetes files are skipped": {
			in: `---
# only a comment
---
apiVersion: apps.openshift.io/v1
kind: Deployment
metadata: {name: not-apps}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
{"Version": "2012-10-17", "Statement": []}
---
- a list
---
just a string
`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), "m.yaml")
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if s := summary(got); s != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", s, tc.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := map[string]struct {
		in   string
		want string
	}{
		"an unquoted token-expiration": {
			in:   "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n  annotations:\n    eks.amazonaws.com/token-expiration: 3600\n",
			want: `m.yaml: document 2 (line 5): field metadata.annotations["eks.amazonaws.com/token-expiration"]: got a JSON number, want a string; quote the value, e.g. "3600" or "true"`,
		},
		"broken indentation in the third document": {
			in:   "kind: A\n---\nkind: B\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n    namespace: b\n",
			want: "m.yaml: document 3 (line 5): yaml: line 9: mapping values are not allowed in this context",
		},
		"a tab used for indentation": {
			in:   "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n",
			want: "m.yaml: document 1 (line 1): yaml: line 4: found character that cannot start any token",
		},
		"containers given as a map": {
			in:   "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    name: app\n",
			want: "m.yaml: document 1 (line 1): Pod p: field spec.containers: got a JSON object, want []v1.Container",
		},
		"YAML 1.1 reads a bare n as false": {
			in:   "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: n}\n",
			want: "m.yaml: document 1 (line 1): field metadata.namespace: got a JSON bool, want string",
		},
		"an unquoted boolean in a pod template's annotations": {
			in:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n      annotations: {a: x, eks.amazonaws.com/sts-regional-endpoints: true}\n",
			want: `m.yaml: document 1 (line 1): Deployment d: field spec.template.metadata.annotations["eks.amazonaws.com/sts-regional-endpoints"]: got a JSON bool, want a string; quote the value, e.g. "3600" or "true"`,
		},
		"a List item with the wrong shape": {
			in:   "apiVersion: v1\nkind: List\nitems:\n- kind: ServiceAccount\n  apiVersion: v1\n  metadata: [a]\n",
			want: "m.yaml: document 1 (line 1): item 1: field metadata: got a JSON array, want v1.ObjectMeta",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), "m.yaml")
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
}

func TestReadPathWalksADirectoryInOrder(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sa := func(name string) string {
		return "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: " + name + "}\n"
	}
	write("b.yml", sa("b"))
	write("a/z.json", `{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"az"}}`)
	write("c.txt", sa("ignored"))
	write(".git/x.yaml", sa("hidden"))
	write("trust-policy.json", `{"Version":"2012-10-17","Statement":[]}`)
	got, err := ReadPath(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range got {
		names = append(names, o.Name)
	}
	if s := strings.Join(names, ","); s != "az,b" {
		t.Fatalf("names = %s, want az,b", s)
	}
	if _, err := ReadPath(filepath.Join(dir, "missing.yaml"), nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file error = %v", err)
	}
	if got, err := ReadPath("-", strings.NewReader(sa("stdin"))); err != nil || got[0].Source != "-" {
		t.Fatalf("stdin: %v %+v", err, got)
	}
}

// FuzzRead checks that no input panics the reader and that every error names the source.
func FuzzRead(f *testing.F) {
	f.Add("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, annotations: {x: 1}}\n---\n")
	f.Add(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"batch/v1","kind":"CronJob"}]}{`)
	f.Add("apiVersion: apps/v1\nkind: Deployment\nspec: {template: {metadata: {name: 3}}}\n...\n--- \n")
	f.Add("&a [*a, *a]\n---\nkind: List\nitems: [1, null, {kind: Pod, apiVersion: v1}]\n")
	f.Fuzz(func(t *testing.T, in string) {
		objs, err := Read(strings.NewReader(in), "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: document ") {
				t.Fatalf("error does not name the document: %v", err)
			}
			return
		}
		for _, o := range objs {
			if o.ServiceAccount == nil && o.Pod == nil {
				t.Fatalf("object without content: %+v", o)
			}
			_ = o.ServiceAccountName()
		}
	})
}
