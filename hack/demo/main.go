// Command demo is `make demo`: it shows irsa-guard doing its main job on a real kube-apiserver. It starts
// the control plane hack/controlplane.sh built, a fake AWS seeded from examples/demo/aws-state.yaml,
// pod-identity-webhook (the real one built from ../shared/third_party when it is there, else the
// stand-in) and irsa-guard itself as the Helm chart deploys it, then applies the
// manifests in examples/demo with the real kubectl, one scenario at a time, so a person sees exactly
// what kubectl prints. Everything it started is stopped when it ends, on Ctrl-C too: it runs inside the
// test environment (testenv.Run), whose watchdog reaps what an abrupt exit leaves behind.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// demoValues are the chart values of the demo on top of ci/e2e-values.yaml: the data account's reader
// role, both opt-in fixers, and no drain delay so the demo ends promptly.
const demoValues = `config:
  shutdownDelay: 0s
  fixers:
    composeRoleARN: true
    fsGroup: true
  readerRoles:
    "444455556666": arn:aws:iam::444455556666:role/irsa-guard-reader
`

func main() {
	// The framework's own logs (envtest, the stand-in webhook's server) would drown kubectl's output;
	// failures come back as errors, with the end of irsa-guard's log.
	logf.SetLogger(logr.Discard())
	os.Exit(testenv.Run(func(env *testenv.Env) int {
		if err := run(env); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			return 1
		}
		return 0
	}))
}

// scenario is one heading, what it shows, and the kubectl commands that show it.
type scenario struct {
	title, about string
	commands     [][]string
	// guard are irsa-guard commands run after the kubectl ones, as a user at a terminal runs them.
	guard [][]string
	// before runs ahead of the commands (e.g. injecting an IAM fault); its cleanup runs after them.
	before func() (cleanup func(), err error)
	timed  bool
}

func run(env *testenv.Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Ctrl-C: testenv.Run stops the control plane; stop the scenarios too rather than run them against nothing.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	binary := filepath.Join(root, "bin", "irsa-guard")
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s is missing: run `make demo`, which builds it", binary)
	}
	dir, err := os.MkdirTemp("", "demo-")
	if err != nil {
		return err
	}
	state, err := os.ReadFile(filepath.Join(root, "examples/demo/aws-state.yaml"))
	if err != nil {
		return err
	}
	aws, err := testenv.StartFakeAWS(state, dir)
	if err != nil {
		return err
	}
	defer aws.Close()
	guard, err := testenv.StartIRSAGuard(ctx, env, testenv.IRSAGuardOptions{Root: root, Binary: binary, Values: demoValues, AWS: aws, Dir: dir})
	if err != nil {
		return err
	}
	defer guard.Stop()
	piw, err := testenv.StartPodIdentityWebhook(ctx, env, testenv.PodIdentityWebhookOptions{Root: root, Dir: dir})
	if err != nil {
		return err
	}
	defer func() { _ = piw.Stop() }() // the demo's outcome is already decided

	fmt.Printf(`irsa-guard demo
  kube-apiserver v1.37.2 + etcd (real, from hack/controlplane.sh), kubectl v1.37.2
  irsa-guard serve  as the Helm chart runs it (chart webhooks, TLS, RBAC), warn mode by default
  fake AWS          IAM/STS from examples/demo/aws-state.yaml on %s
  OIDC issuer       %s
                    (stands in for %s)
  pod-identity-webhook %s
`, aws.Server.URL(), aws.IssuerURL, aws.StandsFor, piw.About)

	apply := func(file string) []string { return []string{"apply", "-f", "examples/demo/" + file} }
	scenarios := []scenario{
		{title: "Namespaces (shop is labelled irsa-guard.io/mode=enforce)", commands: [][]string{apply("00-namespaces.yaml")}},
		{title: "ServiceAccounts set up right pass silently",
			about:    "The roles exist and trust exactly these ServiceAccounts; the data account is read through a reader role.",
			commands: [][]string{apply("01-good.yaml")}},
		{title: "Warn mode: broken ServiceAccounts are created, kubectl shows why their pods would fail",
			about:    "Each warning names the check, the problem and the error STS would return.",
			commands: [][]string{apply("02-warn.yaml")}},
		{title: "Enforce mode: broken ServiceAccounts are denied, with the fix",
			commands: [][]string{apply("03-enforce.yaml")}},
		{title: "The fix the denial asked for is admitted silently",
			commands: [][]string{apply("04-enforce-fixed.yaml")}},
		{title: "Pods are checked after injection",
			about:    "Credentials injected: silent. Opted out of injection: the node's role would be used. Static keys: they win.",
			commands: [][]string{apply("05-pods.yaml")}},
		{title: "Opt-in fixers: compose the role ARN, set fsGroup",
			commands: [][]string{apply("06-fixers.yaml"),
				{"get", "serviceaccount", "orders-worker", "-n", "shop", "-o", `jsonpath=role-arn stored: {.metadata.annotations.eks\.amazonaws\.com/role-arn}{"\n"}`},
				{"get", "pod", "media-transcoder", "-n", "payments", "-o", `jsonpath=fsGroup stored: {.spec.securityContext.fsGroup}{"\n"}`}}},
		{title: "IAM down: allowed with a could-not-verify warning, within the webhook deadline",
			about:    "The fake IAM now answers GetRole after 20 s; irsa-guard's decision budget is 2.5 s of the 3 s webhook timeout.",
			commands: [][]string{apply("07-iam-down.yaml")}, timed: true,
			before: func() (func(), error) {
				err := aws.Server.SetFaults(awsstate.Fault{API: "GetRole", Latency: 20 * time.Second})
				return func() { _ = aws.Server.SetFaults() }, err
			}},
		{title: "Troubleshoot what already runs: irsa-guard diagnose",
			about: "The IRSA troubleshooting article, step by step, for a pod that got no credentials and a ServiceAccount whose trust names another one.",
			guard: [][]string{{"diagnose", "pod", "payments/payments-batch", "--cluster", "demo", "--scan-images=false"},
				{"diagnose", "sa", "reports/reports-exporter", "--cluster", "demo"}}},
	}
	for i, s := range scenarios {
		if ctx.Err() != nil {
			return errors.New("interrupted; stopping everything the demo started")
		}
		if err := show(ctx, env, root, i+1, s, binary, aws); err != nil {
			return fmt.Errorf("%w\nirsa-guard's log ends:\n%s", err, guard.LogTail(20))
		}
	}
	fmt.Println("\nDone. Stopping irsa-guard, the fake AWS and the control plane.")
	return nil
}

