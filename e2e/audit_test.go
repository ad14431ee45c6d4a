//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/irsa-guard/irsa-guard/audit"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// auditNS is the namespace the audit test's ServiceAccounts and pods live in.
const auditNS = "audit-drift"

// auditIssuer is the audit world's EKS-style issuer; StartFakeAWS serves it on loopback.
const auditIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/A0D17E2E000000000000000000000001"

// auditValues run the audit every 2 s with PolicyReports, and a 1 s facts cache so that every pass
// sees IAM as it is now; the IAM budget is raised so those passes are not slowed by it.
const auditValues = `config:
  shutdownDelay: 0s
  cache:
    positiveTTL: 1s
    negativeTTL: 1s
  iam:
    qps: 50
    burst: 100
audit:
  interval: 2s
  policyReports: true
`

// auditState is the audit world's AWS: the cluster's OIDC provider (unless deleted), role
// audit-app trusting audit-drift/<appTrusts>, role audit-worker trusting audit-drift/worker.
func auditState(appTrusts string, provider bool) string {
	host := strings.TrimPrefix(auditIssuer, "https://")
	trust := func(sa string) string {
		return fmt.Sprintf(`
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/%[1]s"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals: {"%[1]s:sub": "system:serviceaccount:%[2]s:%[3]s", "%[1]s:aud": sts.amazonaws.com}`, host, auditNS, sa)
	}
	s := "partition: aws\ncallerAccount: \"111122223333\"\nclusters:\n  - {name: audit, region: us-west-2, issuer: " + auditIssuer + "}\n" +
		"accounts:\n  \"111122223333\":\n"
	if provider {
		s += "    oidcProviders:\n      - {url: " + auditIssuer + ", clientIDs: [sts.amazonaws.com]}\n"
	}
	return s + "    roles:\n      - name: audit-app" + trust(appTrusts) + "\n      - name: audit-worker" + trust("worker") + "\n"
}

// auditWorld is the audit test's server and its AWS.
type auditWorld struct {
	*world
}

// setAWS replaces the fake AWS's world with auditState(appTrusts, provider), moved to the fake
// issuer as StartFakeAWS moved the first one, with faults injected in the same step.
func (w *auditWorld) setAWS(t *testing.T, appTrusts string, provider bool, faults ...awsstate.Fault) {
	t.Helper()
	text := strings.ReplaceAll(auditState(appTrusts, provider), strings.TrimPrefix(w.aws.StandsFor, "https://"), strings.TrimPrefix(w.aws.IssuerURL, "https://"))
	st, err := awsstate.ParseState([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range st.Accounts {
		for i := range acct.OIDCProviders {
			acct.OIDCProviders[i].Thumbprints = []string{w.aws.Issuer.Thumbprint()}
		}
	}
	st.Faults = faults
	if err := w.aws.Server.SetState(st); err != nil {
		t.Fatal(err)
	}
}

// snapshot is the audit's state of auditNS, as the leader serves it.
func (w *auditWorld) snapshot(t *testing.T, ctx context.Context, g *testenv.IRSAGuard) (int, audit.Snapshot) {
	t.Helper()
	status, body, err := g.MetricsGet(ctx, audit.Path+"?namespace="+auditNS)
	if err != nil {
		t.Fatal(err)
	}
	var s audit.Snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("GET /audit: status %d, body %s: %v", status, body, err)
	}
	return status, s
}

// findings is "Kind/name IRSAxxx" for every finding of every subject, the pod findings about the
// pod's ServiceAccount left out, sorted.
func findings(s audit.Snapshot) []string {
	var out []string
	for _, sub := range s.Subjects {
		for _, f := range sub.Findings {
			if f.Object.Kind == sub.Kind {
				out = append(out, sub.Kind+"/"+sub.Name+" "+string(f.Check))
			}
		}
	}
	slices.Sort(out)
	return out
}

// waitForFindings waits until the audit reports exactly want, or fails with what it reports.
func (w *auditWorld) waitForFindings(t *testing.T, ctx context.Context, what string, want ...string) audit.Snapshot {
	t.Helper()
	var got audit.Snapshot
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if _, got = w.snapshot(t, ctx, w.guard); got.LastPass != nil && slices.Equal(findings(got), want) {
			return got
		}
	}
	t.Fatalf("%s: the audit reports %q, want %q", what, findings(got), want)
	return got
}

