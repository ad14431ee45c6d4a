package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/server"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// BenchmarkScale starts a replica in a cluster of n ServiceAccounts with n distinct roles, lets
// server.Prewarm cache all of them, and reports what that costs in memory and whether warm
// reviews slow down with n: the Go heap the replica holds once warm (live objects after a GC:
// its informer cache, the AWS facts caches, the engine's memo), per 1,000 ServiceAccounts, and the
// latency of warm pod reviews from 8 clients spread over all n ServiceAccounts. The fake AWS and
// the client live in the same process but were allocated before the replica, so they are not in
// the replica's heap figure; the process's VmRSS is reported beside it for scale.
func BenchmarkScale(b *testing.B) {
	sizes := []int{100, 10000}
	if testing.Short() {
		sizes = []int{10, 100}
	}
	for _, n := range sizes {
		b.Run("serviceaccounts="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				scaleOnce(b, n)
			}
		})
	}
}

func scaleOnce(b *testing.B, n int) {
	const clients, reviews = 8, 4000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scheme := kruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	fleet := newFleet(b, n)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = admissionReview(b, "Pod", "pods", injectedPodOf(fleetNamespace, fleetName(i), fleetRole(i)))
	}
	heap0 := liveHeap()

	cfg := config.Default()
	c, err := cache.New(controlPlane.Config, server.CacheOptions(scheme))
	if err != nil {
		b.Fatal(err)
	}
	cluster, err := server.NewCluster(ctx, c, controlPlane.Client, cfg)
	if err != nil {
		b.Fatal(err)
	}
	// Warming 10,000 roles at the default 5 requests/s would take half an hour; the limit is lifted
	// here because what is measured is the warm state, not the way to it (BenchmarkColdStart).
	facts := newFacts(b, fleet.aws, fleet.issuer, awsfacts.Options{RateLimit: rate.Inf})
	engine := review.New(cfg, review.Options{Facts: facts, Cluster: cluster, Issuer: fleet.issuer.URL()})
	deps := &webhook.Deps{Engine: engine, Cluster: cluster, Policy: webhook.Policy{Policy: cfg.Policy}, Budget: cfg.Server.DecisionBudget.Duration}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("the informer cache did not sync")
	}
	stats := (&server.Prewarm{Cache: c, Engine: engine}).Run(ctx)
	if stats.ServiceAccounts < n || stats.Unverified > 0 {
		b.Fatalf("pre-warm saw %d ServiceAccounts with a role (want at least %d), %d unverified", stats.ServiceAccounts, n, stats.Unverified)
	}
	url, httpClient := serveWebhook(b, ctx, scheme, deps)

	// One pod review per ServiceAccount first: the pre-warm cached the AWS facts, and this caches
	// the engine's answer for a pod's call context too, as a live cluster's first pod of each does.
	var warmup sync.WaitGroup
	var nextWarm atomic.Int64
	for range clients {
		warmup.Go(func() {
			for i := nextWarm.Add(1) - 1; i < int64(n); i = nextWarm.Add(1) - 1 {
				_, _ = post(httpClient, url+webhook.PathValidatePod, bodies[i])
			}
		})
	}
	warmup.Wait()
	fleet.aws.ResetCalls()
	lat := make([]time.Duration, reviews)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for range clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < reviews; i = next.Add(1) - 1 {
				t := time.Now()
				// Stride through the fleet so that every review asks about another ServiceAccount.
				if _, err := post(httpClient, url+webhook.PathValidatePod, bodies[int(i*7919)%n]); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	if failed.Load() > 0 {
		b.Fatalf("%d of %d reviews failed", failed.Load(), reviews)
	}
	heap := liveHeap() - heap0
	runtime.KeepAlive(engine)
	runtime.KeepAlive(c)
	slices.Sort(lat)
	b.ReportMetric(float64(heap)/(1<<20), "replica-heap-MiB")
	b.ReportMetric(float64(heap)/(1<<20)/float64(n)*1000, "heap-MiB-per-1000-SA")
	b.ReportMetric(float64(vmRSS())/(1<<20), "process-rss-MiB")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
	b.ReportMetric(float64(reviews)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/reviews, "cpu-us/op")
	b.ReportMetric(float64(fleet.aws.Calls("GetRole")), "warm-GetRole-calls")
}

// liveHeap is the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// vmRSS is this process's resident set size (/proc/self/status VmRSS), 0 when unknown.
func vmRSS() uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb uint64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
