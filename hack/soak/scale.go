package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// scaleValues are the chart's values for the scale run: the defaults (audit on), with IAM's
// client-side rate raised and the pre-warm deadline long enough that the replica is ready only once
// every role is cached: what is measured is the warm state of a real `irsa-guard serve` process.
var scaleValues = `config:
  shutdownDelay: 0s
  iam:
    qps: 2000
    burst: 2000
  cache:
    prewarmDeadline: 10m
` + scaleExtraValues

// scaleExtraValues are more values for an experiment (SCALE_VALUES), e.g. the audit turned off.
var scaleExtraValues = os.Getenv("SCALE_VALUES")

// scaleReviews is how many warm ServiceAccount reviews each size is timed over, from scaleClients.
const (
	scaleReviews = 4000
	scaleClients = 8
)

// scalePoint is one size's figures.
type scalePoint struct {
	n                 int
	ready             time.Duration
	rssReady, rssWarm float64
	// rssFile is the file-backed part of rssWarm (the binary's pages): the kernel reclaims it at a
	// cgroup's limit instead of killing the process.
	rssFile    float64
	goroutines int
	// heapInuse and heapAlloc are the Go heap's in-use spans and live-or-unswept objects (MiB).
	heapInuse, heapAlloc float64
	p50, p99             time.Duration
	iamCalls             int
}

// runScale starts serve, as the chart deploys it, in a cluster of n ServiceAccounts with n distinct
// roles for each size, waits until it is ready (pre-warmed) and its audit has passed over them,
// times warm reviews striding over all of them, and reads its resident memory (VmRSS).
func runScale(ctx context.Context, env *testenv.Env, root, dir, bin string, sizes []int) ([]scalePoint, error) {
	maxN := slices.Max(sizes)
	aws, err := testenv.StartFakeAWS(scaleStateYAML(sizes), dir)
	if err != nil {
		return nil, err
	}
	defer aws.Close()
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// pod-identity-webhook's configuration, as on EKS: without it every ServiceAccount fails IRSA050.
	if os.Getenv("SCALE_NO_PIW") == "" { // SCALE_NO_PIW=1: the worst case, every ServiceAccount broken (IRSA050)
		if err := createPodIdentityWebhookConfiguration(ctx, cs, env.Config.CAData); err != nil {
			return nil, err
		}
	}
	if limit := envInt("SCALE_MEMORY_LIMIT", 0); limit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// In a container serve sets this itself from the cgroup mounted at /sys/fs/cgroup
		// (server/memlimit.go); here that path is the machine's root cgroup, so it is told.
		_ = os.Setenv("GOMEMLIMIT", fmt.Sprintf("%dMiB", limit*9/10))
	}
	var out []scalePoint
	for _, n := range sizes {
		ns := fmt.Sprintf("scale-%d", n)
		fmt.Printf("scale: creating %d ServiceAccounts in %s\n", n, ns)
		if err := createServiceAccounts(ctx, cs, ns, n); err != nil {
			return nil, err
		}
		aws.Server.ResetCalls()
		var cg *memoryCgroup
		if limit := envInt("SCALE_MEMORY_LIMIT", 0); limit > 0 {
			if cg, err = newMemoryCgroup(limit, n); err != nil {
				return nil, err
			}
			defer cg.remove()
		}
		serveBin := bin
		if cg != nil {
			if serveBin, err = cg.wrap(dir, bin); err != nil {
				return nil, err
			}
		}
		start := time.Now()
		g, err := testenv.StartIRSAGuard(ctx, env, testenv.IRSAGuardOptions{Root: root, Binary: serveBin, Values: scaleValues, AWS: aws, Dir: dir})
		if err != nil {
			return nil, err
		}
		p := scalePoint{n: n, ready: time.Since(start)}
		p.rssReady, _ = procStatus(g.PID())
		if err := waitAuditPass(ctx, g); err != nil {
			g.Stop()
			return nil, err
		}
		if p.p50, p.p99, err = timeReviews(ctx, g, ns, n); err != nil {
			g.Stop()
			return nil, err
		}
		p.rssWarm, _ = procStatus(g.PID())
		p.rssFile = statusMiB(g.PID(), "RssFile:")
		p.goroutines = goroutines(ctx, g)
		p.heapInuse = metricValue(ctx, g, "go_memstats_heap_inuse_bytes") / (1 << 20)
		p.heapAlloc = metricValue(ctx, g, "go_memstats_heap_alloc_bytes") / (1 << 20)
		if os.Getenv("SCALE_SETTLE") != "" { // wait for the runtime's periodic GC, then read again
			time.Sleep(150 * time.Second)
			rss, _ := procStatus(g.PID())
			fmt.Printf("scale: %d after 150 s idle: RSS %.0f MiB, heap in use %.0f MiB, allocated %.0f MiB\n", n, rss,
				metricValue(ctx, g, "go_memstats_heap_inuse_bytes")/(1<<20), metricValue(ctx, g, "go_memstats_heap_alloc_bytes")/(1<<20))
		}
		p.iamCalls = aws.Server.Calls("GetRole")
		if cg != nil {
			exited, _ := g.Exited()
			fmt.Printf("scale: %d in a %d MiB memory cgroup: %s, serve exited: %v\n", n, envInt("SCALE_MEMORY_LIMIT", 0), cg.report(), exited)
		}
		g.Stop()
		fmt.Printf("scale: %d ServiceAccounts: ready in %s, RSS %.0f MiB ready / %.0f MiB warm (%.0f MiB file-backed; heap in use %.0f MiB, allocated %.0f MiB), p50 %s p99 %s, %d GetRole (of %d roles)\n",
			n, p.ready.Round(time.Second), p.rssReady, p.rssWarm, p.rssFile, p.heapInuse, p.heapAlloc, p.p50.Round(10*time.Microsecond), p.p99.Round(10*time.Microsecond), p.iamCalls, maxN)
		out = append(out, p)
		// The next size's serve must hold its own n, not this one's too (envtest runs no namespace
		// controller, so the namespace's objects are deleted by hand).
		if err := cs.CoreV1().ServiceAccounts(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			return nil, fmt.Errorf("delete the ServiceAccounts of %s: %w", ns, err)
		}
	}
	return out, nil
}