// metric is the value of one series on the leader's /metrics ("" labels: the bare name); -1 when
// it is not exported. Labels are given sorted, as Prometheus' text format writes them.
func (w *auditWorld) metric(t *testing.T, ctx context.Context, series string) float64 {
	t.Helper()
	_, body, err := w.guard.MetricsGet(ctx, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return f
		}
	}
	return -1
}

// events are "Type Reason Kind/name" of irsa-guard's Events in auditNS, read with kubectl as an
// admin would (the chart's NOTES give this command).
func events(t *testing.T, ctx context.Context) []string {
	t.Helper()
	res := testEnv.Kubectl(ctx, "get", "events", "-n", auditNS, "--field-selector", "reportingComponent=irsa-guard", "-o",
		`jsonpath={range .items[*]}{.type} {.reason} {.involvedObject.kind}/{.involvedObject.name}{"\n"}{end}`)
	if res.ExitCode != 0 {
		t.Fatalf("kubectl get events: %s", res)
	}
	out := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	slices.Sort(out)
	return out
}

// count is how many times line occurs in lines.
func count(lines []string, line string) int {
	n := 0
	for _, l := range lines {
		if l == line {
			n++
		}
	}
	return n
}

// policyReportResults are "Kind/name rule=result" of the PolicyReport in auditNS, read with kubectl.
func policyReportResults(t *testing.T, ctx context.Context) ([]string, bool) {
	t.Helper()
	res := testEnv.Kubectl(ctx, "get", "policyreport", audit.ReportName, "-n", auditNS, "-o", "json")
	if res.ExitCode != 0 {
		return nil, false
	}
	var r struct {
		Results []struct {
			Rule, Result string
			Resources    []struct{ Kind, Name string }
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range r.Results {
		out = append(out, x.Resources[0].Kind+"/"+x.Resources[0].Name+" "+x.Rule+"="+x.Result)
	}
	slices.Sort(out)
	return out, true
}

func (w *auditWorld) waitForReport(t *testing.T, ctx context.Context, what string, want ...string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if got, _ = policyReportResults(t, ctx); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("%s: PolicyReport results %q, want %q", what, got, want)
}

// TestAudit runs the chart's server with the audit every 2 s against a fake AWS whose IAM the test
// changes underneath it, and reads what it reports where an admin would: the Events (kubectl), the
// metrics and /audit (over HTTPS, as an authorized reader), the PolicyReports (kubectl), and
// diagnose cluster --from-audit. The cases share the server and run in order.
func TestAudit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}

	// Before irsa-guard runs: two ServiceAccounts, and a pod created while neither irsa-guard nor
	// pod-identity-webhook answered (registered, failurePolicy Ignore, down). They are removed at
	// the end: namespaces are never emptied here (no namespace controller), and other tests list
	// every IRSA ServiceAccount of the cluster.
	createNamespaces(t, ctx, map[string]map[string]string{auditNS: nil})
	t.Cleanup(func() {
		ctx := context.Background()
		_ = testEnv.Clientset.CoreV1().Pods(auditNS).Delete(ctx, "created-while-down", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		for _, sa := range []string{"app", "worker", "stranger"} {
			_ = testEnv.Clientset.CoreV1().ServiceAccounts(auditNS).Delete(ctx, sa, metav1.DeleteOptions{})
		}
	})
	installDownPodIdentityWebhook(t, ctx)
	for _, sa := range []string{serviceAccountYAML(auditNS, "app", "arn:aws:iam::111122223333:role/audit-app"),
		serviceAccountYAML(auditNS, "worker", "arn:aws:iam::111122223333:role/audit-worker")} {
		if res := testEnv.KubectlWithInput(ctx, []byte(sa), "apply", "-f", "-"); res.ExitCode != 0 {
			t.Fatalf("kubectl apply: %s", res)
		}
	}
	if res := testEnv.KubectlWithInput(ctx, []byte(podYAML(auditNS, "created-while-down", "app", "")), "apply", "-f", "-"); res.ExitCode != 0 {
		t.Fatalf("kubectl apply of the pod: %s", res)
	}
	w := &auditWorld{startServer(t, ctx, []byte(auditState("app", true)), testenv.IRSAGuardOptions{Root: root, Values: auditValues})}

	t.Run("the metrics port lets in only callers the API server authorizes", func(t *testing.T) {
		for _, path := range []string{"/metrics", audit.Path} {
			if status, _, err := w.guard.MetricsGetAs(ctx, path, ""); err != nil || status != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: %d %v, want 401", path, status, err)
			}
			stranger, err := testEnv.ServiceAccountToken(ctx, auditNS, "stranger")
			if err != nil {
				t.Fatal(err)
			}
			if status, _, err := w.guard.MetricsGetAs(ctx, path, stranger); err != nil || status != http.StatusForbidden {
				t.Errorf("GET %s as a ServiceAccount without the reader role: %d %v, want 403", path, status, err)
			}
			if status, body, err := w.guard.MetricsGet(ctx, path); err != nil || status != http.StatusOK {
				t.Errorf("GET %s as the metrics reader: %d %v %s, want 200", path, status, err, body)
			}
		}
		if v := w.metric(t, ctx, "irsa_guard_audit_leader"); v != 1 {
			t.Errorf("irsa_guard_audit_leader = %v, want 1 on the only replica", v)
		}
	})

	t.Run("a pod created while the webhook was down is reported, without the PolicyReport CRD", func(t *testing.T) {
		s := w.waitForFindings(t, ctx, "first pass", "Pod/created-while-down IRSA040")
		if s.LastPass.Outcome != audit.OutcomeComplete {
			t.Errorf("pass outcome %s, want complete: a missing PolicyReport CRD breaks nothing", s.LastPass.Outcome)
		}
		if got := events(t, ctx); !slices.Contains(got, "Warning IRSA040 Pod/created-while-down") {
			t.Errorf("events %q, want a Warning IRSA040 on the pod", got)
		}
		if v := w.metric(t, ctx, `irsa_guard_audit_subjects{kind="Pod",resource_namespace="audit-drift",result="fail"}`); v != 1 {
			t.Errorf("broken pods in %s = %v, want 1", auditNS, v)
		}
		if _, ok := policyReportResults(t, ctx); ok {
			t.Error("a PolicyReport exists before its CRD does")
		}
	})

	crd := filepath.Join(root, "e2e/testdata/wgpolicyk8s.io_policyreports.yaml")
	if res := testEnv.Kubectl(ctx, "apply", "-f", crd); res.ExitCode != 0 {
		t.Fatalf("install the PolicyReport CRD: %s", res)
	}
	t.Cleanup(func() { testEnv.Kubectl(context.Background(), "delete", "--ignore-not-found", "-f", crd) })

	t.Run("once the CRD is installed, the namespace gets its PolicyReport", func(t *testing.T) {
		w.waitForReport(t, ctx, "after the CRD was installed", "Pod/created-while-down IRSA040=fail",
			"ServiceAccount/app all-checks=pass", "ServiceAccount/worker all-checks=pass")
	})

	t.Run("a trust policy edited in IAM is reported, and cleared once fixed", func(t *testing.T) {
		w.setAWS(t, "api", true)
		w.waitForFindings(t, ctx, "after the edit", "Pod/created-while-down IRSA040", "ServiceAccount/app IRSA032")
		if v := w.metric(t, ctx, `irsa_guard_audit_findings{check="IRSA032",resource_namespace="audit-drift",severity="error"}`); v != 1 {
			t.Errorf("IRSA032 findings = %v, want 1", v)
		}
		w.waitForReport(t, ctx, "after the edit", "Pod/created-while-down IRSA032=fail", "Pod/created-while-down IRSA040=fail",
			"ServiceAccount/app IRSA032=fail", "ServiceAccount/worker all-checks=pass")
		if got := events(t, ctx); !slices.Contains(got, "Warning IRSA032 ServiceAccount/app") || slices.Contains(got, "Warning IRSA032 Pod/created-while-down") {
			t.Errorf("events %q, want IRSA032 once, on the ServiceAccount", got)
		}

		w.setAWS(t, "app", true)
		w.waitForFindings(t, ctx, "after the fix", "Pod/created-while-down IRSA040")
		w.waitForReport(t, ctx, "after the fix", "Pod/created-while-down IRSA040=fail", "ServiceAccount/app all-checks=pass", "ServiceAccount/worker all-checks=pass")
		if got := events(t, ctx); !slices.Contains(got, "Normal IRSA032Resolved ServiceAccount/app") {
			t.Errorf("events %q, want IRSA032Resolved on the ServiceAccount", got)
		}
		if v := w.metric(t, ctx, `irsa_guard_audit_findings{check="IRSA032",resource_namespace="audit-drift",severity="error"}`); v != -1 {
			t.Errorf("IRSA032 findings still exported after the fix: %v", v)
		}
		kubectlTranscript(t, ctx, "audit-events", "get", "events", "-n", auditNS, "--field-selector", "reportingComponent=irsa-guard")
		kubectlTranscript(t, ctx, "audit-policyreports", "get", "policyreports", "-n", auditNS)
	})

	t.Run("deleting the OIDC provider reports every ServiceAccount that relies on it", func(t *testing.T) {
		w.setAWS(t, "app", false)
		w.waitForFindings(t, ctx, "without the provider", "Pod/created-while-down IRSA040", "ServiceAccount/app IRSA020", "ServiceAccount/worker IRSA020")
		w.setAWS(t, "app", true)
		w.waitForFindings(t, ctx, "with the provider back", "Pod/created-while-down IRSA040")
	})

	t.Run("diagnose cluster reads the audit instead of recomputing", func(t *testing.T) {
		reader, err := testEnv.ServiceAccountToken(ctx, "irsa-guard", "e2e-metrics-reader")
		if err != nil {
			t.Fatal(err)
		}
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, w.guard.MetricsCA(), 0o600); err != nil {
			t.Fatal(err)
		}
		url := strings.TrimSuffix(w.guard.MetricsURL, "/metrics") + audit.Path
		cmd := exec.CommandContext(ctx, filepath.Join(filepath.Dir(w.guard.LogFile), "irsa-guard"), "diagnose", "cluster", "-n", auditNS,
			"--from-audit", url, "--audit-ca", ca, "--kubeconfig", testEnv.Kubeconfig, "--token", reader)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err = cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("diagnose cluster --from-audit: %v, want exit 1 (a pod fails)\n%s%s", err, out.String(), stderr.String())
		}
		if dir := os.Getenv("IRSA_GUARD_TRANSCRIPTS"); dir != "" {
			text := "$ irsa-guard diagnose cluster -n " + auditNS + " --from-audit " + url + " --audit-ca ca.pem --token $TOKEN\n" + stderr.String() + out.String()
			if err := os.WriteFile(filepath.Join(dir, "audit-diagnose.txt"), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(stderr.String(), "From the audit of ") ||
			!strings.Contains(out.String(), "Pod audit-drift/created-while-down  pod injected with IRSA credentials  IRSA040") ||
			!strings.Contains(out.String(), "ServiceAccount audit-drift/app") {
			t.Errorf("diagnose cluster --from-audit printed\n%s%s", out.String(), stderr.String())
		}
	})

	t.Run("of two replicas exactly one audits", func(t *testing.T) {
		second, err := w.guard.StartReplica(ctx, "replica-2")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(second.Stop)
		time.Sleep(3 * time.Second) // more than a pass and an election retry
		_, leader := w.snapshot(t, ctx, w.guard)
		status, follower := w.snapshot(t, ctx, second)
		if !leader.Leader || follower.Leader || status != http.StatusServiceUnavailable ||
			!strings.Contains(follower.Message, leader.Identity) || len(follower.Subjects) != 0 {
			t.Errorf("leader %v (%s), follower %v (%d: %s): want exactly the first replica auditing and the second naming it",
				leader.Leader, leader.Identity, follower.Leader, status, follower.Message)
		}
		res := testEnv.Kubectl(ctx, "get", "lease", "irsa-guard-audit", "-n", "irsa-guard", "-o", "jsonpath={.spec.holderIdentity}")
		if res.ExitCode != 0 || res.Stdout != leader.Identity {
			t.Errorf("Lease holder %s, want the leader %s", res, leader.Identity)
		}
		log, err := os.ReadFile(second.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(log, []byte("Audit pass finished")) {
			t.Errorf("the second replica audited:\n%s", second.LogTail(20))
		}
		second.Stop()
	})

	t.Run("IAM throttling: admissions keep their budget, the audit backs off and clears nothing", func(t *testing.T) {
		w.setAWS(t, "api", true)
		w.waitForFindings(t, ctx, "before throttling", "Pod/created-while-down IRSA040", "ServiceAccount/app IRSA032")
		resolved := count(events(t, ctx), "Normal IRSA032Resolved ServiceAccount/app")
		// Fixed, but IAM throttles every GetRole: the audit cannot see the fix and must not guess it.
		w.setAWS(t, "app", true, awsstate.Fault{API: "GetRole", Error: "Throttling"})
		var s audit.Snapshot
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			if _, s = w.snapshot(t, ctx, w.guard); s.LastPass != nil && s.LastPass.Outcome == audit.OutcomePartial {
				break
			}
		}
		if s.LastPass == nil || s.LastPass.Outcome != audit.OutcomePartial || !s.LastPass.Throttled {
			t.Fatalf("under throttling: last pass %+v, want a partial pass cut short by the throttling", s.LastPass)
		}
		if got := findings(s); !slices.Equal(got, []string{"Pod/created-while-down IRSA040", "ServiceAccount/app IRSA032"}) {
			t.Errorf("under throttling the audit reports %q: it must keep the last conclusive findings", got)
		}
		// A throttled pass stops at its first throttled subject and the next waits twice the
		// interval, then four times: over a quiet window the audit asks IAM far less than its
		// passes would (three subjects, two attempts each, every 2 s: about 18 calls in 6 s).
		before := w.aws.Server.Calls("GetRole")
		time.Sleep(6 * time.Second)
		n := w.aws.Server.Calls("GetRole") - before
		t.Logf("GetRole calls in 6 s of throttling: %d", n)
		if n > 4 {
			t.Errorf("the audit made %d GetRole calls in 6 s of throttling; it should back off", n)
		}
		// Admissions meanwhile get their tokens and answer inside the webhook's budget.
		for i := range 3 {
			start := time.Now()
			res := testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("default", fmt.Sprintf("audit-admitted-%d", i),
				"arn:aws:iam::111122223333:role/audit-app")), "apply", "--dry-run=server", "-f", "-")
			if res.ExitCode != 0 || !strings.Contains(res.Stderr, "IRSA090") || time.Since(start) > 3*time.Second {
				t.Errorf("an admission under throttling: %s after %s, want allowed with IRSA090 within the 3 s timeout", res, time.Since(start))
			}
		}
		if n := count(events(t, ctx), "Normal IRSA032Resolved ServiceAccount/app"); n != resolved {
			t.Errorf("IRSA032Resolved events went from %d to %d under throttling: the audit cleared a finding it could not verify", resolved, n)
		}
		if v := w.metric(t, ctx, "irsa_guard_audit_backoffs_total"); v < 1 {
			t.Errorf("irsa_guard_audit_backoffs_total = %v", v)
		}
	})
}