// show prints a scenario's heading and runs its kubectl commands with their output going straight to
// this terminal: what you see is what kubectl printed. Denials make kubectl exit 1; that is the point.
func show(ctx context.Context, env *testenv.Env, root string, n int, s scenario, binary string, aws *testenv.FakeAWS) error {
	fmt.Printf("\n== %d. %s\n", n, s.title)
	if s.about != "" {
		fmt.Printf("   %s\n", s.about)
	}
	if s.before != nil {
		cleanup, err := s.before()
		if err != nil {
			return err
		}
		defer cleanup()
	}
	for _, args := range s.commands {
		fmt.Printf("$ kubectl %s\n", quoteArgs(args))
		cmd := exec.CommandContext(ctx, filepath.Join(env.AssetsDir, "kubectl"), append([]string{"--kubeconfig=" + env.Kubeconfig}, args...)...)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		start := time.Now()
		err := cmd.Run()
		var exited *exec.ExitError
		if err != nil && !errors.As(err, &exited) {
			return fmt.Errorf("run kubectl: %w", err)
		}
		if s.timed {
			fmt.Printf("(kubectl returned after %.1fs)\n", time.Since(start).Seconds())
		}
	}
	for _, args := range s.guard {
		// The AWS SDK's environment points at the fake AWS, as AWS_PROFILE would point at an account.
		fmt.Printf("$ irsa-guard %s\n", quoteArgs(args))
		cmd := exec.CommandContext(ctx, binary, append(args, "--kubeconfig="+env.Kubeconfig)...)
		cmd.Dir, cmd.Env = root, append(os.Environ(), append(aws.Env(), "NO_COLOR=1")...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		var exited *exec.ExitError
		if err := cmd.Run(); err != nil && !errors.As(err, &exited) {
			return fmt.Errorf("run irsa-guard: %w", err)
		}
	}
	return nil
}

// quoteArgs shows arguments as a shell would need them.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " {}\"\\") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
