package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/manifest"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// TestWebhookAndLintDecideTheSame runs every manifest in examples/ through both front ends against
// the same AWS state (examples/demo/aws-state.yaml, with a reader role for its data account and
// the cluster's name, so EKS Pod Identity associations count):
// `irsa-guard lint -o json` as a user runs it, and the admission handlers over HTTP with the same
// objects in the cluster and pod-identity-webhook registered. Pods reach the validating webhook
// after pod-identity-webhook has injected them, so they are sent as it injects them. Both must
// report the same findings for every object. A pod's answer at admission also carries findings on
// its ServiceAccount, which lint reports once, on the ServiceAccount: each must be one of those.
func TestWebhookAndLintDecideTheSame(t *testing.T) {
	t.Chdir("../..")
	const statePath = "examples/demo/aws-state.yaml"
	readers := map[string]string{"444455556666": "arn:aws:iam::444455556666:role/irsa-guard-reader"}

	// The lint path, as a user runs it.
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"lint", "-f", "examples/", "--aws-state", statePath, "--issuer", exampleIssuer, "--cluster", "demo",
		"--reader-role", "444455556666=" + readers["444455556666"], "-o", "json"})
	if err := cmd.ExecuteContext(context.Background()); err != nil && !errors.Is(err, errFindings) {
		t.Fatalf("lint: %v\n%s", err, out.String())
	}
	var linted struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &linted); err != nil {
		t.Fatalf("lint -o json: %v\n%s", err, out.String())
	}
	bySource := map[string][]validators.Finding{}
	for _, raw := range linted.Findings {
		var f validators.Finding
		var where struct {
			Source string `json:"source"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &where); err != nil {
			t.Fatal(err)
		}
		bySource[where.Source] = append(bySource[where.Source], f)
	}

	// The webhook path: the same objects in a cluster, the same AWS state, the real handlers.
	objs, err := manifest.ReadPath("examples", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.AWS.ReaderRoles = readers
	cfg.Cluster.Name = "demo" // EKS Pod Identity associations are looked up
	st, err := awsstate.LoadState(statePath)
	if err != nil {
		t.Fatal(err)
	}
	c := clusterOf(t, objs)
	cluster := &kubefacts.Reader{Cache: c, API: c}
	var reported []validators.Finding
	deps := &webhook.Deps{
		Engine:  review.New(cfg, review.Options{Facts: awsfacts.NewStateSource(st, readers, nil), Cluster: cluster, Issuer: exampleIssuer}),
		Cluster: cluster, Policy: webhook.Policy{Policy: cfg.Policy}, Budget: 10 * time.Second,
		Observe: func(_ string, d webhook.Decision) { reported = d.Reported },
	}
	scheme := testScheme(t)
	saHandler := admission.WithValidator[*corev1.ServiceAccount](scheme, &webhook.ServiceAccountValidator{Deps: deps})
	podHandler := admission.WithValidator[*corev1.Pod](scheme, &webhook.PodValidator{Deps: deps})
	settings := validators.WebhookSettings{Audience: cfg.Cluster.PodIdentityWebhook.Audience, TokenExpiration: cfg.Cluster.PodIdentityWebhook.TokenExpiration}

	compared := 0
	for _, o := range objs {
		source := sourceOf(o)
		want := bySource[source]
		var serviceAccountFindings []validators.Finding // lint's findings on a pod's ServiceAccount
		reported = nil
		switch {
		case o.ServiceAccount != nil:
			admit(t, saHandler, "ServiceAccount", "serviceaccounts", o.Namespace, o.ServiceAccount)
		case o.Pod != nil:
			sa := &corev1.ServiceAccount{}
			known := c.Get(context.Background(), client.ObjectKey{Namespace: o.Namespace, Name: review.ServiceAccountName(o.Pod)}, sa) == nil
			pod := o.Pod
			if known {
				association := false
				for _, c := range st.Clusters {
					for _, a := range c.PodIdentityAssociations {
						association = association || (a.Namespace == sa.Namespace && a.ServiceAccount == sa.Name)
					}
				}
				pod, _ = validators.PredictInjection(o.Pod, sa, settings, association)
				for _, s := range objs {
					if s.ServiceAccount != nil && s.Namespace == o.Namespace && s.Name == sa.Name {
						serviceAccountFindings = bySource[sourceOf(s)]
					}
				}
			}
			admit(t, podHandler, "Pod", "pods", o.Namespace, pod)
		default:
			continue
		}
		compared++
		own, onServiceAccount := reported, []validators.Finding(nil)
		if o.Pod != nil {
			own = nil
			for _, f := range reported {
				if f.Object.Kind == "ServiceAccount" {
					onServiceAccount = append(onServiceAccount, f)
				} else {
					own = append(own, f)
				}
			}
		}
		if got, want := normalize(own), normalize(want); !slices.Equal(got, want) {
			t.Errorf("%s %s (%s):\nwebhook:\n  %s\nlint:\n  %s", o.Kind, o.Name, source, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		linted := normalize(serviceAccountFindings)
		for _, f := range normalize(onServiceAccount) {
			if !slices.Contains(linted, f) {
				t.Errorf("%s %s (%s): at admission it reports, on its ServiceAccount,\n  %s\nwhich lint does not report on the ServiceAccount:\n  %s",
					o.Kind, o.Name, source, f, strings.Join(linted, "\n  "))
			}
		}
	}
	if compared < 25 {
		t.Fatalf("compared %d objects; examples/ holds more", compared)
	}
}

// normalize renders findings for comparison, sorted: a pod-level finding names the Pod at
// admission and the workload in lint, so the kind of a pod's object is left out.
func normalize(fs []validators.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		obj := f.Object
		if obj.Kind != "ServiceAccount" {
			obj.Kind = "<pod>"
		}
		out = append(out, fmt.Sprintf("%s %s [%s] %s | %s | %s", f.Check, f.Severity, obj, f.Message, f.PredictedError, f.Fix))
	}
	slices.Sort(out)
	return out
}

// clusterOf is a cluster holding the manifests' ServiceAccounts (the last of a name wins, as
// kubectl apply leaves it), their namespaces, and pod-identity-webhook as EKS registers it.
func clusterOf(t *testing.T, objs []manifest.Object) client.Client {
	t.Helper()
	serviceAccounts := map[string]*corev1.ServiceAccount{}
	namespaces := map[string]bool{}
	for _, o := range objs {
		namespaces[o.Namespace] = true
		if o.ServiceAccount != nil {
			serviceAccounts[o.Namespace+"/"+o.Name] = o.ServiceAccount.DeepCopy()
		}
	}
	url := "https://127.0.0.1:23443/mutate"
	items := []client.Object{&admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "iam-for-pods.amazonaws.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}}
	for ns := range namespaces {
		items = append(items, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	for _, sa := range serviceAccounts {
		sa.ResourceVersion = ""
		items = append(items, sa)
	}
	return fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(items...).Build()
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// admit POSTs a CREATE AdmissionReview for obj to h, as the API server does.
func admit(t *testing.T, h http.Handler, kind, resource, namespace string, obj any) {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: resource}, Namespace: namespace,
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("admission of %s %s: HTTP %d %s", kind, namespace, rec.Code, rec.Body.String())
	}
}
