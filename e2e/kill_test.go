//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
	"github.com/irsa-guard/irsa-guard/validators"
)

// killValues are the chart's defaults where ci/e2e-values.yaml departs from them for other tests:
// failurePolicy Ignore, so the API server admits what it cannot get reviewed. No drain delay.
const killValues = `webhook:
  failurePolicy: Ignore
config:
  shutdownDelay: 0s
`

// streamCreates is how many ServiceAccounts a kill test creates at least, streamRate how many per
// second, from streamWorkers workers at once; streamTail how many more follow the last event.
const (
	streamCreates = 150
	streamRate    = 50
	streamWorkers = 4
	streamTail    = 30
)

// webhookTimeout is the chart's timeoutSeconds: no create may wait longer (plus client-go's own
// round trip on a loaded machine).
const webhookTimeout = 3 * time.Second

// created is one create of the stream: how long the API server took and whether irsa-guard
// reviewed it (its IRSA010 warning came back).
type created struct {
	name     string
	start    time.Time
	took     time.Duration
	err      error
	reviewed bool
}

// perRequestWarnings tells each create's warnings apart: client-go hands them to the handler of
// the clientset that made the request, so each worker has its own.
type perRequestWarnings struct{ got []string }

func (p *perRequestWarnings) HandleWarningHeader(_ int, _ string, text string) {
	p.got = append(p.got, text)
}

// stream creates ServiceAccounts in ns at streamRate, each annotated with a role that does not
// exist (so a reviewed create carries an IRSA010 warning): streamCreates of them, and at least
// streamTail after at has run for the last mark. at(n) runs on the test goroutine once n creates
// have finished, for each n in marks, while the stream goes on.
func stream(t *testing.T, ctx context.Context, ns string, marks []int, at func(n int)) []created {
	t.Helper()
	var (
		mu      sync.Mutex
		results []created
		next    atomic.Int64
		limit   atomic.Int64
		wg      sync.WaitGroup
	)
	limit.Store(streamCreates)
	done := func() int { mu.Lock(); defer mu.Unlock(); return len(results) }
	tick := time.NewTicker(time.Second / streamRate)
	defer tick.Stop()
	for range streamWorkers {
		warnings := &perRequestWarnings{}
		cfg := rest.CopyConfig(testEnv.Config)
		cfg.WarningHandler = warnings
		cfg.QPS, cfg.Burst = 1000, 1000
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := next.Add(1) - 1; i < limit.Load() && ctx.Err() == nil; i = next.Add(1) - 1 {
				<-tick.C
				name := fmt.Sprintf("stream-%03d", i)
				warnings.got = nil
				start := time.Now()
				_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
					Name: name, Annotations: map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::111122223333:role/stream-missing-" + strconv.Itoa(int(i%5))},
				}}, metav1.CreateOptions{})
				r := created{name: name, start: start, took: time.Since(start), err: err,
					reviewed: slices.ContainsFunc(warnings.got, func(w string) bool { return strings.HasPrefix(w, "IRSA010:") })}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		})
	}
	for _, m := range marks {
		for done() < m && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		at(m)
	}
	limit.Store(max(limit.Load(), next.Load()+streamTail))
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			t.Errorf("create %s failed (failurePolicy Ignore must admit it): %v", r.name, r.err)
		}
		if r.took > webhookTimeout+time.Second {
			t.Errorf("create %s waited %s, longer than the %s webhook timeout", r.name, r.took.Round(time.Millisecond), webhookTimeout)
		}
	}
	return results
}

// startKillWorld starts irsa-guard with killValues against the demo's fake AWS and waits until it
// reviews ServiceAccounts in ns.
func startKillWorld(t *testing.T, ctx context.Context, ns string) *world {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(root, "examples/demo/aws-state.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, ctx, state, testenv.IRSAGuardOptions{Root: root, Values: killValues})
}

// waitReviewed dry-runs a broken ServiceAccount in ns until irsa-guard's warning comes back.
func waitReviewed(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	manifest := []byte(serviceAccountYAML(ns, "probe", "arn:aws:iam::111122223333:role/not a role"))
	var res testenv.KubectlResult
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res = testEnv.KubectlWithInput(ctx, manifest, "apply", "--dry-run=server", "-f", "-"); slices.Contains(checkIDs(warningLines(res.Stderr)), "IRSA001") {
			return
		}
	}
	t.Fatalf("irsa-guard never reviewed a ServiceAccount in %s: %s", ns, res)
}

