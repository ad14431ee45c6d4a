package webhook

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
)

// cartState is AWS as it should be for shop/cart: its role trusts exactly that ServiceAccount
// through the cluster's OIDC provider.
var cartState = strings.NewReplacer("HOSTPATH", validators.IssuerHostPath(issuer), "ISSUER", issuer).Replace(`
callerAccount: "111122223333"
accounts:
  "111122223333":
    roles:
      - name: cart
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals: {"HOSTPATH:sub": system:serviceaccount:shop:cart, "HOSTPATH:aud": sts.amazonaws.com}
    oidcProviders:
      - url: ISSUER
        clientIDs: [sts.amazonaws.com]
`)

// iamWorld is serve's admission path on the real AWS SDK against fakeaws: the SDK source with its
// caches, rate limit and retries as serve builds it, a settable clock, and the metrics registry.
type iamWorld struct {
	aws       *fakeaws.Server
	reg       *prometheus.Registry
	handler   admission.Handler
	budget    time.Duration
	decisions []Decision

	mu  sync.Mutex
	now time.Time
}

func newIAMWorld(t *testing.T, policy config.Policy) *iamWorld {
	t.Helper()
	st, err := awsstate.ParseState([]byte(cartState))
	if err != nil {
		t.Fatal(err)
	}
	w := &iamWorld{aws: fakeaws.NewServer(st), reg: prometheus.NewRegistry(), budget: 500 * time.Millisecond, now: time.Now()}
	t.Cleanup(w.aws.Close)
	src, err := awsfacts.NewSDK(aws.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider(fakeaws.CallerAccessKeyID("111122223333"), fakeaws.CallerSecretAccessKey, ""),
		BaseEndpoint: aws.String(w.aws.URL()),
	}, awsfacts.Options{Registerer: w.reg, Clock: w.clock, SkipThumbprint: true, LookupTimeout: w.budget})
	if err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(namespace(nil), piwConfig()).Build()
	cluster := &kubefacts.Reader{Cache: c, API: c}
	cfg := config.Default()
	cfg.Policy = policy
	d := &Deps{
		Engine:  review.New(cfg, review.Options{Facts: src, Cluster: cluster, Issuer: issuer}),
		Cluster: cluster, Policy: Policy{Policy: policy}, Budget: w.budget,
		Observe: func(_ string, dec Decision) { w.decisions = append(w.decisions, dec) },
	}
	w.handler = admission.WithValidator[*corev1.ServiceAccount](scheme(t), &ServiceAccountValidator{Deps: d})
	return w
}

func (w *iamWorld) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *iamWorld) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// review sends shop/cart's creation and fails the test if the answer took longer than the budget
// (plus scheduling slack on a loaded machine).
func (w *iamWorld) review(t *testing.T) *admissionv1.AdmissionResponse {
	t.Helper()
	start := time.Now()
	resp := send(t, &admission.Webhook{Handler: w.handler}, admissionv1.Create, serviceAccount(goodRole), nil, false)
	if took := time.Since(start); took > w.budget+300*time.Millisecond {
		t.Errorf("answered after %s, budget %s", took, w.budget)
	}
	return resp
}

