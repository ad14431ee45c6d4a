//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/internal/testenv"
	"github.com/irsa-guard/irsa-guard/validators"
)

// diagnoseStateYAML is the AWS the diagnose tests start from: the API server's own issuer (ISSUER is
// replaced by its host) has a provider in the cluster's account, and role diag-app trusts exactly
// diag/app. Every case breaks one thing the way the troubleshooting article describes, and then
// restores this state.
const diagnoseStateYAML = `partition: aws
callerAccount: "111122223333"
clusters:
  - name: diag
    region: us-west-2
    issuer: https://ISSUER
accounts:
  "111122223333":
    oidcProviders:
      - url: https://ISSUER
        clientIDs: [sts.amazonaws.com]
    roles:
      - name: diag-app
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                Federated: arn:aws:iam::111122223333:oidc-provider/ISSUER
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals:
                  "ISSUER:sub": system:serviceaccount:diag:app
                  "ISSUER:aud": sts.amazonaws.com
`

const diagRole = "arn:aws:iam::111122223333:role/diag-app"

// diagWorld is the cluster, the fake AWS and the binary the diagnose tests share.
type diagWorld struct {
	bin    string
	dir    string
	aws    *testenv.FakeAWS
	issuer string
	yaml   []byte // diagnoseStateYAML for this API server, thumbprint included
}

// state is a fresh copy of the working state, edited by edit.
func (w *diagWorld) state(t *testing.T, edit func(*awsstate.State)) *awsstate.State {
	t.Helper()
	st, err := awsstate.ParseState(w.yaml)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(st)
	}
	return st
}

func (w *diagWorld) setState(t *testing.T, edit func(*awsstate.State)) {
	t.Helper()
	if err := w.aws.Server.SetState(w.state(t, edit)); err != nil {
		t.Fatal(err)
	}
}

