package testenv

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeRepo makes root/repo with ../shared/third_party/amazon-eks-pod-identity-webhook/go.mod beside
// it when withSource, and returns the repository root.
func fakeRepo(t *testing.T, withSource bool) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "repo")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if withSource {
		src := filepath.Join(base, "shared", "third_party", "amazon-eks-pod-identity-webhook")
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module github.com/aws/amazon-eks-pod-identity-webhook\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestChooseInjector(t *testing.T) {
	elsewhere := filepath.Dir(fakeRepo(t, true)) + "/shared/third_party/amazon-eks-pod-identity-webhook"
	tests := map[string]struct {
		withSource  bool
		env         map[string]string
		opts        PodIdentityWebhookOptions
		wantReal    bool
		wantWhy     string // substring of why the stand-in runs
		wantErr     string
		wantMissing bool // the error wraps ErrPIWSourceMissing, so a test needing the real one can skip
	}{
		"the source beside the repository means the real webhook": {withSource: true, wantReal: true},
		"a plain clone falls back to the stand-in and says why": {
			wantWhy: "has no go.mod",
		},
		"a plain clone cannot stand in for options only the real webhook has": {
			opts:    PodIdentityWebhookOptions{PodIdentityAssociations: []PodIdentityAssociation{{Namespace: "a", ServiceAccount: "b"}}},
			wantErr: "the stand-in has no EKS Pod Identity associations", wantMissing: true,
		},
		"InjectorReal without the source is an error the caller can recognise": {
			opts: PodIdentityWebhookOptions{Injector: InjectorReal}, wantErr: "has no go.mod", wantMissing: true,
		},
		"IRSA_GUARD_PIW=real turns the fallback into an error": {
			env: map[string]string{PIWInjectorEnv: "real"}, wantErr: "has no go.mod", wantMissing: true,
		},
		"IRSA_GUARD_PIW=stand-in chooses the stand-in even with the source": {
			withSource: true, env: map[string]string{PIWInjectorEnv: "stand-in"}, wantWhy: "asked for by IRSA_GUARD_PIW",
		},
		"the caller's InjectorReal wins over IRSA_GUARD_PIW": {
			withSource: true, env: map[string]string{PIWInjectorEnv: "stand-in"}, opts: PodIdentityWebhookOptions{Injector: InjectorReal}, wantReal: true,
		},
		"an unknown IRSA_GUARD_PIW is an error": {
			env: map[string]string{PIWInjectorEnv: "fake"}, wantErr: `IRSA_GUARD_PIW="fake"`,
		},
		"IRSA_GUARD_PIW_SOURCE names the source": {
			env: map[string]string{PIWSourceEnv: elsewhere}, wantReal: true,
		},
		"IRSA_GUARD_PIW_SOURCE naming nothing is an error, not a fallback": {
			env: map[string]string{PIWSourceEnv: "/nonexistent"}, wantErr: "IRSA_GUARD_PIW_SOURCE=/nonexistent: not a Go module",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv(PIWInjectorEnv, "")
			t.Setenv(PIWSourceEnv, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			tc.opts.Root = fakeRepo(t, tc.withSource)
			src, why, err := chooseInjector(tc.opts)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrPIWSourceMissing) != tc.wantMissing {
					t.Fatalf("want an error containing %q (wraps ErrPIWSourceMissing: %v), got %v", tc.wantErr, tc.wantMissing, err)
				}
			case err != nil:
				t.Fatal(err)
			case tc.wantReal && !strings.HasSuffix(src, "amazon-eks-pod-identity-webhook"):
				t.Fatalf("want the real webhook, got source %q (stand-in because %q)", src, why)
			case !tc.wantReal && (src != "" || !strings.Contains(why, tc.wantWhy)):
				t.Fatalf("want the stand-in because of %q, got source %q, why %q", tc.wantWhy, src, why)
			}
		})
	}
}

