//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/internal/testenv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

// TestWebhook runs the irsa-guard binary as the chart deploys it, against the demo's fake AWS, with the
// chart's webhook configurations registered in a real kube-apiserver, and drives it with the real kubectl
// and client-go. The cases share one server and run in order: the first runs before a
// pod-identity-webhook exists, the rest with one installed, as on EKS.
func TestWebhook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w := startWorld(t, ctx)
	createNamespaces(t, ctx, map[string]map[string]string{
		"payments": nil, "shop": nil, "reports": nil, "analytics": nil, "ci": nil,
		"search": {"irsa-guard.io/mode": "enforce"},
		"legacy": {"irsa-guard.io/mode": "enforce", "irsa-guard.io/skip": "true"},
	})
	waitForWebhook(t, ctx)
	client, warnings := clientWithWarnings(t)
	if _, err := client.CoreV1().ServiceAccounts("payments").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name: "payments-api", Annotations: map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::111122223333:role/payments-api"},
	}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Without pod-identity-webhook even the right ServiceAccount is flagged: no pod would get credentials.
	if got := checkIDs(warnings.take()); !slices.Equal(got, []string{"IRSA050"}) {
		t.Fatalf("ServiceAccount payments/payments-api with no pod-identity-webhook: want [IRSA050], got %v", got)
	}

	t.Run("a pod without injected credentials is flagged, and so is the missing pod-identity-webhook", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(podYAML("payments", "no-piw", "payments-api", "")), "apply", "-f", "-")
		if res.ExitCode != 0 || res.Stdout != "pod/no-piw created\n" {
			t.Fatalf("kubectl apply: want the pod created (warn mode), got %s", res)
		}
		if got := checkIDs(warningLines(res.Stderr)); !slices.Equal(got, []string{"IRSA040", "IRSA050"}) {
			t.Fatalf("want warnings IRSA040 and IRSA050 on kubectl's stderr, got %v in\n%s", got, res.Stderr)
		}
	})

	piw, err := testenv.StartPodIdentityWebhook(ctx, testEnv, injectorOptions(t, w))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := piw.Stop(); err != nil {
			t.Error(err)
		}
	})
	waitUntilSilent(t, ctx, podYAML("payments", "probe", "payments-api", ""))

	t.Run("a pod injected by pod-identity-webhook passes silently", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(podYAML("payments", "injected", "payments-api", "")), "apply", "-f", "-")
		if res.ExitCode != 0 || res.Stderr != "" {
			t.Fatalf("kubectl apply: want the pod created with nothing on stderr, got %s", res)
		}
		pod, err := testEnv.Clientset.CoreV1().Pods("payments").Get(ctx, "injected", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := envValue(pod.Spec.Containers[0], "AWS_ROLE_ARN"); got != "arn:aws:iam::111122223333:role/payments-api" {
			t.Fatalf("stored pod's AWS_ROLE_ARN = %q; the fake pod-identity-webhook did not inject", got)
		}
	})

	t.Run("a pod that opts out of pod-identity-webhook is flagged with the reason", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(podYAML("payments", "opted-out", "payments-api", testenv.PIWSkipLabel)), "apply", "-f", "-")
		if res.ExitCode != 0 {
			t.Fatalf("kubectl apply: %s", res)
		}
		lines := warningLines(res.Stderr)
		if got := checkIDs(lines); !slices.Equal(got, []string{"IRSA040", "IRSA051"}) {
			t.Fatalf("want IRSA040 and IRSA051, got %v in\n%s", got, res.Stderr)
		}
		if !strings.Contains(res.Stderr, "objectSelector skips this pod") {
			t.Fatalf("IRSA051 should say the objectSelector skipped the pod:\n%s", res.Stderr)
		}
	})

	t.Run("a good ServiceAccount passes silently", func(t *testing.T) {
		for _, sa := range []string{
			serviceAccountYAML("analytics", "shared-data-reader", "arn:aws:iam::444455556666:role/shared-data-reader"),
			serviceAccountYAML("shop", "inventory-sync", "arn:aws:iam::111122223333:role/Inventory-Sync"),
		} {
			res := testEnv.KubectlWithInput(ctx, []byte(sa), "apply", "-f", "-")
			if res.ExitCode != 0 || res.Stderr != "" || !strings.HasSuffix(res.Stdout, " created\n") {
				t.Fatalf("kubectl apply of\n%s\nwant created with nothing on stderr, got %s", sa, res)
			}
		}
	})

	t.Run("warn mode creates a broken ServiceAccount and kubectl shows the warning", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("shop", "cart", "arn:aws:iam::111122223333:role/cart-service")), "apply", "-f", "-")
		if res.ExitCode != 0 || res.Stdout != "serviceaccount/cart created\n" {
			t.Fatalf("kubectl apply: want created, got %s", res)
		}
		lines := warningLines(res.Stderr)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "IRSA010: ") || !strings.Contains(lines[0], "cart-service") {
			t.Fatalf("want exactly one warning line 'Warning: IRSA010: ...' naming the role, got\n%s", res.Stderr)
		}
		if _, err := testEnv.Clientset.CoreV1().ServiceAccounts("shop").Get(ctx, "cart", metav1.GetOptions{}); err != nil {
			t.Fatalf("the warned ServiceAccount was not stored: %v", err)
		}
	})

	t.Run("enforce mode denies a broken role-arn and the denial has the fix", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("search", "search-indexer", "arn:aws:iam::111122223333:role/search-indexer")), "apply", "-f", "-")
		want := `admission webhook "serviceaccounts.validate.irsa-guard.io" denied the request: irsa-guard found 1 problem that will break IAM Roles for Service Accounts:`
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "\n- IRSA030: ") || !strings.Contains(res.Stderr, " Fix: ") {
			t.Fatalf("kubectl apply in an enforce namespace: want exit 1 with %q, the IRSA030 line and its fix, got %s", want, res)
		}
		// The same through client-go, for an annotation that is not an ARN at all (no AWS needed).
		_, err := client.CoreV1().ServiceAccounts("search").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Name: "typo", Annotations: map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::11112222333:role/search-indexer"},
		}}, metav1.CreateOptions{})
		fix := `Fix: Fix eks.amazonaws.com/role-arn "arn:aws:iam::11112222333:role/search-indexer": it has account ID "11112222333" with 11 digits, not 12.`
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "\n- IRSA001: ") || !strings.Contains(err.Error(), fix) {
			t.Fatalf("client-go create: want a Forbidden denial with IRSA001 and %q, got %v", fix, err)
		}
		// A denial carries the findings as warnings too, so kubectl users see each on its own line.
		if got := checkIDs(warnings.take()); !slices.Equal(got, []string{"IRSA001"}) {
			t.Fatalf("warnings with the denial: want [IRSA001], got %v", got)
		}
		for _, name := range []string{"search-indexer", "typo"} {
			if _, err := testEnv.Clientset.CoreV1().ServiceAccounts("search").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("denied ServiceAccount search/%s: want NotFound, got %v", name, err)
			}
		}
	})

	t.Run("with IAM down the object is allowed with a could-not-verify warning inside the deadline", func(t *testing.T) {
		tests := map[string]struct {
			fault   awsstate.Fault
			name    string
			roleARN string
			reason  string
		}{
			"IAM answering slower than the decision budget": {
				fault: awsstate.Fault{API: "GetRole", Latency: 20 * time.Second},
				name:  "slow-iam", roleARN: "arn:aws:iam::111122223333:role/ci-deployer",
			},
			"IAM dropping every connection": {
				fault: awsstate.Fault{Drop: true},
				name:  "dropped-iam", roleARN: "arn:aws:iam::111122223333:role/quarantined-app",
			},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				if err := w.aws.Server.SetFaults(tc.fault); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = w.aws.Server.SetFaults() }()
				// Enforce mode: infrastructure failures still never deny (failClosed is off).
				start := time.Now()
				res := testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("search", tc.name, tc.roleARN)), "apply", "-f", "-")
				kubectlElapsed := time.Since(start)
				if res.ExitCode != 0 {
					t.Fatalf("kubectl apply with IAM down: want allowed, got %s", res)
				}
				if got := checkIDs(warningLines(res.Stderr)); len(got) == 0 || slices.ContainsFunc(got, func(id string) bool { return id != "IRSA090" }) {
					t.Fatalf("want only IRSA090 could-not-verify warnings, got %v in\n%s", got, res.Stderr)
				}
				// The webhook timeout is 3 s and the decision budget 2.5 s; kubectl itself needs well under 1.5 s.
				if kubectlElapsed > 4500*time.Millisecond {
					t.Fatalf("kubectl apply took %s with IAM down; the decision budget (2.5s) should bound it", kubectlElapsed)
				}
				// client-go, without kubectl's start-up: the 3 s webhook timeout plus a round trip at most.
				start = time.Now()
				_, err := client.CoreV1().ServiceAccounts("search").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
					Name: tc.name + "-2", Annotations: map[string]string{validators.AnnotationRoleARN: tc.roleARN},
				}}, metav1.CreateOptions{})
				elapsed := time.Since(start)
				if err != nil || elapsed > 3500*time.Millisecond {
					t.Fatalf("client-go create with IAM down: want allowed within 3.5s, got %v after %s", err, elapsed)
				}
				if got := checkIDs(warnings.take()); len(got) == 0 || got[0] != "IRSA090" {
					t.Fatalf("client-go warnings: want IRSA090, got %v", got)
				}
				t.Logf("kubectl apply answered in %s, client-go in %s: %s", kubectlElapsed, elapsed, strings.TrimSpace(res.Stderr))
			})
		}
	})

	t.Run("server-side dry run is checked, stores nothing and records no event", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("reports", "reports-exporter", "arn:aws:iam::111122223333:role/reports-exporter")), "apply", "--dry-run=server", "-f", "-")
		if res.ExitCode != 0 || res.Stdout != "serviceaccount/reports-exporter created (server dry run)\n" {
			t.Fatalf("kubectl apply --dry-run=server: %s", res)
		}
		if got := checkIDs(warningLines(res.Stderr)); !slices.Equal(got, []string{"IRSA032"}) {
			t.Fatalf("dry run: want the IRSA032 warning, got %v in\n%s", got, res.Stderr)
		}
		if _, err := testEnv.Clientset.CoreV1().ServiceAccounts("reports").Get(ctx, "reports-exporter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry run stored the ServiceAccount: %v", err)
		}
		// A real apply of the same mistake records an event; events are written in order, so once
		// it is there, an event for the dry run would be too.
		res = testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("reports", "archive-exporter", "arn:aws:iam::111122223333:role/reports-exporter")), "apply", "-f", "-")
		if res.ExitCode != 0 {
			t.Fatalf("kubectl apply: %s", res)
		}
		var regarding []string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			events, err := testEnv.Clientset.EventsV1().Events("reports").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			regarding = regarding[:0]
			for _, e := range events.Items {
				regarding = append(regarding, e.Regarding.Name+"/"+e.Reason)
			}
			if len(regarding) > 0 {
				break
			}
		}
		if !slices.Equal(regarding, []string{"archive-exporter/IRSA032"}) {
			t.Fatalf("events in reports: want only archive-exporter/IRSA032 (none for the dry run), got %v", regarding)
		}
	})

	t.Run("the compose fixer expands a bare role name to the full ARN", func(t *testing.T) {
		res := testEnv.KubectlWithInput(ctx, []byte(serviceAccountYAML("shop", "orders-worker", "workloads/orders-worker")), "apply", "-f", "-")
		want := "irsa-guard: expanded role-arn \"workloads/orders-worker\" to arn:aws:iam::111122223333:role/workloads/orders-worker"
		if res.ExitCode != 0 || !slices.Equal(warningLines(res.Stderr), []string{want}) {
			t.Fatalf("kubectl apply: want created with the single warning %q, got %s", want, res)
		}
		sa, err := testEnv.Clientset.CoreV1().ServiceAccounts("shop").Get(ctx, "orders-worker", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := sa.Annotations[validators.AnnotationRoleARN]; got != "arn:aws:iam::111122223333:role/workloads/orders-worker" {
			t.Fatalf("stored role-arn = %q, want the expanded ARN", got)
		}
	})

	t.Run("the fsGroup fixer sets fsGroup when containers could not read the token", func(t *testing.T) {
		pod := unreadableTokenPod()
		created, err := client.CoreV1().Pods("payments").Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := "irsa-guard: set spec.securityContext.fsGroup=65534 so every container can read the AWS token"
		if got := warnings.take(); !slices.Equal(got, []string{want}) {
			t.Fatalf("warnings: want only %q (and no IRSA042), got %v", want, got)
		}
		stored, err := testEnv.Clientset.CoreV1().Pods("payments").Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc := stored.Spec.SecurityContext; sc == nil || sc.FSGroup == nil || *sc.FSGroup != 65534 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			t.Fatalf("stored securityContext = %+v, want fsGroup 65534 added and runAsNonRoot kept", sc)
		}
		for _, c := range stored.Spec.Containers {
			if envValue(c, "AWS_ROLE_ARN") == "" || c.SecurityContext == nil || c.SecurityContext.RunAsUser == nil {
				t.Fatalf("container %s lost its user or was not injected: %+v", c.Name, c)
			}
		}
	})

	t.Run("objects the webhook configurations exclude are never sent to irsa-guard", func(t *testing.T) {
		tests := map[string]string{
			"a system namespace":                         serviceAccountYAML("kube-system", "broken", "not-an-arn"),
			"an object labelled irsa-guard.io/skip=true": serviceAccountYAML("search", "skipped", "not-an-arn", "irsa-guard.io/skip", "true"),
			"a namespace labelled irsa-guard.io/skip":    serviceAccountYAML("legacy", "quarantined-app", "not-an-arn"),
		}
		for name, manifest := range tests {
			t.Run(name, func(t *testing.T) {
				before := webhookCalls(t, ctx, w.guard)
				res := testEnv.KubectlWithInput(ctx, []byte(manifest), "apply", "-f", "-")
				if res.ExitCode != 0 || res.Stderr != "" {
					t.Fatalf("kubectl apply of a broken ServiceAccount irsa-guard must not see: want created silently, got %s", res)
				}
				if after := webhookCalls(t, ctx, w.guard); after != before {
					t.Fatalf("irsa-guard answered %d ServiceAccount requests during the apply, want 0", after-before)
				}
			})
		}
	})
}