// run runs irsa-guard diagnose against the test cluster and the fake AWS and returns its output and
// exit status.
func (w *diagWorld) run(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	args = append(append([]string{"diagnose"}, args...), "--kubeconfig", testEnv.Kubeconfig, "--issuer-ca", w.aws.IssuerCAFile)
	cmd := exec.CommandContext(ctx, w.bin, args...)
	cmd.Env = append(os.Environ(), w.aws.Env()...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// transcript runs diagnose for a person (text output) and, when $IRSA_GUARD_TRANSCRIPTS names a
// folder, saves the command and its output there as name.txt: docs/diagnose.md and the README
// quote these real runs.
func (w *diagWorld) transcript(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, stderr, code := w.run(t, ctx, args...)
	if dir := os.Getenv("IRSA_GUARD_TRANSCRIPTS"); dir != "" {
		text := fmt.Sprintf("$ irsa-guard diagnose %s\n%s%s(exit status %d)\n", strings.Join(args, " "), out, stderr, code)
		if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// diagnoseJSON runs diagnose -o json and decodes the result.
func (w *diagWorld) diagnoseJSON(t *testing.T, ctx context.Context, args ...string) (diagnose.Result, int) {
	t.Helper()
	out, stderr, code := w.run(t, ctx, append(args, "-o", "json")...)
	var r diagnose.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("diagnose %v -o json: exit %d, %v\nstdout:\n%s\nstderr:\n%s", args, code, err, out, stderr)
	}
	return r, code
}

func step(t *testing.T, r diagnose.Result, name string) diagnose.Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Step == name {
			return s
		}
	}
	t.Fatalf("no step %q in %s", name, dump(r))
	return diagnose.Step{}
}

func dump(r diagnose.Result) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// requireWorking asserts a diagnosis where nothing fails or is unknown and every step of the
// article that applies passes.
func requireWorking(t *testing.T, r diagnose.Result, code int, mustPass ...string) {
	t.Helper()
	if code != 0 || r.Status() != diagnose.StatusPass {
		t.Fatalf("want a working setup (exit 0, status pass), got exit %d, status %s:\n%s", code, r.Status(), dump(r))
	}
	for _, name := range mustPass {
		if s := step(t, r, name); s.Status != diagnose.StatusPass {
			t.Errorf("step %q: %s (%s), want pass", name, s.Status, s.Message)
		}
	}
}

func startDiagWorld(t *testing.T, ctx context.Context) *diagWorld {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, err := testenv.BuildIRSAGuard(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testEnv.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	stateYAML := []byte(strings.ReplaceAll(diagnoseStateYAML, "ISSUER", u.Host))
	fa, err := testenv.StartFakeAWSWithClusterIssuer(ctx, testEnv, stateYAML, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fa.Close)
	thumbprint, err := testEnv.IssuerThumbprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	withThumbprint := strings.Replace(string(stateYAML), "clientIDs: [sts.amazonaws.com]",
		"clientIDs: [sts.amazonaws.com]\n        thumbprints: ["+thumbprint+"]", 1)
	return &diagWorld{bin: bin, dir: dir, aws: fa, issuer: testEnv.Issuer, yaml: []byte(withThumbprint)}
}

// TestDiagnose walks each step of "How do I troubleshoot IRSA errors in Amazon EKS?" against the
// real API server, whose own service-account issuer signs the tokens, and the fake AWS, whose STS
// verifies them against that issuer's discovery document and keys: broken the way the article
// describes, diagnose names the step, the AWS error and the fix, and --probe gets that error from
// STS; fixed, every step passes and STS issues credentials.
func TestDiagnose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w := startDiagWorld(t, ctx)
	piw, err := testenv.StartPodIdentityWebhook(ctx, testEnv, testenv.PodIdentityWebhookOptions{Dir: w.dir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := piw.Stop(); err != nil {
			t.Error(err)
		}
	})
	createNamespaces(t, ctx, map[string]map[string]string{"diag": nil})
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "diag", Name: "app",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": diagRole}}}
	if err := testEnv.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	awsSteps := []string{"OIDC provider for the issuer in the role's account", "audience", "thumbprint", "trust policy", "role exists"}

	t.Run("working ServiceAccount, with the probe", func(t *testing.T) {
		w.transcript(t, ctx, "working", "sa", "diag/app", "--probe")
		r, code := w.diagnoseJSON(t, ctx, "sa", "diag/app", "--probe")
		requireWorking(t, r, code, append(awsSteps, "role ARN format", "pod-identity-webhook configuration")...)
		if r.Context.Issuer != w.issuer || r.Context.IssuerFrom != "the API server's discovery document" {
			t.Errorf("issuer %q from %q, want %s from the API server's discovery document", r.Context.Issuer, r.Context.IssuerFrom, w.issuer)
		}
		p := r.Probe
		if p == nil || p.Outcome != diagnose.OutcomeAllowed || p.Verdict != diagnose.VerdictAgree ||
			!strings.HasPrefix(p.AssumedRole, "arn:aws:sts::111122223333:assumed-role/diag-app/irsa-guard-diagnose") {
			t.Fatalf("probe = %+v, want STS to allow diag-app and agree", p)
		}
	})

	t.Run("the issuer from eks:DescribeCluster", func(t *testing.T) {
		r, code := w.diagnoseJSON(t, ctx, "sa", "app", "-n", "diag", "--cluster", "diag")
		requireWorking(t, r, code, awsSteps...)
		if r.Context.IssuerFrom != "eks:DescribeCluster diag" || r.Context.Issuer != w.issuer {
			t.Errorf("issuer %q from %q, want %s from eks:DescribeCluster diag", r.Context.Issuer, r.Context.IssuerFrom, w.issuer)
		}
		if s := step(t, r, "EKS Pod Identity"); s.Status != diagnose.StatusPass || !strings.Contains(s.Message, "no EKS Pod Identity association") {
			t.Errorf("EKS Pod Identity step = %+v, want a pass: the cluster was asked and has no association", s)
		}
	})

	// Each case breaks one step of the article. fix restores it.
	cases := []struct {
		name           string
		step           string
		check          string
		breakIt, fixIt func(t *testing.T)
		// predicted is in the step's predicted AWS error; sts is in STS's own error ("" when
		// there is nothing to ask STS); fix is in the step's fix.
		predicted, sts, fix string
	}{{
		name: "role ARN format", step: "role ARN format", check: "IRSA001",
		breakIt:   func(t *testing.T) { annotate(t, ctx, "arn:aws:iam:111122223333:role/diag-app") },
		fixIt:     func(t *testing.T) { annotate(t, ctx, diagRole) },
		predicted: "Request ARN is invalid", sts: "Request ARN is invalid", fix: diagRole,
	}, {
		name: "no OIDC provider", step: "OIDC provider for the issuer in the role's account", check: "IRSA020",
		breakIt: func(t *testing.T) {
			w.setState(t, func(st *awsstate.State) { st.Accounts["111122223333"].OIDCProviders = nil })
		},
		predicted: "No OpenIDConnect provider found in your account for " + w.issuer,
		sts:       "No OpenIDConnect provider found in your account for " + w.issuer,
		fix:       "aws iam create-open-id-connect-provider --url " + w.issuer,
	}, {
		name: "audience", step: "audience", check: "IRSA021",
		breakIt: func(t *testing.T) {
			w.setState(t, func(st *awsstate.State) { st.Accounts["111122223333"].OIDCProviders[0].ClientIDs = []string{"vault"} })
		},
		predicted: "Incorrect token audience", sts: "Incorrect token audience",
		fix: "add-client-id-to-open-id-connect-provider",
	}, {
		name: "thumbprint", step: "thumbprint", check: "IRSA022",
		breakIt: func(t *testing.T) {
			w.setState(t, func(st *awsstate.State) {
				st.Accounts["111122223333"].OIDCProviders[0].Thumbprints = []string{strings.Repeat("ab", 20)}
			})
		},
		sts: "thumbprint", fix: "update-open-id-connect-provider-thumbprint",
	}, {
		name: "trust policy names another ServiceAccount", step: "trust policy", check: "IRSA032",
		breakIt: func(t *testing.T) {
			w.setState(t, func(st *awsstate.State) {
				r := &st.Accounts["111122223333"].Roles[0]
				r.TrustPolicy = awsstate.PolicyText(strings.Replace(string(r.TrustPolicy), "diag:app", "diag:api", 1))
			})
		},
		predicted: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
		sts:       "Not authorized to perform sts:AssumeRoleWithWebIdentity",
		fix:       "aws iam update-assume-role-policy --role-name diag-app",
	}, {
		name: "role does not exist", step: "role exists", check: "IRSA010",
		breakIt: func(t *testing.T) {
			w.setState(t, func(st *awsstate.State) { st.Accounts["111122223333"].Roles = nil })
		},
		predicted: "Not authorized to perform sts:AssumeRoleWithWebIdentity",
		sts:       "Not authorized to perform sts:AssumeRoleWithWebIdentity",
	}, {
		name: "pod-identity-webhook not registered", step: "pod-identity-webhook configuration", check: "IRSA050",
		breakIt: func(t *testing.T) {
			if err := piw.Unregister(ctx); err != nil {
				t.Fatal(err)
			}
		},
		fixIt: func(t *testing.T) {
			if err := piw.Register(ctx, nil); err != nil {
				t.Fatal(err)
			}
		},
		fix: "pod-identity-webhook",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.breakIt(t)
			r, code := w.diagnoseJSON(t, ctx, "sa", "diag/app", "--probe")
			s := step(t, r, c.step)
			if code != 1 || s.Status != diagnose.StatusFail || !containsCheck(s.Checks, c.check) || !strings.Contains(s.Message, c.check) {
				t.Fatalf("broken %s: exit %d, step %+v; want exit 1 and the step failing with %s\n%s", c.name, code, s, c.check, dump(r))
			}
			if !strings.Contains(s.PredictedError, c.predicted) || !strings.Contains(s.Fix, c.fix) {
				t.Errorf("step %q: predicted %q, fix %q; want them to contain %q and %q", c.step, s.PredictedError, s.Fix, c.predicted, c.fix)
			}
			for _, other := range r.Steps {
				if other.Step != c.step && other.Status == diagnose.StatusFail {
					t.Errorf("step %q fails too (%s): only %q is broken", other.Step, other.Message, c.step)
				}
			}
			switch p := r.Probe; {
			case c.sts == "":
				if p != nil && p.Outcome == diagnose.OutcomeDenied {
					t.Errorf("probe = %+v: STS must still allow the role when only %s is broken", p, c.step)
				}
			case p == nil || p.Outcome != diagnose.OutcomeDenied || !strings.Contains(p.Message, c.sts) || p.Verdict != diagnose.VerdictAgree:
				t.Errorf("probe = %+v; want STS to deny with %q and agree with the prediction", p, c.sts)
			}
			if c.step == "trust policy" {
				out := w.transcript(t, ctx, "trust-policy", "sa", "diag/app", "--probe")
				for _, want := range []string{"FAIL", "IRSA032", "AWS error: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
					"update-assume-role-policy", `"system:serviceaccount:diag:app"`, "verdict     agree"} {
					if !strings.Contains(out, want) {
						t.Errorf("text report lacks %q:\n%s", want, out)
					}
				}
				fixTrustWithTheOfferedPolicy(t, w, s)
			}
			if c.fixIt != nil {
				c.fixIt(t)
			} else if c.step != "trust policy" {
				w.setState(t, nil)
			}
			r, code = w.diagnoseJSON(t, ctx, "sa", "diag/app", "--probe")
			requireWorking(t, r, code, c.step)
			if p := r.Probe; p != nil && (p.Outcome != diagnose.OutcomeAllowed || p.Verdict != diagnose.VerdictAgree) {
				t.Errorf("fixed: probe = %+v, want allowed and agree", p)
			}
		})
	}

	t.Run("pods", func(t *testing.T) {
		testDiagnosePods(t, ctx, w)
	})

	t.Run("cluster table", func(t *testing.T) {
		annotateSA(t, ctx, "diag", "broken", "arn:aws:iam::111122223333:role/missing")
		out, stderr, code := w.run(t, ctx, "cluster")
		if code != 1 {
			t.Fatalf("diagnose cluster: exit %d, want 1 (diag/broken fails)\n%s%s", code, out, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[0], "STATUS") ||
			!strings.HasPrefix(lines[1], "FAIL") || !strings.Contains(lines[1], "ServiceAccount diag/broken") || !strings.Contains(lines[1], "IRSA010") {
			t.Fatalf("diagnose cluster: want a header and diag/broken failing first with IRSA010:\n%s", out)
		}
		if !strings.Contains(out, "PASS     ServiceAccount diag/app") {
			t.Errorf("diagnose cluster: diag/app should pass:\n%s", out)
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("colour codes in output that is not a terminal:\n%q", out)
		}
	})

	t.Run("bad input and an unreachable cluster exit 2", func(t *testing.T) {
		_, stderr, code := w.run(t, ctx, "sa", "diag/nope")
		if code != 2 || !strings.Contains(stderr, "ServiceAccount diag/nope does not exist") {
			t.Errorf("missing ServiceAccount: exit %d, stderr %q", code, stderr)
		}
		dead := filepath.Join(w.dir, "dead.kubeconfig")
		kc := "apiVersion: v1\nkind: Config\nclusters: [{name: dead, cluster: {server: https://127.0.0.1:1}}]\n" +
			"contexts: [{name: dead, context: {cluster: dead, user: u}}]\nusers: [{name: u, user: {token: x}}]\ncurrent-context: dead\n"
		if err := os.WriteFile(dead, []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, w.bin, "diagnose", "sa", "diag/app", "--kubeconfig", dead, "--offline")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), `cannot reach the Kubernetes API server https://127.0.0.1:1 (kubeconfig context "dead")`) {
			t.Errorf("unreachable cluster: %v\n%s", err, out)
		}
	})

	t.Run("as a user with only docs/diagnose-rbac.yaml", func(t *testing.T) {
		root, err := filepath.Abs("..")
		if err != nil {
			t.Fatal(err)
		}
		if res := testEnv.Kubectl(ctx, "apply", "-f", filepath.Join(root, "docs/diagnose-rbac.yaml")); res.ExitCode != 0 {
			t.Fatalf("apply docs/diagnose-rbac.yaml: %s", res)
		}
		for _, role := range []string{"irsa-guard-diagnose", "irsa-guard-diagnose-probe"} {
			if res := testEnv.Kubectl(ctx, "create", "clusterrolebinding", role+"-diagnoser", "--clusterrole", role, "--user", "diagnoser"); res.ExitCode != 0 {
				t.Fatalf("bind %s: %s", role, res)
			}
		}
		kc, err := testEnv.KubeconfigFor("diagnoser")
		if err != nil {
			t.Fatal(err)
		}
		admin := testEnv.Kubeconfig
		testEnv.Kubeconfig = kc
		defer func() { testEnv.Kubeconfig = admin }()
		r, code := w.diagnoseJSON(t, ctx, "pod", "diag/injected", "--probe", "--scan-images=false")
		requireWorking(t, r, code, append(awsSteps, "pod-identity-webhook configuration", "pod injected with IRSA credentials")...)
		if r.Probe == nil || r.Probe.Outcome != diagnose.OutcomeAllowed {
			t.Errorf("probe as diagnoser = %+v, want allowed", r.Probe)
		}
		if _, stderr, code := w.run(t, ctx, "cluster"); code != 1 || stderr != "" {
			t.Errorf("diagnose cluster as diagnoser: exit %d (want 1: diag/broken), stderr %q", code, stderr)
		}
	})

	t.Run("as a kubectl plugin", func(t *testing.T) {
		plugins := t.TempDir()
		if err := os.Symlink(w.bin, filepath.Join(plugins, "kubectl-irsa_guard")); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, filepath.Join(testEnv.AssetsDir, "kubectl"), "irsa-guard", "diagnose", "sa", "diag/app",
			"--kubeconfig", testEnv.Kubeconfig, "--issuer-ca", w.aws.IssuerCAFile)
		cmd.Env = append(append(os.Environ(), w.aws.Env()...), "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Diagnosing ServiceAccount diag/app") || !strings.Contains(string(out), "No step fails.") {
			t.Errorf("kubectl irsa-guard diagnose sa diag/app: %v\n%s", err, out)
		}
	})
}