func TestSourceHashCoversPathsAndContents(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hash := func(salt string) string {
		t.Helper()
		h, err := sourceHash(dir, salt)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("go.mod", "module x\n")
	write("pkg/handler/handler.go", "package handler\n")
	first := hash("go1.26.8")
	if again := hash("go1.26.8"); again != first || len(first) != 16 {
		t.Fatalf("hash of an unchanged tree: %s then %s, want the same 16 hex digits", first, again)
	}
	seen := map[string]string{first: "the original tree"}
	for change, do := range map[string]func() string{
		"another toolchain": func() string { return hash("go1.27.0") },
		"an edited file":    func() string { write("pkg/handler/handler.go", "package handler // edited\n"); return hash("go1.26.8") },
		"a renamed file": func() string {
			if err := os.Rename(filepath.Join(dir, "pkg/handler/handler.go"), filepath.Join(dir, "pkg/handler/main.go")); err != nil {
				t.Fatal(err)
			}
			return hash("go1.26.8")
		},
	} {
		h := do()
		if prev, ok := seen[h]; ok {
			t.Errorf("%s hashes like %s (%s): the cache would reuse a stale build", change, prev, h)
		}
		seen[h] = change
	}
}

func TestIMDSServesTheInstanceIdentityDocumentOverIMDSv2(t *testing.T) {
	s, err := startIMDS(InstanceIdentity{AccountID: "111122223333", Region: "cn-north-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	do := func(method, path string, header map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, s.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	const doc = "/latest/dynamic/instance-identity/document"
	if resp, _ := do(http.MethodGet, doc, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("document without a token: status %d, want 401 (IMDSv2 only)", resp.StatusCode)
	}
	resp, token := do(http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") != "21600" {
		t.Fatalf("token: status %d, TTL header %q; the SDK needs 200 and the TTL echoed", resp.StatusCode, resp.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	}
	resp, body := do(http.MethodGet, doc, map[string]string{"X-aws-ec2-metadata-token": token})
	var got struct{ AccountID, Region string }
	if err := json.Unmarshal([]byte(body), &got); resp.StatusCode != http.StatusOK || err != nil || got.AccountID != "111122223333" || got.Region != "cn-north-1" {
		t.Fatalf("document: status %d, %s (%v); want accountId 111122223333 and region cn-north-1", resp.StatusCode, body, err)
	}
}

func TestAssociationsFileIsTheWebhooksFormat(t *testing.T) {
	r := &realPIW{associations: filepath.Join(t.TempDir(), "associations.json")}
	for _, tc := range []struct {
		assocs []PodIdentityAssociation
		want   string
	}{
		{nil, `{"identities":[]}`},
		{[]PodIdentityAssociation{{Namespace: "shop", ServiceAccount: "cart"}}, `{"identities":[{"namespace":"shop","serviceAccount":"cart"}]}`},
	} {
		if err := r.writeAssociations(tc.assocs); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(r.associations)
		if err != nil || string(got) != tc.want {
			t.Fatalf("association file = %s (%v), want %s", got, err, tc.want)
		}
	}
}

func TestConfigurationIsRegisteredAsOnEKS(t *testing.T) {
	p := &PodIdentityWebhook{env: &Env{Webhook: WebhookServing{CAData: []byte("CA")}}, URL: "https://127.0.0.1:23443/mutate"}
	cfg := p.Configuration()
	if cfg.Name != "pod-identity-webhook" || len(cfg.Webhooks) != 1 {
		t.Fatalf("configuration %s with %d webhooks, want pod-identity-webhook with one", cfg.Name, len(cfg.Webhooks))
	}
	w := cfg.Webhooks[0]
	rule := w.Rules[0]
	switch {
	case w.Name != "iam-for-pods.amazonaws.com":
		t.Errorf("webhook name %s", w.Name)
	case *w.ClientConfig.URL != p.URL || string(w.ClientConfig.CABundle) != "CA":
		t.Errorf("clientConfig %+v, want the URL and envtest's CA", w.ClientConfig)
	case *w.FailurePolicy != admissionregistrationv1.Ignore || *w.ReinvocationPolicy != admissionregistrationv1.IfNeededReinvocationPolicy:
		t.Errorf("failurePolicy %s, reinvocationPolicy %s; want Ignore, IfNeeded", *w.FailurePolicy, *w.ReinvocationPolicy)
	case len(w.Rules) != 1 || rule.Operations[0] != admissionregistrationv1.Create || rule.Resources[0] != "pods" || rule.APIVersions[0] != "v1":
		t.Errorf("rules %+v, want pods CREATE", w.Rules)
	case len(w.AdmissionReviewVersions) != 1 || w.AdmissionReviewVersions[0] != "v1":
		t.Errorf("admissionReviewVersions %v, want [v1]", w.AdmissionReviewVersions)
	case w.NamespaceSelector != nil:
		t.Errorf("namespaceSelector %+v, want none", w.NamespaceSelector)
	}
	sel := w.ObjectSelector
	if sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].Key != PIWSkipLabel || sel.MatchExpressions[0].Operator != metav1.LabelSelectorOpDoesNotExist {
		t.Errorf("objectSelector %+v, want %s DoesNotExist", sel, PIWSkipLabel)
	}
}
