package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/review"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

const (
	issuer   = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	goodRole = "arn:aws:iam::111122223333:role/cart"
)

func scheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func piwConfig() *admissionregistrationv1.MutatingWebhookConfiguration {
	url := "https://127.0.0.1:23443/mutate"
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "iam-for-pods.amazonaws.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}
}

func namespace(labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: labels}}
}

func serviceAccount(role string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Annotations: map[string]string{validators.AnnotationRoleARN: role}},
	}
}

type recordedEvent struct{ reason, note string }

type fakeEvents struct {
	mu     sync.Mutex
	events []recordedEvent
}

func (f *fakeEvents) Eventf(_, _ runtime.Object, _, reason, _, note string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, recordedEvent{reason, strings.ReplaceAll(note, "%s", args[0].(string))})
}

// send sends an AdmissionReview through the handler's HTTP endpoint, as the API server does.
func send(t *testing.T, h http.Handler, op admissionv1.Operation, obj, old runtime.Object, dryRun bool) *admissionv1.AdmissionResponse {
	t.Helper()
	raw := func(o runtime.Object) runtime.RawExtension {
		if o == nil {
			return runtime.RawExtension{}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	kind := obj.GetObjectKind().GroupVersionKind()
	in := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID("8e2e7d0c-1"), Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind.Kind},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: strings.ToLower(kind.Kind) + "s"},
			Namespace: "shop", Operation: op, Object: raw(obj), OldObject: raw(old), DryRun: &dryRun,
		},
	}
	body, _ := json.Marshal(in)
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("bad AdmissionReview response %q: %v", rec.Body.String(), err)
	}
	return out.Response
}

// factsFunc is a facts source answering IdentityFacts with a function.
type factsFunc func(ctx context.Context, id validators.Identity) validators.AWSFacts

func (f factsFunc) IdentityFacts(ctx context.Context, id validators.Identity) validators.AWSFacts {
	return f(ctx, id)
}
func (f factsFunc) CallerAccount(context.Context) (string, string, error) {
	return "aws", "111122223333", nil
}
func (f factsFunc) ClusterIssuer(context.Context, string) (string, error) { return issuer, nil }
func (f factsFunc) PodIdentity(_ context.Context, cluster, _, _ string) validators.PodIdentityFacts {
	return validators.PodIdentityFacts{Cluster: cluster}
}

// goodFacts is what AWS says about a healthy setup for shop/cart.
func goodFacts(_ context.Context, id validators.Identity) validators.AWSFacts {
	hp := validators.IssuerHostPath(issuer)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + hp +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:shop:cart","` + hp + `:aud":"sts.amazonaws.com"}}}]}`
	return validators.AWSFacts{Now: time.Now(), Partition: "aws",
		Role:     &validators.RoleFacts{ARN: id.RoleARN, Trust: validators.ParseTrustDocument(trust)},
		Provider: &validators.ProviderFacts{ARN: validators.ProviderARN("aws", "111122223333", issuer), ClientIDs: []string{"sts.amazonaws.com"}}}
}

// deps builds the handlers' dependencies on a fake cluster holding objs and the facts source.
func deps(t testing.TB, mode config.Mode, facts factsFunc, objs ...client.Object) (*Deps, *fakeEvents, *kubefacts.Reader) {
	ev := &fakeEvents{}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objs...).Build()
	cluster := &kubefacts.Reader{Cache: c, API: c}
	cfg := config.Default()
	cfg.Policy.Mode = mode
	var src awsfacts.Source
	if facts != nil {
		src = facts
	}
	return &Deps{
		Engine:  review.New(cfg, review.Options{Facts: src, Cluster: cluster, Issuer: issuer}),
		Cluster: cluster, Policy: Policy{Policy: cfg.Policy}, Budget: 500 * time.Millisecond, Events: ev,
	}, ev, cluster
}

func noAWS(t *testing.T) factsFunc {
	return func(context.Context, validators.Identity) validators.AWSFacts {
		t.Error("AWS must not be asked here")
		return validators.AWSFacts{}
	}
}

