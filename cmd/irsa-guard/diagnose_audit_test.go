package main

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/audit"
	"github.com/irsa-guard/irsa-guard/diagnose"
)

// auditServer serves snap at /audit over TLS to callers with token, 401 to others, and writes its
// CA for --audit-ca.
func auditServer(t *testing.T, token string, status int, snap audit.Snapshot) (url, ca string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if ns := r.URL.Query().Get("namespace"); ns != "" && ns != "shop" {
			t.Errorf("namespace %q, want -n passed on", ns)
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(snap)
	}))
	t.Cleanup(srv.Close)
	ca = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + audit.Path, ca
}

func step(name string, status diagnose.Status, msg string) diagnose.Step {
	return diagnose.Step{Step: name, Status: status, Message: msg}
}

func TestDiagnoseClusterFromTheAudit(t *testing.T) {
	pass := &audit.Pass{Finished: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Outcome: audit.OutcomeComplete, Subjects: 4}
	subject := func(kind, name, owner string, st diagnose.Step) *audit.Subject {
		return &audit.Subject{Kind: kind, Namespace: "shop", Name: name, Owner: owner,
			Diagnosis: diagnose.Result{Subject: kind + " shop/" + name, Steps: []diagnose.Step{st}}}
	}
	snap := audit.Snapshot{Leader: true, Identity: "irsa-guard-7d9f_1", LastPass: pass, Subjects: []*audit.Subject{
		subject("Pod", "cart-1", "ReplicaSet shop/cart-7d9f", step("trust policy", diagnose.StatusFail, "IRSA032: sub allows shop/api")),
		subject("Pod", "cart-2", "ReplicaSet shop/cart-7d9f", step("trust policy", diagnose.StatusFail, "IRSA032: sub allows shop/api")),
		subject("ServiceAccount", "cart", "", step("trust policy", diagnose.StatusFail, "IRSA032: sub allows shop/api")),
		subject("ServiceAccount", "api", "", step("trust policy", diagnose.StatusPass, "ok")),
	}}
	url, ca := auditServer(t, "reader-token", http.StatusOK, snap)
	out, code, msg := runCLI(t, "", "diagnose", "cluster", "-n", "shop", "--from-audit", url, "--audit-ca", ca,
		"--server", "https://127.0.0.1:1", "--token", "reader-token")
	if code != 1 {
		t.Fatalf("exit %d (%s), want 1: a subject fails\n%s", code, msg, out)
	}
	for _, want := range []string{"From the audit of irsa-guard-7d9f_1: pass finished 2026-05-01T10:00:00Z (complete), 4 subjects",
		"Pod shop/cart-1 (and 1 more of ReplicaSet shop/cart-7d9f)", "ServiceAccount shop/cart ", "PASS     ServiceAccount shop/api"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "cart-2") {
		t.Errorf("a controller's pods are shown once:\n%s", out)
	}

	for name, c := range map[string]struct {
		args   []string
		status int
		snap   audit.Snapshot
		want   string
	}{
		"no token": {[]string{"--token", "wrong"}, http.StatusOK, snap, "did not accept your credentials (401)"},
		"another replica": {[]string{"--token", "reader-token"}, http.StatusServiceUnavailable,
			audit.Snapshot{Message: "this replica does not run the audit; the leader does (irsa-guard-7d9f_1)"}, "port-forward to the leader's pod"},
		"before the first pass": {[]string{"--token", "reader-token"}, http.StatusOK,
			audit.Snapshot{Leader: true, Message: "the first audit pass has not finished yet"}, "try again shortly"},
	} {
		t.Run(name, func(t *testing.T) {
			url, ca := auditServer(t, "reader-token", c.status, c.snap)
			_, code, msg := runCLI(t, "", append([]string{"diagnose", "cluster", "--from-audit", url, "--audit-ca", ca, "--server", "https://127.0.0.1:1"}, c.args...)...)
			if code != 2 || !strings.Contains(msg, c.want) {
				t.Errorf("exit %d %q, want 2 with %q", code, msg, c.want)
			}
		})
	}
	if _, code, msg := runCLI(t, "", "diagnose", "cluster", "--from-audit", "http://localhost:8080/audit"); code != 2 || !strings.Contains(msg, "https URL") {
		t.Errorf("a plain-HTTP URL: exit %d %q", code, msg)
	}
}
