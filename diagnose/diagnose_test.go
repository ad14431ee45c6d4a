package diagnose

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

const (
	issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	host   = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	role   = "arn:aws:iam::111122223333:role/cart"
)

func identity() validators.Identity {
	return validators.Identity{Object: validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "cart"},
		Namespace: "shop", ServiceAccount: "cart", RoleARN: role, Issuer: issuer,
		Call: validators.WebIdentityCall{Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}}
}

// TestEveryCheckHasAStep: a check added to the catalog must be placed in a step (or it lands in
// "other findings", which is for IRSA090 only).
func TestEveryCheckHasAStep(t *testing.T) {
	for _, info := range validators.Checks() {
		n := 0
		for _, s := range steps {
			if s.covers(info.ID) {
				n++
			}
		}
		switch {
		case info.ID == validators.CheckCouldNotVerify && n != 0:
			t.Errorf("%s belongs to no step: it is about whatever could not be verified", info.ID)
		case info.ID != validators.CheckCouldNotVerify && n != 1:
			t.Errorf("%s is covered by %d steps, want exactly 1", info.ID, n)
		}
	}
}

func TestCorrectedTrustKeepsOtherStatementsAndIsAllowed(t *testing.T) {
	current := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + host +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"system:serviceaccount:shop:orders"}}}}`
	doc, cmd, ok := CorrectedTrust(identity(), current)
	if !ok {
		t.Fatal("no corrected policy")
	}
	if cmd != "aws iam update-assume-role-policy --role-name cart --policy-document file://trust-policy.json" {
		t.Errorf("command = %q", cmd)
	}
	p, err := trustpolicy.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("corrected policy does not parse: %v\n%s", err, doc)
	}
	if len(p.Statements) != 2 || !strings.Contains(doc, "system:serviceaccount:shop:orders") {
		t.Errorf("the statement shop/orders relies on must stay:\n%s", doc)
	}
	if !strings.HasPrefix(doc, "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [") ||
		strings.Index(doc, `"Effect": "Allow"`) > strings.Index(doc, `"Action"`) {
		t.Errorf("want Version, Statement, and Effect before Action, as AWS writes them:\n%s", doc)
	}
	id := identity()
	rep := validators.EvaluateTrust(id.Object, p, validators.TrustRequest{
		ProviderARN: "arn:aws:iam::111122223333:oidc-provider/" + host, Subject: id.Subject(), Call: id.Call})
	if rep.Result.Decision != trustpolicy.DecisionAllow {
		t.Errorf("corrected policy decides %s for shop/cart", rep.Result.Decision)
	}
}

func TestCorrectedTrustRefusesWhatItCannotRepair(t *testing.T) {
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}`
	if doc, _, ok := CorrectedTrust(identity(), deny); ok {
		t.Errorf("an explicit Deny of everyone is not repaired by an Allow, yet got:\n%s", doc)
	}
	if _, _, ok := CorrectedTrust(identity(), `{"Statement": [`); ok {
		t.Error("a policy that is not JSON must not be corrected")
	}
	bad := identity()
	bad.RoleARN = "arn:aws:iam:111122223333:role/cart"
	if _, _, ok := CorrectedTrust(bad, ""); ok {
		t.Error("no corrected policy for an invalid role ARN")
	}
}

func sa(annotations map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Annotations: annotations}}
}