// fixTrustWithTheOfferedPolicy applies the corrected trust policy diagnose offered, as the user
// would with aws iam update-assume-role-policy, to the fake IAM.
func fixTrustWithTheOfferedPolicy(t *testing.T, w *diagWorld, s diagnose.Step) {
	t.Helper()
	if s.FixDocument == "" || !strings.Contains(s.FixDocument, "system:serviceaccount:diag:app") {
		t.Fatalf("trust step offers no corrected policy for diag/app: %+v", s)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s.FixDocument), &doc); err != nil {
		t.Fatalf("the corrected trust policy is not JSON: %v\n%s", err, s.FixDocument)
	}
	w.setState(t, func(st *awsstate.State) {
		st.Accounts["111122223333"].Roles[0].TrustPolicy = awsstate.PolicyText(s.FixDocument)
	})
}

// testDiagnosePods diagnoses a pod pod-identity-webhook injected and one it did not.
func testDiagnosePods(t *testing.T, ctx context.Context, w *diagWorld) {
	mk := func(name string, labels map[string]string, image ...string) {
		t.Helper()
		img := "registry.example/app:1"
		if len(image) > 0 {
			img = image[0]
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "diag", Name: name, Labels: labels},
			Spec: corev1.PodSpec{ServiceAccountName: "app", Containers: []corev1.Container{{Name: "app", Image: img}}}}
		if err := testEnv.Client.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	mk("injected", nil)
	mk("skipped", map[string]string{testenv.PIWSkipLabel: "true"})

	r, code := w.diagnoseJSON(t, ctx, "pod", "diag/injected", "--probe", "--scan-images=false")
	requireWorking(t, r, code, "pod injected with IRSA credentials", "static credentials", "token readable", "trust policy")
	if r.Probe == nil || r.Probe.Outcome != diagnose.OutcomeAllowed {
		t.Errorf("probe for the pod's ServiceAccount = %+v, want allowed", r.Probe)
	}

	testDiagnoseImages(t, ctx, w, mk)

	r, code = w.diagnoseJSON(t, ctx, "pod", "diag/skipped", "--scan-images=false")
	s := step(t, r, "pod injected with IRSA credentials")
	if code != 1 || s.Status != diagnose.StatusFail || !strings.Contains(s.Message, "IRSA040") || s.Fix == "" {
		t.Fatalf("a pod pod-identity-webhook skipped: exit %d, step %+v; want IRSA040 with a fix\n%s", code, s, dump(r))
	}
	out := w.transcript(t, ctx, "pod-not-injected", "pod", "diag/skipped", "--scan-images=false")
	for _, want := range []string{"Diagnosing Pod diag/skipped", "FAIL", "pod injected with IRSA credentials", "fix:"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

func annotate(t *testing.T, ctx context.Context, role string) {
	t.Helper()
	annotateSA(t, ctx, "diag", "app", role)
}

// annotateSA creates or updates a ServiceAccount with a role-arn annotation.
func annotateSA(t *testing.T, ctx context.Context, ns, name, role string) {
	t.Helper()
	sas := testEnv.Clientset.CoreV1().ServiceAccounts(ns)
	sa, err := sas.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		sa = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	if sa.Annotations == nil {
		sa.Annotations = map[string]string{}
	}
	sa.Annotations["eks.amazonaws.com/role-arn"] = role
	if sa.ResourceVersion == "" {
		_, err = sas.Create(ctx, sa, metav1.CreateOptions{})
	} else {
		_, err = sas.Update(ctx, sa, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatal(fmt.Errorf("annotate %s/%s: %w", ns, name, err))
	}
}

func containsCheck(ids []validators.CheckID, id string) bool {
	for _, c := range ids {
		if string(c) == id {
			return true
		}
	}
	return false
}

// testDiagnoseImages runs the article's last step, "verify that you're using supported AWS SDKs",
// through the registry protocol: images in an in-process registry hold botocore below and above
// the version the EKS user guide lists for IRSA (1.12.200).
func testDiagnoseImages(t *testing.T, ctx context.Context, w *diagWorld, mk func(string, map[string]string, ...string)) {
	t.Helper()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	old := pushPythonImage(t, host+"/shop/cart:old", "1.10.0")
	current := pushPythonImage(t, host+"/shop/cart:current", "1.34.41")
	mk("old-sdk", nil, old)
	mk("current-sdk", nil, current)
	mk("missing-image", nil, host+"/shop/cart:nope")
	const sdkStep = "AWS SDK in each image"

	r, code := w.diagnoseJSON(t, ctx, "pod", "diag/old-sdk")
	s := step(t, r, sdkStep)
	if code != 0 || s.Status != diagnose.StatusPass || !s.Warning || !strings.Contains(s.Message, "IRSA070") ||
		!strings.Contains(s.Message, "botocore 1.10.0") || !strings.Contains(s.Fix, "1.12.200") {
		t.Errorf("old botocore: exit %d, step %+v; want a warning naming botocore 1.10.0 and the fix to 1.12.200", code, s)
	}
	out := w.transcript(t, ctx, "old-sdk", "pod", "diag/old-sdk")
	if !strings.Contains(out, "WARN     9. AWS SDK in each image") || !strings.Contains(out, "No step fails; 1 warn") {
		t.Errorf("text report of the old SDK:\n%s", out)
	}

	r, code = w.diagnoseJSON(t, ctx, "pod", "diag/current-sdk")
	requireWorking(t, r, code, sdkStep)
	if s := step(t, r, sdkStep); s.Warning || !slices.ContainsFunc(s.Details, func(d string) bool { return strings.Contains(d, "1 SDK(s) found") }) {
		t.Errorf("current botocore: step %+v, want a clean pass that says what it read", s)
	}

	r, _ = w.diagnoseJSON(t, ctx, "pod", "diag/missing-image")
	if s := step(t, r, sdkStep); s.Status != diagnose.StatusUnknown || !strings.Contains(s.Message, "could not be read") {
		t.Errorf("an image that cannot be read: step %+v, want unknown", s)
	}

	out, stderr, code := w.run(t, ctx, "image", old)
	if code != 1 || !strings.Contains(out, "botocore") || !strings.Contains(out, "too old, needs 1.12.200") {
		t.Errorf("diagnose image %s: exit %d\n%s%s", old, code, out, stderr)
	}
	if _, _, code := w.run(t, ctx, "image", current); code != 0 {
		t.Errorf("diagnose image %s: exit %d, want 0", current, code)
	}
}

// pushPythonImage pushes a one-layer linux/amd64 image holding botocore's wheel metadata at
// version and returns its reference.
func pushPythonImage(t *testing.T, ref, version string) string {
	t.Helper()
	dir := "usr/lib/python3.12/site-packages/botocore-" + version + ".dist-info/"
	layer, err := crane.Layer(map[string][]byte{dir + "METADATA": []byte("Metadata-Version: 2.1\nName: botocore\nVersion: " + version + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64"}); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref
}
