package bench

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/irsa-guard/irsa-guard/webhook"
)

// TestMain gives controller-runtime the production logger shape (zap JSON at info, as serve
// builds it) writing to nowhere, so every request pays for its "Admission decided" line, and
// starts the control plane the benchmarks' informer caches watch.
func TestMain(m *testing.M) {
	logf.SetLogger(zap.New(zap.JSONEncoder(), zap.WriteTo(io.Discard)))
	os.Exit(runWithControlPlane(m))
}

// route is one request the benchmarks send: irsa-guard's path and the baseline path that
// answers the same body with an allow-all handler.
type route struct {
	name, path, baseline string
	body                 func(*world) []byte
}

func routes() []route {
	return []route{
		{"serviceaccount", webhook.PathValidateServiceAccount, pathAllowAllServiceAccount, func(w *world) []byte { return w.sa }},
		{"pod", webhook.PathValidatePod, pathAllowAllPod, func(w *world) []byte { return w.pod }},
	}
}

// TestBenchmarkedRequestsAreAllowedSilently pins what the benchmarks time: a correct
// ServiceAccount and a correctly injected pod are allowed with no warnings by every path, a
// warm cache asks IAM nothing, and an expired cache asks exactly once per fact.
func TestBenchmarkedRequestsAreAllowedSilently(t *testing.T) {
	w := newWorld(t)
	for _, r := range routes() {
		for _, path := range []string{r.baseline, r.path} {
			w.aws.ResetCalls()
			if err := w.expectAllowed(r.body(w), path); err != nil {
				t.Fatal(err)
			}
		}
		w.aws.ResetCalls()
		for range 20 {
			if err := w.expectAllowed(r.body(w), r.path); err != nil {
				t.Fatal(err)
			}
		}
		if n := w.iamCalls(); n != 0 {
			t.Errorf("%s: 20 warm requests made %d IAM/STS calls, want 0", r.name, n)
		}
		w.clock.expire()
		if err := w.expectAllowed(r.body(w), r.path); err != nil {
			t.Fatal(err)
		}
		for api, want := range map[string]int{"GetRole": 1, "GetOpenIDConnectProvider": 1, "GetCallerIdentity": 1} {
			if got := w.aws.Calls(api); got != want {
				t.Errorf("%s after the TTL: %d %s calls, want %d", r.name, got, api, want)
			}
		}
	}
}

// BenchmarkAdmission times one request at a time through the whole path (client, TLS, the
// framework's decoding, irsa-guard's checks, the response). Each route first runs its baseline,
// then irsa-guard warm (every fact cached) and cold (every cache expired before each request,
// as on a fresh replica). x-baseline is ns/op over the baseline's ns/op in the same run;
// added-us/op the absolute difference; cpu-us/op the whole process's CPU (client, server and
// fake AWS) per request, which shared-machine contention inflates less than wall time.
func BenchmarkAdmission(b *testing.B) {
	w := newWorld(b)
	for _, r := range routes() {
		var baseNs float64
		b.Run(r.name+"/allow-all", func(b *testing.B) {
			baseNs = w.serial(b, r.baseline, r.body(w), false, 0)
		})
		b.Run(r.name+"/warm", func(b *testing.B) { w.serial(b, r.path, r.body(w), false, baseNs) })
		b.Run(r.name+"/cold", func(b *testing.B) { w.serial(b, r.path, r.body(w), true, baseNs) })
	}
}

// serial runs b.N requests one after the other and returns ns/op.
func (w *world) serial(b *testing.B, path string, body []byte, cold bool, baseNs float64) float64 {
	if err := w.expectAllowed(body, path); err != nil { // warms the caches and the connection
		b.Fatal(err)
	}
	w.aws.ResetCalls()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if cold {
			w.clock.expire()
		}
		if _, err := w.post(path, body); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(w.iamCalls())/float64(b.N), "aws-calls/op")
	if baseNs > 0 {
		b.ReportMetric(ns/baseNs, "x-baseline")
		b.ReportMetric((ns-baseNs)/1e3, "added-us/op")
	}
	return ns
}

// expectAllowed sends body to path and fails unless the answer is allowed with no warnings.
func (w *world) expectAllowed(body []byte, path string) error {
	out, err := w.post(path, body)
	if err != nil {
		return err
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &review); err != nil || review.Response == nil {
		return &unexpected{path: path, got: string(out)}
	}
	if !review.Response.Allowed || len(review.Response.Warnings) != 0 {
		return &unexpected{path: path, got: strings.Join(review.Response.Warnings, "; ") + " " + string(out)}
	}
	return nil
}

type unexpected struct{ path, got string }

func (e *unexpected) Error() string {
	return "POST " + e.path + ": want allowed without warnings, got " + e.got
}

// admissionReview is the AdmissionReview the API server sends for a CREATE of obj.
func admissionReview(tb testing.TB, kind, resource string, obj runtime.Object) []byte {
	tb.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		tb.Fatal(err)
	}
	dryRun := false
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:  types.UID("0f3a2c9e-5b1d-4e7a-9c2b-8d6e4f1a3b5c"),
			Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: resource},
			RequestKind: &metav1.GroupVersionKind{Version: "v1", Kind: kind}, RequestResource: &metav1.GroupVersionResource{Version: "v1", Resource: resource},
			Namespace: obj.(metav1.Object).GetNamespace(), Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}, DryRun: &dryRun,
			UserInfo: authnUser(),
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// authnUser is who creates a Deployment's pods: the ReplicaSet controller.
func authnUser() authenticationv1.UserInfo {
	return authenticationv1.UserInfo{
		Username: "system:serviceaccount:kube-system:replicaset-controller",
		UID:      "5d1e0f9a-3c2b-4a8e-9f7d-1b6c2e4a8d3f",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
	}
}