func TestWalkStatuses(t *testing.T) {
	id := identity()
	obj := id.Object
	working := review.Report{ServiceAccount: sa(map[string]string{validators.AnnotationRoleARN: role}), Identity: &id,
		AWS: &validators.AWSFacts{Role: &validators.RoleFacts{ARN: role}, Provider: &validators.ProviderFacts{ARN: "arn:aws:iam::111122223333:oidc-provider/" + host}}}

	t.Run("a failing step names the error and the fix; skipped steps say why", func(t *testing.T) {
		r := working
		r.Findings = []validators.Finding{validators.NewFinding(validators.CheckProviderAudience, obj, "no audience").
			WithPredictedError("InvalidIdentityToken: Incorrect token audience").WithFix("add it")}
		got := Walk(Input{Subject: "ServiceAccount shop/cart", Report: r})
		aud := find(t, got, "audience")
		if aud.Status != StatusFail || aud.PredictedError != "InvalidIdentityToken: Incorrect token audience" || aud.Fix != "add it" {
			t.Errorf("audience = %+v", aud)
		}
		if s := find(t, got, "static credentials"); s.Status != StatusSkip || !strings.Contains(s.Message, "diagnose pod") {
			t.Errorf("static credentials on a ServiceAccount = %+v, want skip pointing at diagnose pod", s)
		}
		if s := find(t, got, "pod-identity-webhook configuration"); s.Status != StatusSkip {
			t.Errorf("webhook step without the webhooks read = %+v, want skip", s)
		}
		if s := find(t, got, "role exists"); s.Status != StatusPass || !strings.Contains(s.Message, role) {
			t.Errorf("role exists = %+v, want a pass naming the role", s)
		}
	})

	t.Run("an unread fact is unknown, never pass", func(t *testing.T) {
		r := working
		r.AWS = &validators.AWSFacts{Role: &validators.RoleFacts{ARN: role},
			Unverified: []validators.Unverified{{What: "OIDC provider", Reason: "Throttling: Rate exceeded"}}}
		got := Walk(Input{Subject: "ServiceAccount shop/cart", Report: r})
		for _, name := range []string{"OIDC provider for the issuer in the role's account", "audience", "thumbprint"} {
			if s := find(t, got, name); s.Status != StatusUnknown || !strings.Contains(s.Message, "Throttling") {
				t.Errorf("%s = %+v, want unknown with the reason", name, s)
			}
		}
		if s := find(t, got, "role exists"); s.Status != StatusPass {
			t.Errorf("role exists = %+v: the role was read", s)
		}
		if st := (Result{Steps: got}).Status(); st != StatusUnknown {
			t.Errorf("result status %s, want unknown", st)
		}
	})

	t.Run("no AWS: the AWS steps are skipped with the reason", func(t *testing.T) {
		r := review.Report{ServiceAccount: sa(map[string]string{validators.AnnotationRoleARN: role})}
		got := Walk(Input{Subject: "ServiceAccount shop/cart", Report: r, AWSWhy: "--offline: the AWS checks were not run"})
		if s := find(t, got, "trust policy"); s.Status != StatusSkip || s.Message != "--offline: the AWS checks were not run" {
			t.Errorf("trust policy = %+v", s)
		}
	})

	t.Run("a warning passes, and says so instead of the pass message", func(t *testing.T) {
		r := working
		r.AWS = &validators.AWSFacts{Role: &validators.RoleFacts{ARN: role}, Provider: working.AWS.Provider, Chain: &validators.ChainFacts{Host: "oidc.eks.us-west-2.amazonaws.com"}}
		r.Findings = []validators.Finding{validators.NewFinding(validators.CheckProviderThumbprint, obj, "thumbprints do not match (public CA: AWS ignores them)").
			WithSeverity(validators.SeverityWarning).WithPredictedError("")}
		got := Walk(Input{Subject: "ServiceAccount shop/cart", Report: r})
		if s := find(t, got, "thumbprint"); s.Status != StatusPass || !strings.Contains(s.Message, "do not match") {
			t.Errorf("thumbprint = %+v, want pass with the warning as its message", s)
		}
	})

	t.Run("a finding no step covers is reported, not dropped", func(t *testing.T) {
		r := review.Report{ServiceAccount: sa(map[string]string{validators.AnnotationRoleARN: "cart"}),
			Findings: []validators.Finding{validators.NewFinding(validators.CheckCouldNotVerify, obj, "could not verify role \"cart\"")}}
		got := Walk(Input{Subject: "ServiceAccount shop/cart", Report: r})
		last := got[len(got)-1]
		if last.Step != "other findings" || last.Status != StatusUnknown || !slices.Contains(last.Checks, validators.CheckCouldNotVerify) {
			t.Errorf("last step = %+v, want the IRSA090 finding as unknown", last)
		}
	})
}

