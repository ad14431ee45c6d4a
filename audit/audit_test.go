package audit

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
)

func TestADriftingTrustPolicyIsReportedOnceAndClearedOnce(t *testing.T) {
	w := newWorld(t, "app", nil)
	w.cluster.addServiceAccount("shop", "app", appRole)

	p := w.run(t)
	if p.Outcome != OutcomeComplete || p.Subjects != 1 {
		t.Fatalf("first pass: %+v", p)
	}
	if got := w.events.take(); len(got) != 0 {
		t.Fatalf("a working ServiceAccount got events: %v", got)
	}

	w.trust(t, "api") // someone edits the trust policy for another ServiceAccount
	w.run(t)
	if got := w.events.take(); !slices.Equal(got, []string{"Warning IRSA032 ServiceAccount shop/app"}) {
		t.Fatalf("after the trust policy changed: events %v, want one IRSA032 warning on the ServiceAccount", got)
	}
	if v := testutil.ToFloat64(w.audit.o.Metrics.findings.WithLabelValues("IRSA032", "error", "shop")); v != 1 {
		t.Errorf("irsa_guard_audit_findings{check=IRSA032,severity=error,resource_namespace=shop} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(w.audit.o.Metrics.subjects.WithLabelValues("ServiceAccount", "fail", "shop")); v != 1 {
		t.Errorf("irsa_guard_audit_subjects{kind=ServiceAccount,result=fail} = %v, want 1", v)
	}

	w.run(t)
	if got := w.events.take(); len(got) != 0 {
		t.Fatalf("nothing changed, yet the audit repeated events: %v", got)
	}

	w.trust(t, "app")
	w.run(t)
	if got := w.events.take(); !slices.Equal(got, []string{"Normal IRSA032Resolved ServiceAccount shop/app"}) {
		t.Fatalf("after the fix: events %v, want one IRSA032Resolved", got)
	}
	if n := testutil.CollectAndCount(w.audit.o.Metrics.findings); n != 0 {
		t.Errorf("irsa_guard_audit_findings still has %d series after the fix", n)
	}
}

func TestThrottledIAMNeverClearsAFindingAndTheAuditBacksOff(t *testing.T) {
	w := newWorld(t, "api", nil)
	w.cluster.addServiceAccount("shop", "app", appRole)
	w.cluster.addServiceAccount("shop", "app2", appRole)
	w.run(t)
	if got := w.events.take(); len(got) != 2 {
		t.Fatalf("first pass: events %v, want IRSA032 on both ServiceAccounts", got)
	}
	w.trust(t, "app") // fixed for shop/app, but IAM does not answer
	if err := w.aws.SetFaults(awsstate.Fault{API: "GetRole", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	p := w.run(t)
	if p.Outcome != OutcomePartial || p.Inconclusive != 2 || p.Backoffs != 2 {
		t.Errorf("throttled pass: %+v, want partial with both subjects inconclusive and a pause after each", p)
	}
	if got := w.events.take(); len(got) != 0 {
		t.Errorf("a throttled pass must not clear or add findings: %v", got)
	}
	snap := w.audit.Snapshot("")
	for _, s := range snap.Subjects {
		if !s.Inconclusive || s.Result != ResultFail {
			t.Errorf("%s after a throttled pass: inconclusive %v result %s, want the last conclusive fail kept", s.Key(), s.Inconclusive, s.Result)
		}
	}
	if v := testutil.ToFloat64(w.audit.o.Metrics.backoffs); v != 2 {
		t.Errorf("irsa_guard_audit_backoffs_total = %v, want 2", v)
	}
	if err := w.aws.SetFaults(); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	if got := w.events.take(); !slices.Equal(got, []string{"Normal IRSA032Resolved ServiceAccount shop/app"}) {
		t.Errorf("once IAM answers again: events %v, want shop/app resolved and shop/app2 unchanged", got)
	}
}

func TestAPodCreatedWhileTheWebhookWasDownIsCaught(t *testing.T) {
	w := newWorld(t, "app", nil)
	w.cluster.addServiceAccount("shop", "app", appRole)
	w.cluster.addPod("shop", "app-injected", "app", true)
	w.cluster.addPod("shop", "app-created-while-down", "app", false)
	w.cluster.addPod("shop", "other", "default", false) // not an IRSA pod
	p := w.run(t)
	if p.Subjects != 3 {
		t.Fatalf("subjects %d, want the ServiceAccount and its two pods", p.Subjects)
	}
	if got := w.events.take(); !slices.Equal(got, []string{"Warning IRSA040 Pod shop/app-created-while-down"}) {
		t.Fatalf("events %v, want IRSA040 on the pod that was not injected", got)
	}
	if v := testutil.ToFloat64(w.audit.o.Metrics.subjects.WithLabelValues("Pod", "fail", "shop")); v != 1 {
		t.Errorf("broken pods = %v, want 1", v)
	}

	// A pod shares its ServiceAccount's broken trust: it fails too, but the Event is the
	// ServiceAccount's alone.
	w.trust(t, "api")
	w.run(t)
	if got := w.events.take(); !slices.Equal(got, []string{"Warning IRSA032 ServiceAccount shop/app"}) {
		t.Fatalf("events %v, want IRSA032 once, on the ServiceAccount", got)
	}
	if v := testutil.ToFloat64(w.audit.o.Metrics.subjects.WithLabelValues("Pod", "fail", "shop")); v != 2 {
		t.Errorf("broken pods = %v, want both pods of the broken ServiceAccount", v)
	}
	if v := testutil.ToFloat64(w.audit.o.Metrics.findings.WithLabelValues("IRSA032", "error", "shop")); v != 1 {
		t.Errorf("IRSA032 findings = %v, want 1: the ServiceAccount's finding counts once for all its pods", v)
	}
}

func TestWhatTheWebhookLeavesOutTheAuditLeavesOut(t *testing.T) {
	w := newWorld(t, "api", func(o *Options) {
		o.Policy.NamespaceModes = map[string]config.Mode{"legacy": config.ModeOff}
	})
	w.cluster.namespaces["legacy"] = nil
	w.cluster.namespaces["optout"] = map[string]string{config.LabelSkip: "true"}
	w.cluster.namespaces["manual"] = map[string]string{config.LabelMode: "off"}
	for _, ns := range []string{"kube-system", "legacy", "optout", "manual"} {
		w.cluster.addServiceAccount(ns, "app", appRole)
	}
	w.cluster.addServiceAccount("shop", "skipped", appRole)
	w.cluster.sas[len(w.cluster.sas)-1].Labels = map[string]string{config.LabelSkip: "true"}
	if p := w.run(t); p.Subjects != 0 {
		t.Errorf("audited %d subjects, want none: excluded namespace, mode off by config and by label, skip labels", p.Subjects)
	}
}