func maxTook(rs []created) time.Duration {
	var m time.Duration
	for _, r := range rs {
		m = max(m, r.took)
	}
	return m
}

// TestWebhookKilledMidStream SIGKILLs the only irsa-guard while ServiceAccounts are being created
// and restarts it later: every create succeeds inside the webhook timeout (failurePolicy Ignore),
// creates are reviewed again once it is back, and the ones admitted while it was down are found by
// `irsa-guard lint` on what the cluster stored, through the same engine.
func TestWebhookKilledMidStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := createNamespace(t, ctx)
	w := startKillWorld(t, ctx, ns)
	binary, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", w.guard.PID()))
	if err != nil {
		t.Fatal(err)
	}
	waitReviewed(t, ctx, ns)
	var killedAt, restartedAt time.Time
	results := stream(t, ctx, ns, []int{40, 80}, func(n int) {
		switch n {
		case 40:
			killedAt = time.Now()
			if err := w.guard.Kill(); err != nil {
				t.Fatal(err)
			}
		case 80:
			if err := w.guard.Restart(ctx); err != nil {
				t.Fatalf("restart: %v", err)
			}
			restartedAt = time.Now()
		}
	})
	var before, down, after, unreviewed []created
	for _, r := range results {
		switch {
		case r.start.Add(r.took).Before(killedAt):
			before = append(before, r)
		case r.start.After(restartedAt):
			after = append(after, r)
		case r.start.After(killedAt) && !r.reviewed:
			down = append(down, r)
		}
		if !r.reviewed {
			unreviewed = append(unreviewed, r)
		}
	}
	for name, group := range map[string][]created{"before the kill": before, "after the restart": after} {
		for _, r := range group {
			if !r.reviewed {
				t.Errorf("create %s %s was not reviewed (no IRSA010 warning)", r.name, name)
			}
		}
	}
	if len(down) == 0 || len(before) == 0 || len(after) == 0 {
		t.Fatalf("want creates before the kill, while down and after the restart; got %d, %d, %d", len(before), len(down), len(after))
	}
	t.Logf("%d creates: %d reviewed before the kill, %d admitted unreviewed while down, %d reviewed after the restart; slowest %s",
		len(results), len(before), len(down), len(after), maxTook(results).Round(time.Millisecond))

	// What was admitted unreviewed is found by lint on what the cluster stored.
	stored := testEnv.Kubectl(ctx, "get", "sa", "-n", ns, "-o", "yaml")
	if stored.ExitCode != 0 {
		t.Fatalf("kubectl get sa: %s", stored)
	}
	lint := exec.CommandContext(ctx, binary, "lint", "-f", "-", "--issuer", w.aws.IssuerURL, "-o", "json")
	lint.Env = append(os.Environ(), w.aws.Env()...)
	lint.Stdin = strings.NewReader(stored.Stdout)
	out, err := lint.Output()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		t.Fatalf("irsa-guard lint: %v\n%s", err, out)
	}
	var report struct {
		Findings []struct{ Check, Object string } `json:"findings"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("lint -o json: %v\n%s", err, out)
	}
	for _, r := range unreviewed {
		if !slices.ContainsFunc(report.Findings, func(f struct{ Check, Object string }) bool {
			return f.Check == "IRSA010" && f.Object == "ServiceAccount "+ns+"/"+r.name
		}) {
			t.Errorf("lint of the stored ServiceAccounts does not report IRSA010 for %s, admitted while irsa-guard was down", r.name)
		}
	}
}

// TestReplicaKilledMidStream puts two irsa-guard replicas behind one address, as a Service does,
// and SIGKILLs one while ServiceAccounts are being created: no create waits longer than the
// webhook timeout, every one succeeds, and the survivor keeps reviewing most of them.
func TestReplicaKilledMidStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := createNamespace(t, ctx)
	w := startKillWorld(t, ctx, ns)
	replica, err := w.guard.StartReplica(ctx, "replica-kill")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replica log (last 20 lines):\n%s", replica.LogTail(20))
		}
		replica.Stop()
	})
	lb := startBalancer(t, w.guard.WebhookAddr, replica.WebhookAddr)
	pointWebhooksAt(t, ctx, w.guard, lb)
	waitReviewed(t, ctx, ns)
	var servedByReplica int
	var killedAt time.Time
	results := stream(t, ctx, ns, []int{40}, func(int) {
		servedByReplica, err = replica.WebhookRequests(ctx, "/validate-serviceaccount")
		if err != nil {
			t.Fatal(err)
		}
		killedAt = time.Now()
		if err := replica.Kill(); err != nil {
			t.Fatal(err)
		}
	})
	if servedByReplica == 0 {
		t.Fatal("the replica answered nothing before it was killed: the balancer did not spread the stream")
	}
	// Like kube-proxy before the endpoints update, the balancer still sends some new connections to
	// the dead replica; those creates are admitted unreviewed (failurePolicy Ignore). Kept-alive
	// connections to the survivor carry the rest.
	var afterKill, reviewedAfterKill int
	for _, r := range results {
		if r.start.After(killedAt) {
			afterKill++
			if r.reviewed {
				reviewedAfterKill++
			}
		}
	}
	if afterKill == 0 || reviewedAfterKill*2 < afterKill {
		t.Errorf("the surviving replica reviewed %d of the %d creates after the kill, want at least half", reviewedAfterKill, afterKill)
	}
	t.Logf("%d creates; the replica answered %d before its kill; the survivor reviewed %d of the %d after it; slowest create %s",
		len(results), servedByReplica, reviewedAfterKill, afterKill, maxTook(results).Round(time.Millisecond))
}

// startBalancer is a TCP round robin over backends, like kube-proxy before the endpoints update:
// a connection to a dead backend fails and is closed, never retried elsewhere.
func startBalancer(t *testing.T, backends ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		_ = l.Close()
		conns.Range(func(c, _ any) bool { _ = c.(net.Conn).Close(); return true })
		wg.Wait()
	})
	var n atomic.Int64
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			backend := backends[int(n.Add(1))%len(backends)]
			wg.Go(func() {
				defer in.Close()
				out, err := net.DialTimeout("tcp", backend, time.Second)
				if err != nil {
					return
				}
				defer out.Close()
				conns.Store(in, true)
				conns.Store(out, true)
				defer conns.Delete(in)
				defer conns.Delete(out)
				go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
				_, _ = io.Copy(in, out)
			})
		}
	})
	return l.Addr().String()
}

// pointWebhooksAt moves the chart's webhook configurations from g's address to addr, keeping the
// path (the serving certificate is for 127.0.0.1, whatever the port).
func pointWebhooksAt(t *testing.T, ctx context.Context, g *testenv.IRSAGuard, addr string) {
	t.Helper()
	mutating, validating, err := testenv.DecodeWebhookConfigurations(g.Chart.Webhooks)
	if err != nil {
		t.Fatal(err)
	}
	move := func(cc *admissionregistrationv1.WebhookClientConfig) {
		u, err := url.Parse(*cc.URL)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = addr
		s := u.String()
		cc.URL = &s
	}
	var objs []client.Object
	for _, m := range mutating {
		if err := testEnv.Client.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
			t.Fatal(err)
		}
		for i := range m.Webhooks {
			move(&m.Webhooks[i].ClientConfig)
		}
		objs = append(objs, m)
	}
	for _, v := range validating {
		if err := testEnv.Client.Get(ctx, client.ObjectKeyFromObject(v), v); err != nil {
			t.Fatal(err)
		}
		for i := range v.Webhooks {
			move(&v.Webhooks[i].ClientConfig)
		}
		objs = append(objs, v)
	}
	for _, o := range objs {
		if err := testEnv.Client.Update(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
}
