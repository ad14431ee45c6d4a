package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// FuzzAdmissionReview sends arbitrary request bodies to all four handlers, exactly as the API
// server (or anyone who can reach the Service) would. Whatever the body, a handler must not
// panic, must answer with HTTP 200 and a decodable AdmissionReview (or a 4xx for bodies that are
// not one), and must echo the request's UID so the API server can match the answer.
func FuzzAdmissionReview(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"version":"v1","kind":"ServiceAccount"},"resource":{"version":"v1","resource":"serviceaccounts"},"namespace":"shop","operation":"CREATE","object":{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"cart","namespace":"shop","annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::::1234567890:role/example"}}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"2","kind":{"version":"v1","kind":"Pod"},"resource":{"version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"serviceAccountName":"cart","hostNetwork":true,"containers":[{"name":"c","env":[{"name":"AWS_ACCESS_KEY_ID","value":"x"}]}]}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"3","operation":"UPDATE","object":{"kind":"ServiceAccount","metadata":{"annotations":{"eks.amazonaws.com/role-arn":"cart"}}},"oldObject":{"kind":"ServiceAccount"}}}`,
		`{"request":{"uid":"4","object":null}}`,
		`{"request":{"uid":"5","object":{"metadata":{"annotations":{"eks.amazonaws.com/audience":""}}},"dryRun":true}}`,
		`{}`, `[]`, `null`, ``, `{"request":`,
	} {
		f.Add([]byte(seed))
	}
	s := scheme(f)
	roleMissing := factsFunc(func(_ context.Context, _ validators.Identity) validators.AWSFacts {
		return validators.AWSFacts{RoleNotFound: true, ProviderNotFound: true}
	})
	handlers := map[string]http.Handler{}
	for _, mode := range []config.Mode{config.ModeEnforce, config.ModeWarn} {
		d, _, _ := deps(f, mode, roleMissing, namespace(nil), serviceAccount(goodRole), piwConfig())
		handlers[string(mode)+PathValidateServiceAccount] = admission.WithValidator[*corev1.ServiceAccount](s, &ServiceAccountValidator{Deps: d})
		handlers[string(mode)+PathValidatePod] = admission.WithValidator[*corev1.Pod](s, &PodValidator{Deps: d})
	}
	handlers[PathMutateServiceAccount] = MutatingWebhook[*corev1.ServiceAccount](s, &ServiceAccountDefaulter{Compose: true, Accounts: staticAccount("aws", "111122223333")}, time.Second)
	handlers[PathMutatePod] = MutatingWebhook[*corev1.Pod](s, &PodDefaulter{FSGroup: true, GroupID: 65534}, time.Second)

	f.Fuzz(func(t *testing.T, body []byte) {
		// The API server's and the framework's JSON is case-sensitive ("uId" is not "uid"),
		// unlike encoding/json's default, so the oracle decodes the same way.
		var in admissionv1.AdmissionReview
		decodable := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &in) == nil && in.Request != nil
		for name, h := range handlers {
			req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s: HTTP %d for body %q", name, rec.Code, body)
			}
			if rec.Code != http.StatusOK {
				continue // the framework refuses bodies that are not an AdmissionReview (400)
			}
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("%s: undecodable answer %q: %v", name, rec.Body.String(), err)
			}
			if decodable && out.Response.UID != in.Request.UID {
				t.Fatalf("%s: answered UID %q for request UID %q", name, out.Response.UID, in.Request.UID)
			}
			for _, w := range out.Response.Warnings {
				if len([]rune(w)) > validators.MaxMessageRunes || w != validators.SanitizeMessage(w, validators.MaxMessageRunes) {
					t.Fatalf("%s: warning is too long or has control characters: %q", name, w)
				}
			}
			// A denial is one finding per line; nothing from the object may add a line or a
			// terminal escape to what kubectl prints.
			if r := out.Response.Result; !out.Response.Allowed && r != nil && r.Code == http.StatusForbidden &&
				strings.IndexFunc(r.Message, func(c rune) bool { return c != '\n' && unicode.IsControl(c) }) >= 0 {
				t.Fatalf("%s: denial has control characters: %q", name, r.Message)
			}
		}
	})
}
