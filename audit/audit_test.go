package audit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/validators"
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
	for name, staleFor := range map[string]time.Duration{
		"with nothing cached":           time.Nanosecond,
		"with stale facts in the cache": time.Hour,
	} {
		t.Run(name, func(t *testing.T) { testThrottled(t, staleFor) })
	}
}

func testThrottled(t *testing.T, staleFor time.Duration) {
	w := newWorldWith(t, "api", func(o *awsfacts.Options) { o.StaleFor = staleFor }, nil)
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
	if p.Outcome != OutcomePartial || p.Inconclusive != 2 || !p.Throttled || p.Subjects != 2 {
		t.Errorf("throttled pass: %+v, want it stopped at the first subject, both kept as they were", p)
	}
	if n := w.aws.Calls("GetRole"); n > 2+2+2 {
		t.Errorf("GetRole calls = %d: after the first pass (2) the throttled pass should stop after one subject's two attempts", n)
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
	if v := testutil.ToFloat64(w.audit.o.Metrics.backoffs); v != 1 {
		t.Errorf("irsa_guard_audit_backoffs_total = %v, want 1", v)
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

// TestAPassCostsOneCallPerDistinctRoleAndProvider measures a pass's IAM calls (docs/audit.md quotes
// them): cold, one GetRole per distinct role and one GetOpenIDConnectProvider per account's
// provider however many ServiceAccounts and pods share them; within the cache's lifetime, none.
func TestAPassCostsOneCallPerDistinctRoleAndProvider(t *testing.T) {
	w := newWorldWith(t, "app", func(o *awsfacts.Options) { o.TTL = 10 * time.Minute }, nil)
	for i := range 9 {
		name := fmt.Sprintf("sa-%d", i)
		w.cluster.addServiceAccount("shop", name, fmt.Sprintf("arn:aws:iam::111122223333:role/role-%d", i%3))
		w.cluster.addPod("shop", name+"-pod", name, true)
	}
	p := w.run(t)
	roles, providers := w.aws.Calls("GetRole"), w.aws.Calls("GetOpenIDConnectProvider")
	t.Logf("cold pass over %d subjects (9 ServiceAccounts, 9 pods, 3 roles, 1 provider): %d GetRole, %d GetOpenIDConnectProvider", p.Subjects, roles, providers)
	if p.Subjects != 18 || roles != 3 || providers != 1 {
		t.Errorf("cold pass: %d subjects, %d GetRole, %d GetOpenIDConnectProvider; want 18, 3, 1", p.Subjects, roles, providers)
	}
	w.aws.ResetCalls()
	w.run(t)
	if n := w.aws.Calls("GetRole") + w.aws.Calls("GetOpenIDConnectProvider"); n != 0 {
		t.Errorf("a pass within the cache's lifetime made %d IAM calls, want 0", n)
	}
}

func TestAPassResumesWhereTheThrottledOneStopped(t *testing.T) {
	todo := []target{{sa: sa("c")}, {sa: sa("a")}, {sa: sa("b")}}
	var got []string
	for _, tg := range resumeAt(todo, "ServiceAccount shop/b") {
		got = append(got, tg.sa.Name)
	}
	if !slices.Equal(got, []string{"b", "c", "a"}) {
		t.Errorf("order %v, want b c a", got)
	}
}

// TestAClusterWideBreakIsNotAnEventStorm: when every subject breaks at once (here: a trust that
// names none of them), one pass reports at most maxReportedChanges changes one by one; the gauges
// and the state still hold them all.
func TestAClusterWideBreakIsNotAnEventStorm(t *testing.T) {
	w := newWorldWith(t, "nobody", func(o *awsfacts.Options) {
		o.TTL, o.StaleFor, o.RateLimit, o.Burst = time.Hour, time.Hour, 10000, 10000
	}, nil)
	n := maxReportedChanges + 100
	for i := range n {
		w.cluster.addServiceAccount("shop", fmt.Sprintf("app-%d", i), appRole)
	}
	w.run(t)
	if got := len(w.events.take()); got != maxReportedChanges {
		t.Errorf("%d subjects broke: %d Events, want %d", n, got, maxReportedChanges)
	}
	if got := len(w.audit.Snapshot("").Subjects); got != n {
		t.Errorf("the state holds %d subjects, want all %d", got, n)
	}
}

// TestAWalkIsKeptOnlyWhileNothingItRestsOnChanged: a failing subject keeps only the steps that do
// not pass; a pass over an unchanged world reuses them (the same slice), and a changed trust policy
// walks again, with the new policy in the message.
func TestAWalkIsKeptOnlyWhileNothingItRestsOnChanged(t *testing.T) {
	w := newWorld(t, "api", nil)
	w.cluster.addServiceAccount("shop", "app", appRole)
	steps := func() []diagnose.Step {
		t.Helper()
		subs := w.audit.Snapshot("").Subjects
		if len(subs) != 1 {
			t.Fatalf("%d subjects, want 1", len(subs))
		}
		return subs[0].Diagnosis.Steps
	}
	w.run(t)
	first := steps()
	if len(first) == 0 {
		t.Fatal("a failing subject kept no steps")
	}
	for _, st := range first {
		if st.Status != diagnose.StatusFail && st.Status != diagnose.StatusUnknown && !st.Warning {
			t.Errorf("kept step %q with status %s", st.Step, st.Status)
		}
	}
	if !strings.Contains(fmt.Sprint(first), "shop/api") {
		t.Fatalf("the failing step does not name what the trust allows: %+v", first)
	}

	w.run(t) // the facts are fetched again (the world's cache keeps nothing between passes), unchanged
	if again := steps(); len(again) != len(first) || &again[0] != &first[0] {
		t.Error("nothing changed, yet the walk was built again")
	}

	w.trust(t, "worker")
	w.run(t)
	changed := steps()
	if len(changed) > 0 && &changed[0] == &first[0] {
		t.Fatal("the trust policy changed, yet the old walk was kept")
	}
	if s := fmt.Sprint(changed); !strings.Contains(s, "shop/worker") || strings.Contains(s, "shop/api") {
		t.Errorf("after the trust changed to shop/worker the steps say: %s", s)
	}
}

// TestCappedReportsGoToErrorsFirst: when a pass reports only some changes one by one, new errors
// come first, then new warnings, then clears, then info, whatever their subjects' names.
func TestCappedReportsGoToErrorsFirst(t *testing.T) {
	sub := func(name string) *Subject { return &Subject{Kind: "ServiceAccount", Namespace: "shop", Name: name} }
	change := func(name string, sev validators.Severity, cleared bool) Change {
		return Change{Subject: sub(name), Finding: validators.Finding{Check: "IRSA032", Severity: sev}, Cleared: cleared}
	}
	in := []Change{ // diff's order: by subject
		change("a", validators.SeverityError, true),
		change("b", validators.SeverityInfo, false),
		change("c", validators.SeverityWarning, false),
		change("y", validators.SeverityError, false),
		change("z", validators.SeverityError, false),
	}
	var got []string
	for _, c := range mostUrgentFirst(in) {
		got = append(got, c.Subject.Name)
	}
	if want := []string{"y", "z", "c", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if in[0].Subject.Name != "a" {
		t.Error("mostUrgentFirst reordered its input")
	}
}
