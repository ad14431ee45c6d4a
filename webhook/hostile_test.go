package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// TestHostileReviewsGetAClearAnswer sends what is not a well-formed AdmissionReview for the path:
// each gets an answer that says what is wrong, never a panic, a hang or an allowed review.
func TestHostileReviewsGetAClearAnswer(t *testing.T) {
	review := func(apiVersion, kind, object string) string {
		return `{"apiVersion":"` + apiVersion + `","kind":"AdmissionReview","request":{"uid":"h-1","kind":{"version":"v1","kind":"` + kind +
			`"},"resource":{"version":"v1","resource":"serviceaccounts"},"namespace":"shop","operation":"CREATE","object":` + object + `}}`
	}
	tests := map[string]struct {
		body        string
		contentType string
		wantCode    int32 // the review's status code; the HTTP status is 200
		wantMessage string
	}{
		"invalid JSON": {body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":`,
			wantCode: http.StatusBadRequest, wantMessage: "json parse error: unexpected end of JSON input"},
		"an empty body": {body: "", wantCode: http.StatusBadRequest, wantMessage: "request body is empty"},
		"not JSON at all (wrong content type)": {body: "uid: h-1\n", contentType: "application/yaml",
			wantCode: http.StatusBadRequest, wantMessage: "contentType=application/yaml, expected application/json"},
		// controller-runtime decodes any AdmissionReview version as v1 (the API server sends only
		// the versions a configuration lists): such a review is still reviewed, never waved through.
		"an AdmissionReview of an unknown version": {body: review("admission.k8s.io/v2", "ServiceAccount",
			`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"cart","annotations":{"eks.amazonaws.com/role-arn":"not-an-arn"}}}`),
			wantCode: http.StatusForbidden, wantMessage: "- IRSA001: "},
		"a Pod sent to the ServiceAccount webhook (wrong kind)": {body: review("admission.k8s.io/v1", "Pod", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"cart"}}`),
			wantCode: http.StatusBadRequest, wantMessage: "ServiceAccount"},
		"an object of an unknown API version": {body: review("admission.k8s.io/v1", "ServiceAccount", `{"apiVersion":"v9","kind":"ServiceAccount","metadata":{"name":"cart"}}`),
			wantCode: http.StatusBadRequest, wantMessage: `no kind "ServiceAccount" is registered for version "v9"`},
		"an object that does not decode": {body: review("admission.k8s.io/v1", "ServiceAccount", `{"apiVersion":"v1","kind":"ServiceAccount","metadata":"cart"}`),
			wantCode: http.StatusBadRequest, wantMessage: "metadata"},
		"no object at all": {body: review("admission.k8s.io/v1", "ServiceAccount", `null`),
			wantCode: http.StatusBadRequest, wantMessage: "there is no content to decode"},
	}
	d, _, _ := deps(t, config.ModeEnforce, noAWS(t), namespace(nil), piwConfig())
	h := &admission.Webhook{Handler: admission.WithValidator[*corev1.ServiceAccount](scheme(t), &ServiceAccountValidator{Deps: d}).Handler}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var body io.Reader // nil is no body at all, as net/http hands the handler a request without one
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(http.MethodPost, PathValidateServiceAccount, body)
			req.Header.Set("Content-Type", "application/json")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("HTTP %d %q is not an AdmissionReview: %v", rec.Code, rec.Body.String(), err)
			}
			r := out.Response
			if r.Allowed || r.Result == nil || r.Result.Code != tc.wantCode || !strings.Contains(r.Result.Message, tc.wantMessage) {
				t.Fatalf("HTTP %d, allowed %v, result %+v; want code %d and a message containing %q", rec.Code, r.Allowed, r.Result, tc.wantCode, tc.wantMessage)
			}
		})
	}
}

// TestHostileAnnotationValuesGiveSafeMessages puts control characters, bidi overrides and 100 kB of
// text in every annotation irsa-guard reads and in the namespace's mode label, and checks the whole
// path a user sees: each warning kubectl prints is one line of at most 120 runes without control
// characters, and the denial is bounded and has no control characters but its own line breaks.
func TestHostileAnnotationValuesGiveSafeMessages(t *testing.T) {
	big := strings.Repeat("A\x1b[31m\u202e\x00\r\n", 100<<10/10)
	values := map[string]string{
		"control characters": "arn:aws:iam::111122223333:role/cart\n\x1b]0;pwned\x07\x00\tSet-Cookie: x",
		"100 kB of text":     "arn:aws:iam::111122223333:role/" + big,
		"100 kB, not an ARN": big,
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			sa := serviceAccount(v)
			for _, k := range []string{validators.AnnotationAudience, validators.AnnotationTokenExpiration, validators.AnnotationSTSRegionalEndpoints,
				"eks.amazon.com/role-arn", "EKS.amazonaws.com/role-arn\n"} {
				sa.Annotations[k] = v
			}
			d, _, _ := deps(t, config.ModeEnforce, goodFacts, namespace(map[string]string{config.LabelMode: v[:min(len(v), 63)]}), piwConfig())
			h := admission.WithValidator[*corev1.ServiceAccount](scheme(t), &ServiceAccountValidator{Deps: d})
			body, _ := json.Marshal(sa)
			if len(body) < len(v) {
				t.Fatal("the object lost its annotation")
			}
			resp := send(t, h, admissionv1.Create, sa, nil, false)
			if resp.Allowed || len(resp.Warnings) == 0 {
				t.Fatalf("want a denial with warnings, got allowed %v, %q", resp.Allowed, resp.Warnings)
			}
			for _, w := range resp.Warnings {
				if n := len([]rune(w)); n > validators.MaxMessageRunes || strings.IndexFunc(w, unicode.IsControl) >= 0 || strings.ContainsRune(w, '\u202e') {
					t.Errorf("warning of %d runes is not one safe line: %q", n, w)
				}
			}
			msg := resp.Result.Message
			if len(msg) > 8<<10 || strings.IndexFunc(msg, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0 || strings.ContainsRune(msg, '\u202e') {
				t.Errorf("denial of %d bytes is unbounded or has control characters: %q", len(msg), msg[:min(len(msg), 2000)])
			}
			var sent bytes.Buffer
			_ = json.NewEncoder(&sent).Encode(resp)
			t.Logf("%d-byte object: %d warnings, %d-byte denial, %d-byte response", len(body), len(resp.Warnings), len(msg), sent.Len())
		})
	}
}