// installDownPodIdentityWebhook registers pod-identity-webhook for auditNS as EKS does, pointing at
// a port nothing listens on with failurePolicy Ignore: pods are created without its injection, as
// while it is down. It is removed when the test ends; other tests expect no pod-identity-webhook.
func installDownPodIdentityWebhook(t *testing.T, ctx context.Context) {
	t.Helper()
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: testenv.PIWConfiguration},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: testenv.PIWWebhook,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL: ptr.To("https://127.0.0.1:1/mutate"), CABundle: testEnv.Webhook.CAData,
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: auditNS}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](1),
		}},
	}
	if _, err := testEnv.Clientset.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = testEnv.Clientset.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(context.Background(), mwc.Name, metav1.DeleteOptions{})
	})
}

// kubectlTranscript runs kubectl and, when $IRSA_GUARD_TRANSCRIPTS names a folder, saves the command
// and its output there as name.txt: docs/audit.md quotes these real runs.
func kubectlTranscript(t *testing.T, ctx context.Context, name string, args ...string) {
	t.Helper()
	dir := os.Getenv("IRSA_GUARD_TRANSCRIPTS")
	if dir == "" {
		return
	}
	res := testEnv.Kubectl(ctx, args...)
	text := fmt.Sprintf("$ kubectl %s\n%s%s", strings.Join(args, " "), res.Stdout, res.Stderr)
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
