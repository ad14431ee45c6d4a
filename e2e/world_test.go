//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/irsa-guard/irsa-guard/internal/testenv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// world is one irsa-guard served from the chart against the demo's AWS, shared by TestWebhook's cases.
type world struct {
	guard *testenv.IRSAGuard
	aws   *testenv.FakeAWS
	root  string
}

// webhookTestValues turns on everything the suite exercises on top of ci/e2e-values.yaml: both fixers
// (the compose fixer learns the account from sts:GetCallerIdentity, as it does without config.account),
// the reader role for the demo's data account, and no drain delay so the server stops at once.
const webhookTestValues = `config:
  shutdownDelay: 0s
  fixers:
    composeRoleARN: true
    fsGroup: true
  readerRoles:
    "444455556666": arn:aws:iam::444455556666:role/irsa-guard-reader
`

// startWorld starts the server the webhook tests share: the fake AWS seeded from
// examples/demo/aws-state.yaml and the chart's server with webhookTestValues.
func startWorld(t *testing.T, ctx context.Context) *world {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(root, "examples/demo/aws-state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, ctx, state, testenv.IRSAGuardOptions{Root: root, Values: webhookTestValues})
}

// startServer builds the binary, starts a fake AWS serving state and irsa-guard as o describes
// (Binary, AWS and Dir are filled in), and registers cleanups that stop both even when the test
// fails half way, printing the server's log on failure.
func startServer(t *testing.T, ctx context.Context, state []byte, o testenv.IRSAGuardOptions) *world {
	t.Helper()
	o.Dir = t.TempDir()
	bin, err := testenv.BuildIRSAGuard(ctx, o.Root, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	o.Binary = bin
	aws, err := testenv.StartFakeAWS(state, o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(aws.Close)
	o.AWS = aws
	guard, err := testenv.StartIRSAGuard(ctx, testEnv, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("irsa-guard log (last 40 lines):\n%s", guard.LogTail(40))
		}
		guard.Stop()
	})
	return &world{guard: guard, aws: aws, root: o.Root}
}

// createNamespaces creates namespaces with labels; the envtest control plane has no namespace
// controller, so they are not deleted afterwards (the control plane is private to the run).
func createNamespaces(t *testing.T, ctx context.Context, labels map[string]map[string]string) {
	t.Helper()
	for name, l := range labels {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
		if _, err := testEnv.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", name, err)
		}
	}
}

// warningRecorder collects the admission warnings client-go receives, as kubectl shows them.
type warningRecorder struct {
	mu       sync.Mutex
	warnings []string
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, text)
}

// take returns the warnings seen since the last take.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.warnings
	w.warnings = nil
	return out
}

// clientWithWarnings is a clientset whose admission warnings are recorded instead of logged.
func clientWithWarnings(t *testing.T) (kubernetes.Interface, *warningRecorder) {
	t.Helper()
	rec := &warningRecorder{}
	cfg := rest.CopyConfig(testEnv.Config)
	cfg.WarningHandler = rec
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, rec
}

// serviceAccountYAML is a ServiceAccount manifest with a role-arn annotation and optional labels.
func serviceAccountYAML(namespace, name, roleARN string, labels ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n  namespace: %s\n", name, namespace)
	if len(labels) > 0 {
		b.WriteString("  labels:\n")
		for i := 0; i+1 < len(labels); i += 2 {
			fmt.Fprintf(&b, "    %s: %q\n", labels[i], labels[i+1])
		}
	}
	fmt.Fprintf(&b, "  annotations:\n    eks.amazonaws.com/role-arn: %q\n", roleARN)
	return b.String()
}

// warningLines returns kubectl's "Warning: " lines from stderr, without the prefix.
func warningLines(stderr string) []string {
	var out []string
	for line := range strings.Lines(stderr) {
		if text, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "Warning: "); ok {
			out = append(out, text)
		}
	}
	return out
}

// checkIDs returns the IRSA check IDs that start the warnings, sorted.
func checkIDs(warnings []string) []string {
	var ids []string
	for _, w := range warnings {
		if id, _, ok := strings.Cut(w, ":"); ok && strings.HasPrefix(id, "IRSA") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
