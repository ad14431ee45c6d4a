//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// chartTestState is the smallest AWS the server starts against: the cluster, its OIDC provider and one
// correctly trusted role. The admissions below need no IAM answer (IRSA001 is decided from the ARN).
const chartTestState = `partition: aws
callerAccount: "111122223333"
clusters:
  - name: chart
    region: us-west-2
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
accounts:
  "111122223333":
    oidcProviders:
      - url: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
        clientIDs: [sts.amazonaws.com]
    roles:
      - name: app
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                Federated: arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
              Action: sts:AssumeRoleWithWebIdentity
`

// TestChartInstallsAndAgreesWithTheBinary is issue 5's proof that the Helm chart and the binary agree:
// the render of ci/e2e-values.yaml passes a server-side dry run and is stored by a real kube-apiserver
// exactly as rendered, then irsa-guard runs with the Deployment's own arguments, certificate and
// configuration, and the chart's own ValidatingWebhookConfiguration (its url, caBundle, selectors and
// matchConditions) sends it one ServiceAccount and keeps the others away.
func TestChartInstallsAndAgreesWithTheBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	const release = "irsa-guard"
	values := filepath.Join(root, "charts/irsa-guard/ci/e2e-values.yaml")
	manifests, err := testenv.HelmTemplate(ctx, root, release, values)
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := testenv.SplitChart(manifests)
	if err != nil {
		t.Fatal(err)
	}
	if res := testEnv.Kubectl(ctx, "create", "namespace", release); res.ExitCode != 0 && !strings.Contains(res.Stderr, "AlreadyExists") {
		t.Fatalf("create namespace %s: %s", release, res)
	}
	// The namespace stays: envtest runs no namespace controller, so a deleted one would stay Terminating
	// and refuse the next test's release.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if res := testEnv.KubectlWithInput(ctx, manifests, "delete", "--ignore-not-found", "--wait=false", "-f", "-"); res.ExitCode != 0 {
			t.Errorf("delete the applied chart: %s", res)
		}
	})

	// helm install --dry-run=server never reaches admission; kubectl's server dry run runs the whole
	// admission chain (and creates nothing).
	res := testEnv.KubectlWithInput(ctx, manifests, "apply", "--dry-run=server", "-f", "-")
	objects, err := testenv.DecodeManifests(manifests)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || strings.Count(res.Stdout, " (server dry run)\n") != len(objects) {
		t.Fatalf("kubectl apply --dry-run=server of the render: want all %d objects accepted, got %s", len(objects), res)
	}

	// The comparison is not vacuous: a CPU request written as "0.5" is accepted but stored as "500m".
	rewritten := filepath.Join(t.TempDir(), "cpu-values.yaml")
	if err := os.WriteFile(rewritten, []byte("resources:\n  requests:\n    cpu: \"0.5\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cpuRender, err := testenv.HelmTemplate(ctx, root, release, values, rewritten)
	if err != nil {
		t.Fatal(err)
	}
	wantDrift := `Deployment irsa-guard/irsa-guard: spec.template.spec.containers[0].resources.requests.cpu: rendered "0.5", stored "500m"`
	if _, err := testEnv.ApplyAsRendered(ctx, cpuRender); err == nil || err.Error() != "the API server did not store the render as rendered:\n"+wantDrift {
		t.Fatalf("ApplyAsRendered of a render with cpu \"0.5\": want only the drift\n%s\ngot %v", wantDrift, err)
	}

	stored, err := testEnv.ApplyAsRendered(ctx, manifests)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range stored {
		kinds = append(kinds, m.Kind)
	}
	slices.Sort(kinds)
	want := []string{"ClusterRole", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Secret",
		"Service", "ServiceAccount", "ValidatingWebhookConfiguration"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("stored kinds = %v, want %v", kinds, want)
	}
	// The stored configuration fails closed at the chart's fixed port, where nothing listens yet;
	// StartIRSAGuard registers its own render's once the server is ready.
	if res := testEnv.KubectlWithInput(ctx, rendered.Webhooks, "delete", "-f", "-"); res.ExitCode != 0 {
		t.Fatalf("delete the fixed-port webhook configuration: %s", res)
	}

	// No extra values: the server runs on ci/e2e-values.yaml plus the harness's free ports and fake issuer.
	guard := startServer(t, ctx, []byte(chartTestState), testenv.IRSAGuardOptions{Root: root, Namespace: release}).guard
	if err := sameArgsButPorts(rendered.Args, guard.Chart.Args); err != "" {
		t.Fatalf("the server did not run with the chart's arguments: %s\nchart: %q\nran:   %q", err, rendered.Args, guard.Chart.Args)
	}
	if got := guard.Chart.Args; len(got) == 0 || got[0] != "serve" {
		t.Fatalf("args = %q, want the serve subcommand first", got)
	}

	ns := createNamespace(t, ctx)
	t.Cleanup(func() {
		_ = testEnv.Kubectl(context.Background(), "delete", "serviceaccount", "chart-broken", "-n", "kube-system", "--ignore-not-found")
	})
	brokenARN := serviceAccountYAML(ns, "broken-arn", "arn:aws:iam::11112222333:role/app")
	waitUntilWarned(t, ctx, brokenARN, "IRSA001")

	t.Run("warn mode stores a ServiceAccount with a broken role-arn and kubectl shows the IRSA001 warning", func(t *testing.T) {
		before := webhookCalls(t, ctx, guard)
		res := testEnv.KubectlWithInput(ctx, []byte(brokenARN), "apply", "-f", "-")
		if res.ExitCode != 0 || res.Stdout != "serviceaccount/broken-arn created\n" {
			t.Fatalf("kubectl apply: want created (warn mode), got %s", res)
		}
		// IRSA050 too: envtest has no pod-identity-webhook, so no pod would get credentials anyway.
		lines := warningLines(res.Stderr)
		if got := checkIDs(lines); !slices.Equal(got, []string{"IRSA001", "IRSA050"}) {
			t.Fatalf("want the warnings IRSA001 and IRSA050 on kubectl's stderr, got %v in\n%s", got, res.Stderr)
		}
		if want := `IRSA001: role-arn "arn:aws:iam::11112222333:role/app" has account ID "11112222333" with 11 digits, not 12`; !slices.Contains(lines, want) {
			t.Fatalf("want the line 'Warning: %s', got\n%s", want, res.Stderr)
		}
		if n := webhookCalls(t, ctx, guard) - before; n != 1 {
			t.Fatalf("irsa-guard answered %d ServiceAccount requests for one create, want 1", n)
		}
	})

	t.Run("ServiceAccounts the chart's selectors and matchConditions exclude never reach the server", func(t *testing.T) {
		apply := []string{"apply", "-f", "-"}
		tests := map[string]struct {
			args  []string
			input string
		}{
			"a ServiceAccount with no annotations (matchConditions)": {args: apply,
				input: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: plain\n  namespace: " + ns + "\n"},
			"a ServiceAccount with only non-AWS annotations (matchConditions)": {args: apply,
				input: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: owned\n  namespace: " + ns + "\n  annotations:\n    example.com/owner: payments-team\n"},
			"a label added to a ServiceAccount whose annotations did not change (matchConditions on UPDATE)": {
				args: []string{"label", "serviceaccount", "broken-arn", "-n", ns, "team=payments"}},
			"a broken ServiceAccount in kube-system (namespaceSelector)": {args: apply,
				input: serviceAccountYAML("kube-system", "chart-broken", "not-an-arn")},
			"a broken ServiceAccount labelled irsa-guard.io/skip=true (objectSelector)": {args: apply,
				input: serviceAccountYAML(ns, "skipped", "not-an-arn", "irsa-guard.io/skip", "true")},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				var input []byte
				if tc.input != "" {
					input = []byte(tc.input)
				}
				before := webhookCalls(t, ctx, guard)
				res := testEnv.KubectlWithInput(ctx, input, tc.args...)
				if res.ExitCode != 0 || res.Stderr != "" {
					t.Fatalf("kubectl %s: want success with nothing on stderr, got %s", strings.Join(tc.args, " "), res)
				}
				if n := webhookCalls(t, ctx, guard) - before; n != 0 {
					t.Fatalf("irsa-guard answered %d ServiceAccount requests, want 0", n)
				}
			})
		}
	})
}

// sameArgsButPorts returns "" when ran is chart with at most the listening ports changed: the only
// values the harness overrides, since the test machine's ports are not the pod's.
func sameArgsButPorts(chart, ran []string) string {
	if len(chart) != len(ran) {
		return "a different number of arguments"
	}
	for i := range chart {
		if chart[i] == ran[i] {
			continue
		}
		flag, _, _ := strings.Cut(chart[i], "=")
		ranFlag, _, _ := strings.Cut(ran[i], "=")
		if flag != ranFlag || !slices.Contains([]string{"--webhook-port", "--metrics-bind-address", "--health-probe-bind-address"}, flag) {
			return "argument " + chart[i] + " became " + ran[i]
		}
	}
	return ""
}

// waitUntilWarned dry-runs manifest until kubectl shows a warning starting with id: the API server
// takes a moment to start calling a webhook configuration after it is created.
func waitUntilWarned(t *testing.T, ctx context.Context, manifest, id string) {
	t.Helper()
	var res testenv.KubectlResult
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if res = testEnv.KubectlWithInput(ctx, []byte(manifest), "apply", "--dry-run=server", "-f", "-"); strings.Contains(res.Stderr, "Warning: "+id+": ") {
			return
		}
	}
	t.Fatalf("the API server never called irsa-guard through the chart's webhook configuration: %s", res)
}