// counter is one series of a counter family on the world's registry.
func (w *iamWorld) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestIAMFaultsAtAdmission drives each IAM failure through the real SDK into the ServiceAccount
// webhook in enforce mode: every review is answered inside the budget; with nothing cached it is
// allowed with "could not verify" naming the reason (denied only with failClosed) and the failure
// is counted by outcome; with an answer cached before the fault, that answer is used
// (stale-if-error), said so, and counted as a stale cache lookup.
func TestIAMFaultsAtAdmission(t *testing.T) {
	tests := map[string]struct {
		fault   awsstate.Fault
		reason  string // in the IRSA090 message
		outcome string // irsa_guard_iam_requests_total's label
	}{
		"latency beyond the budget":       {fault: awsstate.Fault{Latency: 5 * time.Second}, reason: "timed out", outcome: "timeout"},
		"Throttling":                      {fault: awsstate.Fault{Error: "Throttling"}, reason: "throttled", outcome: "throttled"},
		"500 ServiceFailure":              {fault: awsstate.Fault{Error: "ServiceFailure"}, reason: "AWS server error", outcome: "server_error"},
		"503 ServiceUnavailable":          {fault: awsstate.Fault{Error: "ServiceUnavailable"}, reason: "AWS server error", outcome: "server_error"},
		"connection reset":                {fault: awsstate.Fault{Reset: true}, reason: "network error", outcome: "network"},
		"connection closed unanswered":    {fault: awsstate.Fault{Drop: true}, reason: "network error", outcome: "network"},
		"malformed XML":                   {fault: awsstate.Fault{Malformed: true}, reason: "AWS server error", outcome: "server_error"},
		"HTML instead of XML (text/html)": {fault: awsstate.Fault{WrongContentType: true}, reason: "AWS server error", outcome: "server_error"},
	}
	enforce := config.Policy{Mode: config.ModeEnforce}
	failClosed := config.Policy{Mode: config.ModeEnforce, FailClosed: true}
	for name, tc := range tests {
		tc.fault.API = "GetRole"
		couldNot := "IRSA090: could not verify the role (" + tc.reason + ")"
		t.Run(name, func(t *testing.T) {
			t.Run("nothing cached: allowed with could not verify", func(t *testing.T) {
				w := newIAMWorld(t, enforce)
				if err := w.aws.SetFaults(tc.fault); err != nil {
					t.Fatal(err)
				}
				resp := w.review(t)
				if !resp.Allowed || strings.Join(resp.Warnings, "|") != couldNot {
					t.Fatalf("allowed %v, warnings %q, result %+v; want allowed with [%q]", resp.Allowed, resp.Warnings, resp.Result, couldNot)
				}
				// A call abandoned at the deadline is counted as it ends, a moment after the answer.
				labels := map[string]string{"api": "GetRole", "outcome": tc.outcome}
				for deadline := time.Now().Add(2 * time.Second); w.counter(t, "irsa_guard_iam_requests_total", labels) == 0 && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				if n := w.counter(t, "irsa_guard_iam_requests_total", labels); n != 1 {
					t.Errorf("irsa_guard_iam_requests_total{api=GetRole,outcome=%s} = %v, want 1", tc.outcome, n)
				}
				if len(w.decisions) != 1 || len(w.decisions[0].Reported) != 1 || w.decisions[0].Reported[0].Check != validators.CheckCouldNotVerify {
					t.Errorf("decisions observed = %+v, want one reporting IRSA090", w.decisions)
				}
			})
			t.Run("nothing cached, failClosed: denied", func(t *testing.T) {
				w := newIAMWorld(t, failClosed)
				if err := w.aws.SetFaults(tc.fault); err != nil {
					t.Fatal(err)
				}
				resp := w.review(t)
				if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "\n- "+couldNot) {
					t.Fatalf("allowed %v, result %+v; want denied naming %q", resp.Allowed, resp.Result, couldNot)
				}
			})
			for _, p := range []config.Policy{enforce, failClosed} {
				t.Run("cached answer: stale-if-error, failClosed "+map[bool]string{true: "on", false: "off"}[p.FailClosed], func(t *testing.T) {
					w := newIAMWorld(t, p)
					if resp := w.review(t); !resp.Allowed || len(resp.Warnings) != 0 {
						t.Fatalf("healthy IAM: allowed %v warnings %q", resp.Allowed, resp.Warnings)
					}
					if err := w.aws.SetFaults(tc.fault); err != nil {
						t.Fatal(err)
					}
					w.advance(11 * time.Minute) // past the 10m TTL, within the 1h stale window
					resp := w.review(t)
					want := "IRSA090: used role data cached 11m0s ago: refresh failed (" + tc.reason + ")"
					if !resp.Allowed || strings.Join(resp.Warnings, "|") != want {
						t.Fatalf("allowed %v, warnings %q, result %+v; want allowed with [%q]", resp.Allowed, resp.Warnings, resp.Result, want)
					}
					if n := w.counter(t, "irsa_guard_cache_lookups_total", map[string]string{"cache": "role", "result": "stale"}); n != 1 {
						t.Errorf("irsa_guard_cache_lookups_total{cache=role,result=stale} = %v, want 1", n)
					}
				})
			}
		})
	}
}
