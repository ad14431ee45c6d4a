package testenv

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// IRSAGuardOptions says how to run irsa-guard against the control plane.
type IRSAGuardOptions struct {
	// Root is the repository root (charts/irsa-guard, hack/helm.sh).
	Root string
	// Binary is the irsa-guard executable; BuildIRSAGuard makes one.
	Binary string
	// Namespace is the release namespace; default irsa-guard. The chart's webhooks never see it.
	Namespace string
	// Values is extra Helm values YAML, applied over ci/e2e-values.yaml and the harness's own values
	// (free ports, webhook.url, config.issuer).
	Values string
	// AWS is the fake AWS the server reads IAM from; its issuer becomes config.issuer.
	AWS *FakeAWS
	// Dir receives the rendered values, the mounted files and the server's log.
	Dir string
}

// IRSAGuard is a running `irsa-guard serve`, started exactly as the chart's Deployment would start it.
type IRSAGuard struct {
	// LogFile is the server's stdout and stderr (JSON logs).
	LogFile string
	// MetricsURL is the Prometheus endpoint: HTTPS, for authorized callers only (MetricsGet).
	MetricsURL string
	// WebhookAddr is the webhook server's host:port (TLS).
	WebhookAddr string
	// MountDir stands for the container's root: Chart.Files are written below it, e.g.
	// MountDir+"/etc/irsa-guard/tls/tls.crt", and the server reads them from there.
	MountDir string
	Chart    *Chart

	env      *Env
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	webhooks bool

	// What another replica needs (StartReplica), and the metrics reader's token (MetricsGet).
	opts       IRSAGuardOptions
	kubeconfig string
	reader     string
	replica    bool // started by StartReplica: Stop leaves the chart's objects
}

// BuildIRSAGuard builds ./cmd/irsa-guard from the module at root into dir and returns its path.
func BuildIRSAGuard(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "irsa-guard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/irsa-guard")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/irsa-guard: %w\n%s", err, out)
	}
	return bin, nil
}

// StartIRSAGuard renders the chart (ci/e2e-values.yaml plus o.Values), applies its objects with the real
// kubectl, runs the binary with the Deployment's arguments and the chart's certificate and configuration,
// authenticated as the chart's ServiceAccount (so the chart's RBAC is what it gets), waits for /readyz,
// and only then registers the chart's webhook configurations, unchanged. Stop undoes it.
func StartIRSAGuard(ctx context.Context, env *Env, o IRSAGuardOptions) (g *IRSAGuard, err error) {
	if o.Namespace == "" {
		o.Namespace = "irsa-guard"
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	values := filepath.Join(o.Dir, "harness-values.yaml")
	harness := fmt.Sprintf("webhook:\n  url: https://127.0.0.1:%d\nports:\n  webhook: %d\n  metrics: %d\n  health: %d\nconfig:\n  issuer: %q\n",
		ports[0], ports[0], ports[1], ports[2], o.AWS.IssuerURL)
	extra := filepath.Join(o.Dir, "extra-values.yaml")
	if err := os.WriteFile(values, []byte(harness), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(extra, []byte(o.Values), 0o600); err != nil {
		return nil, err
	}
	chart, err := RenderChart(ctx, o.Root, o.Namespace, filepath.Join(o.Root, "charts/irsa-guard/ci/e2e-values.yaml"), values, extra)
	if err != nil {
		return nil, err
	}
	if res := env.Kubectl(ctx, "create", "namespace", o.Namespace); res.ExitCode != 0 && !strings.Contains(res.Stderr, "AlreadyExists") {
		return nil, fmt.Errorf("create namespace %s: %s", o.Namespace, res)
	}
	if res := env.KubectlWithInput(ctx, chart.Objects, "apply", "--server-side", "--force-conflicts", "-f", "-"); res.ExitCode != 0 {
		return nil, fmt.Errorf("apply the chart's objects: %s", res)
	}
	mount := filepath.Join(o.Dir, "mounts")
	for path, data := range chart.Files {
		local := filepath.Join(mount, path)
		if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(local, data, 0o600); err != nil {
			return nil, err
		}
	}
	args := make([]string, len(chart.Args))
	for i, a := range chart.Args {
		args[i] = strings.ReplaceAll(a, "=/etc/irsa-guard/", "="+mount+"/etc/irsa-guard/")
	}
	kubeconfig, err := env.KubeconfigFor("system:serviceaccount:"+o.Namespace+":irsa-guard",
		"system:serviceaccounts", "system:serviceaccounts:"+o.Namespace)
	if err != nil {
		return nil, err
	}
	g = &IRSAGuard{LogFile: filepath.Join(o.Dir, "irsa-guard.log"), MetricsURL: fmt.Sprintf("https://127.0.0.1:%d/metrics", ports[1]),
		WebhookAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), MountDir: mount, Chart: chart, env: env, exited: make(chan struct{}),
		opts: o, kubeconfig: kubeconfig}
	logFile, err := os.Create(g.LogFile)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	g.cmd = exec.Command(o.Binary, args...)
	g.cmd.Env = append(append(cleanEnviron(), "KUBECONFIG="+kubeconfig), o.AWS.Env()...)
	g.cmd.Stdout, g.cmd.Stderr = logFile, logFile
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Binary, err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.exited)
	}()
	defer func() {
		if err != nil {
			g.Stop()
			g = nil
		}
	}()
	if err := g.waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2])); err != nil {
		return g, err
	}
	g.webhooks = true
	if res := env.KubectlWithInput(ctx, chart.Webhooks, "apply", "--server-side", "--force-conflicts", "-f", "-"); res.ExitCode != 0 {
		return g, fmt.Errorf("apply the chart's webhook configurations: %s", res)
	}
	return g, nil
}