// waitForWebhook waits until the API server calls irsa-guard: the webhook configurations take effect
// a moment after they are created.
func waitForWebhook(t *testing.T, ctx context.Context) {
	t.Helper()
	manifest := []byte(serviceAccountYAML("payments", "probe", "arn:aws:iam::111122223333:role/not a role"))
	var res testenv.KubectlResult
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if res = testEnv.KubectlWithInput(ctx, manifest, "apply", "--dry-run=server", "-f", "-"); strings.Contains(res.Stderr, "IRSA001") {
			return
		}
	}
	t.Fatalf("irsa-guard's webhook never answered: %s", res)
}

// waitUntilSilent dry-runs manifest until irsa-guard has nothing to say about it: its informers see a
// new MutatingWebhookConfiguration shortly after it is created.
func waitUntilSilent(t *testing.T, ctx context.Context, manifest string) {
	t.Helper()
	var res testenv.KubectlResult
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if res = testEnv.KubectlWithInput(ctx, []byte(manifest), "apply", "--dry-run=server", "-f", "-"); res.ExitCode == 0 && res.Stderr == "" {
			return
		}
	}
	t.Fatalf("still not silent after 30s: %s", res)
}

// webhookCalls is how many ServiceAccount admission requests (validating and mutating) irsa-guard answered.
func webhookCalls(t *testing.T, ctx context.Context, g *testenv.IRSAGuard) int {
	t.Helper()
	total := 0
	for _, path := range []string{"/validate-serviceaccount", "/mutate-serviceaccount"} {
		n, err := g.WebhookRequests(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// podYAML is a pod of a Deployment-like app using serviceAccount, optionally with one label set to "true".
func podYAML(namespace, name, serviceAccount, label string) string {
	labels := "    app: " + name + "\n"
	if label != "" {
		labels += fmt.Sprintf("    %s: \"true\"\n", label)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels:
%sspec:
  serviceAccountName: %s
  containers:
  - name: app
    image: public.ecr.aws/example/app:1.0.0
    env:
    - {name: AWS_REGION, value: us-west-2}
`, name, namespace, labels, serviceAccount)
}

// unreadableTokenPod is examples/pods/irsa042-token-unreadable.yaml's pod: a token volume copied into the
// spec with defaultMode 0400, two containers with different non-root users and no fsGroup.
func unreadableTokenPod() *corev1.Pod {
	mount := []corev1.VolumeMount{{Name: testenv.PIWVolume, MountPath: testenv.PIWMountPath, ReadOnly: true}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "media-transcoder-", Labels: map[string]string{"app": "media-transcoder"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "payments-api",
			SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			Containers: []corev1.Container{
				{Name: "transcoder", Image: "public.ecr.aws/example/transcoder:7.1.0", VolumeMounts: mount,
					SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000)}},
				{Name: "uploader", Image: "public.ecr.aws/aws-cli/aws-cli:2.22.0", VolumeMounts: mount,
					SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](2000)}},
			},
			Volumes: []corev1.Volume{{Name: testenv.PIWVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				DefaultMode: ptr.To[int32](0o400),
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
					Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}},
			}}}},
		},
	}
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