func TestServiceAccountAdmission(t *testing.T) {
	roleMissing := func(_ context.Context, id validators.Identity) validators.AWSFacts {
		if id.Subject() != "system:serviceaccount:shop:cart" || id.Issuer != issuer || id.EffectiveAudience() != "sts.amazonaws.com" {
			t.Errorf("identity = %+v", id)
		}
		f := goodFacts(context.Background(), id)
		f.Role, f.RoleNotFound = nil, true
		return f
	}
	tests := map[string]struct {
		mode         config.Mode
		facts        func(*testing.T) factsFunc
		op           admissionv1.Operation
		sa, old      *corev1.ServiceAccount
		dryRun       bool
		wantAllowed  bool
		wantWarnings []string
		wantDenial   string
		wantEvents   int
	}{
		"enforce denies an extra colon before AWS is asked, with the fix": {
			mode: config.ModeEnforce, facts: noAWS, op: admissionv1.Create,
			sa:          serviceAccount("arn:aws:iam::::1234567890:role/example"),
			wantAllowed: false, wantDenial: "- IRSA001: ",
			wantWarnings: []string{`IRSA001: role-arn has 2 extra ":" around the account ID; has account ID "1234567890" with 10 digits, not 12`},
		},
		"warn mode warns about a missing role and records an event": {
			mode: config.ModeWarn, facts: func(*testing.T) factsFunc { return roleMissing }, op: admissionv1.Create,
			sa: serviceAccount(goodRole), wantAllowed: true,
			wantWarnings: []string{`IRSA010: IAM role "cart" does not exist in account 111122223333`}, wantEvents: 1,
		},
		"a dry run records no event (sideEffects None)": {
			mode: config.ModeWarn, facts: func(*testing.T) factsFunc { return roleMissing }, op: admissionv1.Create,
			sa: serviceAccount(goodRole), dryRun: true, wantAllowed: true,
			wantWarnings: []string{`IRSA010: IAM role "cart" does not exist in account 111122223333`},
		},
		"a good ServiceAccount passes silently": {
			mode: config.ModeEnforce, op: admissionv1.Create, sa: serviceAccount(goodRole), wantAllowed: true,
			facts: func(*testing.T) factsFunc { return goodFacts },
		},
		"IAM slower than the budget is allowed with a could-not-verify warning": {
			mode: config.ModeEnforce, op: admissionv1.Create, sa: serviceAccount(goodRole), wantAllowed: true,
			facts: func(t *testing.T) factsFunc {
				release := make(chan struct{})
				t.Cleanup(func() { close(release) })
				return func(ctx context.Context, id validators.Identity) validators.AWSFacts {
					select { // a source that ignores its deadline, until the test ends
					case <-time.After(2 * time.Second):
					case <-release:
					}
					return goodFacts(ctx, id)
				}
			},
			wantWarnings: []string{"IRSA090: AWS checks did not finish within the admission budget; role not verified"},
		},
		"a source that honours the budget says itself which lookup timed out": {
			mode: config.ModeEnforce, op: admissionv1.Create, sa: serviceAccount(goodRole), wantAllowed: true,
			facts: func(*testing.T) factsFunc {
				return func(ctx context.Context, _ validators.Identity) validators.AWSFacts {
					<-ctx.Done()
					return validators.AWSFacts{Unverified: []validators.Unverified{{What: "role", Reason: "timed out"}}}
				}
			},
			wantWarnings: []string{"IRSA090: could not verify the role (timed out)"},
		},
		"an update that does not touch eks.amazonaws.com annotations is not checked": {
			mode: config.ModeEnforce, facts: noAWS, op: admissionv1.Update,
			sa: func() *corev1.ServiceAccount {
				sa := serviceAccount("not-an-arn")
				sa.Labels = map[string]string{"team": "shop"}
				return sa
			}(),
			old: serviceAccount("not-an-arn"), wantAllowed: true,
		},
		"the skip label opts the object out": {
			mode: config.ModeEnforce, facts: noAWS, op: admissionv1.Create,
			sa: func() *corev1.ServiceAccount {
				sa := serviceAccount("not-an-arn")
				sa.Labels = map[string]string{config.LabelSkip: "true"}
				return sa
			}(),
			wantAllowed: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var facts factsFunc
			if tc.facts != nil {
				facts = tc.facts(t)
			}
			d, ev, _ := deps(t, tc.mode, facts, namespace(nil), piwConfig())
			h := admission.WithValidator[*corev1.ServiceAccount](scheme(t), &ServiceAccountValidator{Deps: d})
			start := time.Now()
			var old runtime.Object
			if tc.old != nil {
				old = tc.old
			}
			resp := send(t, h, tc.op, tc.sa, old, tc.dryRun)
			if took := time.Since(start); took > d.Budget+300*time.Millisecond {
				t.Errorf("decision took %s, budget %s", took, d.Budget)
			}
			if resp.Allowed != tc.wantAllowed || resp.UID != "8e2e7d0c-1" {
				t.Fatalf("Allowed = %v, want %v; result %+v", resp.Allowed, tc.wantAllowed, resp.Result)
			}
			if tc.wantDenial != "" && (resp.Result == nil || !strings.Contains(resp.Result.Message, tc.wantDenial) || !strings.Contains(resp.Result.Message, "Fix: ")) {
				t.Errorf("denial %+v lacks %q and a fix", resp.Result, tc.wantDenial)
			}
			if strings.Join(resp.Warnings, "|") != strings.Join(tc.wantWarnings, "|") {
				t.Errorf("warnings = %q, want %q", resp.Warnings, tc.wantWarnings)
			}
			if len(ev.events) != tc.wantEvents {
				t.Errorf("events = %+v, want %d", ev.events, tc.wantEvents)
			}
		})
	}
}