// waitReady polls /readyz until it answers 200 (certificates loaded, caches synced).
func (g *IRSAGuard) waitReady(ctx context.Context, readyz string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, readyz, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-g.exited:
			return fmt.Errorf("irsa-guard exited before it was ready (%w); log:\n%s", g.waitErr, g.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("irsa-guard not ready at %s within a minute; log:\n%s", readyz, g.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop removes the webhook configurations (so the API server stops calling), stops the server
// with SIGTERM as the kubelet would (SIGKILL if it has not exited after its drain), then deletes the
// chart objects it applied. Safe to call twice.
func (g *IRSAGuard) Stop() {
	if g == nil || g.cmd == nil {
		return
	}
	if g.replica {
		g.stopReplica()
		return
	}
	if g.webhooks {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = g.env.KubectlWithInput(ctx, g.Chart.Webhooks, "delete", "--ignore-not-found", "-f", "-")
		cancel()
		g.webhooks = false
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
	g.cmd = nil
	// Leave the cluster as it was found: a later render (other free ports) applied over these
	// objects would merge with them, e.g. a Service with two ports named "metrics".
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = g.env.KubectlWithInput(ctx, g.Chart.Objects, "delete", "--ignore-not-found", "--wait=false", "-f", "-")
	cancel()
}

// Exited reports whether the server process has exited, and with what error.
func (g *IRSAGuard) Exited() (bool, error) {
	select {
	case <-g.exited:
		return true, g.waitErr
	default:
		return false, nil
	}
}

// WebhookRequests is how many admission requests the server has answered on path (e.g.
// /validate-serviceaccount), from controller-runtime's controller_runtime_webhook_requests_total.
func (g *IRSAGuard) WebhookRequests(ctx context.Context, path string) (int, error) {
	status, body, err := g.MetricsGet(ctx, "/metrics")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("scrape %s: status %d: %s", g.MetricsURL, status, body)
	}
	total := 0
	label := `webhook="` + path + `"`
	scanner := bufio.NewScanner(bytes.NewReader(body))
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if !strings.HasPrefix(line, "controller_runtime_webhook_requests_total{") || !strings.Contains(line, label) {
			continue
		}
		n, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		total += int(n)
	}
	return total, scanner.Err()
}

// LogTail returns the last n lines of the server's log, for failure messages.
func (g *IRSAGuard) LogTail(n int) string { return tailFile(g.LogFile, n) }

// tailFile returns the last n lines of a log file, or why it could not be read.
func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// KubeconfigFor writes a kubeconfig for a client-certificate user with the given name and groups, for
// example a ServiceAccount's "system:serviceaccount:NS:NAME", so RBAC bound to that ServiceAccount applies.
func (e *Env) KubeconfigFor(user string, groups ...string) (string, error) {
	if e.testEnv == nil {
		return "", errors.New("kubeconfig: the control plane is stopped")
	}
	u, err := e.testEnv.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", user, err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("render the kubeconfig of %s: %w", user, err)
	}
	path := filepath.Join(e.testEnv.ControlPlane.APIServer.CertDir, strings.NewReplacer(":", "_", "/", "_").Replace(user)+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write the kubeconfig of %s: %w", user, err)
	}
	return path, nil
}

// cleanEnviron is this process's environment without what would point a child at another cluster or
// at real AWS; the owner mark and TMPDIR of the run are kept so the reaper finds the child.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "KUBECONFIG" || k == "SSL_CERT_FILE" || k == "SSL_CERT_DIR" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