// scaleStateYAML is AWS for the scale run: role scale-app-i trusts app-i in every size's namespace.
func scaleStateYAML(sizes []int) []byte {
	hostPath := strings.TrimPrefix(issuer, "https://")
	var b strings.Builder
	fmt.Fprintf(&b, "callerAccount: %q\nclusters:\n  - {name: scale, region: us-west-2, issuer: %s}\naccounts:\n  %q:\n", account, issuer, account)
	fmt.Fprintf(&b, "    oidcProviders:\n      - {url: %s, clientIDs: [sts.amazonaws.com]}\n    roles:\n", issuer)
	for i := range slices.Max(sizes) {
		var subs []string
		for _, n := range sizes {
			if i < n {
				subs = append(subs, fmt.Sprintf(`"system:serviceaccount:scale-%d:app-%d"`, n, i))
			}
		}
		fmt.Fprintf(&b, `      - name: scale-app-%d
        trustPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::%s:oidc-provider/%s"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"%s:aud":"sts.amazonaws.com","%s:sub":[%s]}}}]}'
`, i, account, hostPath, hostPath, hostPath, strings.Join(subs, ","))
	}
	return []byte(b.String())
}

func createServiceAccounts(ctx context.Context, cs kubernetes.Interface, ns string, n int) error {
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				sa := serviceAccount(ns, fmt.Sprintf("app-%d", i), roleARN(fmt.Sprintf("scale-app-%d", i)))
				if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("create ServiceAccount %s/%s: %w", ns, sa.Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// metricValue reads one unlabelled gauge from the metrics port; 0 when it cannot be read.
func metricValue(ctx context.Context, g *testenv.IRSAGuard, name string) float64 {
	status, body, err := g.MetricsGet(ctx, "/metrics")
	if err != nil || status != http.StatusOK {
		return 0
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// waitAuditPass waits until the audit has finished a pass (its last-pass timestamp is set).
func waitAuditPass(ctx context.Context, g *testenv.IRSAGuard) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if status, body, err := g.MetricsGet(ctx, "/metrics"); err == nil && status == http.StatusOK {
			if !strings.Contains(string(body), "irsa_guard_audit_interval_seconds") {
				return nil // the audit is off
			}
			for line := range strings.SplitSeq(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "irsa_guard_audit_last_pass_timestamp_seconds "); ok && v != "0" {
					return nil
				}
			}
		}
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("the audit finished no pass within 5 minutes; log:\n%s", g.LogTail(20))
}

// timeReviews sends scaleReviews ServiceAccount reviews over the n ServiceAccounts (each once
// first, so every answer is warm), from scaleClients clients, and returns p50 and p99.
func timeReviews(ctx context.Context, g *testenv.IRSAGuard, ns string, n int) (p50, p99 time.Duration, _ error) {
	w := &world{}
	for i := range n {
		w.add("ServiceAccount", true, serviceAccount(ns, fmt.Sprintf("app-%d", i), roleARN(fmt.Sprintf("scale-app-%d", i))))
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // loopback load generator
		MaxIdleConnsPerHost: scaleClients,
	}}
	defer client.CloseIdleConnections()
	url := "https://" + g.WebhookAddr + webhook.PathValidateServiceAccount
	post := func(body []byte) (time.Duration, error) {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("POST %s: %s", url, resp.Status)
		}
		return time.Since(start), nil
	}
	for _, r := range w.requests { // warm every ServiceAccount's answer
		if _, err := post(r.body); err != nil {
			return 0, 0, err
		}
	}
	lat := make([]time.Duration, scaleReviews)
	var wg sync.WaitGroup
	errs := make(chan error, scaleClients)
	for c := range scaleClients {
		wg.Go(func() {
			for i := c; i < scaleReviews; i += scaleClients {
				d, err := post(w.requests[(i*7919)%n].body) // stride over all of them
				if err != nil {
					errs <- err
					return
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}