func TestProbeVerdicts(t *testing.T) {
	fail := []Step{{Step: "audience", Status: StatusFail, PredictedError: "InvalidIdentityToken: Incorrect token audience"}}
	pass := []Step{{Step: "audience", Status: StatusPass}, {Step: "pod injected with IRSA credentials", Status: StatusFail}}
	unknown := []Step{{Step: "trust policy", Status: StatusUnknown}}
	badARN := []Step{{Step: "role ARN format", Status: StatusFail, DecidedBy: validators.CheckRoleARNInvalid, PredictedError: "ValidationError: Request ARN is invalid"}}
	badValue := []Step{{Step: "role ARN format", Status: StatusFail, DecidedBy: validators.CheckAnnotationValue}}
	for _, c := range []struct {
		name    string
		steps   []Step
		outcome string
		want    string
	}{
		{"predicted denial, STS denies", fail, OutcomeDenied, VerdictAgree},
		{"predicted denial, STS allows: a false denial", fail, OutcomeAllowed, VerdictDisagree},
		{"a pod step fails, STS allows: the pod's steps do not change STS's answer", pass, OutcomeAllowed, VerdictAgree},
		{"predicted allow, STS denies: a false works", pass, OutcomeDenied, VerdictDisagree},
		{"unknown", unknown, OutcomeDenied, VerdictNoPrediction},
		{"an invalid role ARN is STS's business", badARN, OutcomeDenied, VerdictAgree},
		{"another annotation value is not", badValue, OutcomeAllowed, VerdictAgree},
		{"STS not reached", fail, OutcomeError, VerdictNotAsked},
	} {
		p := Probe{Outcome: c.outcome}
		p.Judge(c.steps)
		if p.Verdict != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, p.Verdict, c.want)
		}
	}
	r := Result{Steps: pass[:1], Probe: &Probe{Outcome: OutcomeDenied}}
	if r.Status() != StatusFail {
		t.Error("STS's denial fails the subject even when every step passed")
	}
}

func TestPrinter(t *testing.T) {
	r := Result{Subject: "ServiceAccount shop/cart", Context: Context{AWS: "the state file s.yaml"}, Steps: []Step{
		{Step: "audience", Status: StatusFail, Message: "IRSA021: no audience", PredictedError: "InvalidIdentityToken: Incorrect token audience", Fix: "add it"},
		{Step: "thumbprint", Status: StatusPass, Message: "a thumbprint matches"},
	}}
	var plain, color bytes.Buffer
	if err := (Printer{W: &plain}).Report(r); err != nil {
		t.Fatal(err)
	}
	if err := (Printer{W: &color, Color: true}).Report(r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL     1. audience", "AWS error: InvalidIdentityToken: Incorrect token audience", "fix: add it", "1 of 2 steps fail."} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, plain.String())
		}
	}
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(color.String(), "\x1b[31m") {
		t.Error("colour only when asked")
	}
	var table bytes.Buffer
	ok := Result{Subject: "ServiceAccount a/b", Steps: []Step{{Step: "audience", Status: StatusPass}}}
	if err := (Printer{W: &table, Color: true}).Table([]Result{ok, r}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "shop/cart") || !strings.Contains(lines[2], "a/b") {
		t.Errorf("table not worst first:\n%s", table.String())
	}
	// The columns line up as a terminal shows them, where colour codes take no width.
	visible := func(s string) string { return regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(s, "") }
	if strings.Index(visible(lines[1]), "ServiceAccount") != strings.Index(visible(lines[2]), "ServiceAccount") ||
		strings.Index(visible(lines[1]), "audience") != strings.Index(visible(lines[0]), "STEP") {
		t.Errorf("columns shifted:\n%s", visible(table.String()))
	}
}

func TestResultJSONContract(t *testing.T) {
	r := Result{Subject: "Pod shop/cart-1", Steps: []Step{{Step: "audience", Status: StatusPass, Checks: []validators.CheckID{"IRSA021"}, Message: "ok"}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got["probe"]; !ok || got["probe"] != nil {
		t.Errorf(`"probe" must be present and null without --probe: %s`, b)
	}
	st := got["steps"].([]any)[0].(map[string]any)
	for _, k := range []string{"step", "status", "checks", "message"} {
		if _, ok := st[k]; !ok {
			t.Errorf("step lacks %q: %s", k, b)
		}
	}
}

func find(t *testing.T, steps []Step, name string) Step {
	t.Helper()
	for _, s := range steps {
		if s.Step == name {
			return s
		}
	}
	t.Fatalf("no step %q", name)
	return Step{}
}
