package bench

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAdmissionLoad sends b.N warm-cache requests from a fixed number of concurrent
// clients (closed loop: each client sends its next request when the last one is answered), first
// to the allow-all baseline and then to irsa-guard, and reports the latency distribution and the
// throughput reached. Run it with a fixed count (-benchtime=2000x) so p99 rests on enough samples.
func BenchmarkAdmissionLoad(b *testing.B) {
	w := newWorld(b)
	for _, r := range routes() {
		for _, clients := range []int{8, 64} {
			var base latencies
			b.Run(fmt.Sprintf("%s/clients=%d/allow-all", r.name, clients), func(b *testing.B) {
				base = w.closedLoop(b, r.baseline, r.body(w), clients)
				base.report(b, latencies{})
			})
			b.Run(fmt.Sprintf("%s/clients=%d/warm", r.name, clients), func(b *testing.B) {
				w.closedLoop(b, r.path, r.body(w), clients).report(b, base)
			})
		}
	}
}

// BenchmarkAdmissionRate offers warm-cache requests at the target rate of
// docs/performance.md (500/s per replica) whatever the answers' pace (open loop), and
// measures each request's latency from the moment it was due, so a stalled server shows as
// latency instead of as fewer requests sent.
func BenchmarkAdmissionRate(b *testing.B) {
	const perSecond = 500
	w := newWorld(b)
	for _, r := range routes() {
		var base latencies
		b.Run(fmt.Sprintf("%s/rate=%d/allow-all", r.name, perSecond), func(b *testing.B) {
			base = w.openLoop(b, r.baseline, r.body(w), perSecond)
			base.report(b, latencies{})
		})
		b.Run(fmt.Sprintf("%s/rate=%d/warm", r.name, perSecond), func(b *testing.B) {
			w.openLoop(b, r.path, r.body(w), perSecond).report(b, base)
		})
	}
}

// latencies are one run's per-request latencies and its wall time.
type latencies struct {
	sorted  []time.Duration
	elapsed time.Duration
	calls   int           // IAM and STS calls during the run
	cpu     time.Duration // the process's CPU time during the run (client, server, fake AWS)
}

func (l latencies) quantile(q float64) time.Duration {
	if len(l.sorted) == 0 {
		return 0
	}
	return l.sorted[min(len(l.sorted)-1, int(q*float64(len(l.sorted))))]
}

func (l latencies) perSecond() float64 { return float64(len(l.sorted)) / l.elapsed.Seconds() }

// report publishes p50, p99, max and req/s, and with a baseline the p99 and throughput ratios.
func (l latencies) report(b *testing.B, base latencies) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	b.ReportMetric(ms(l.quantile(0.50)), "p50-ms")
	b.ReportMetric(ms(l.quantile(0.99)), "p99-ms")
	b.ReportMetric(ms(l.quantile(1)), "max-ms")
	b.ReportMetric(l.perSecond(), "req/s")
	b.ReportMetric(float64(l.calls), "aws-calls")
	b.ReportMetric(float64(l.cpu.Microseconds())/float64(len(l.sorted)), "cpu-us/op")
	if len(base.sorted) > 0 {
		b.ReportMetric(float64(l.quantile(0.99))/float64(base.quantile(0.99)), "p99-x-baseline")
		b.ReportMetric(l.perSecond()/base.perSecond(), "req/s-x-baseline")
	}
}

// closedLoop runs b.N requests from clients goroutines, each sending as soon as its last answer
// arrived.
func (w *world) closedLoop(b *testing.B, path string, body []byte, clients int) latencies {
	return w.run(b, path, body, func(send func(int, time.Time)) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
					send(i, time.Now())
				}
			})
		}
		wg.Wait()
	})
}

// openLoop starts request i at start + i/perSecond, on its own goroutine, late or not.
func (w *world) openLoop(b *testing.B, path string, body []byte, perSecond int) latencies {
	interval := time.Second / time.Duration(perSecond)
	return w.run(b, path, body, func(send func(int, time.Time)) {
		var wg sync.WaitGroup
		start := time.Now()
		for i := range b.N {
			due := start.Add(time.Duration(i) * interval)
			time.Sleep(time.Until(due))
			wg.Go(func() { send(i, due) })
		}
		wg.Wait()
	})
}

// run warms the path, then lets drive send b.N requests and collects their latencies, each
// measured from the time drive says the request was due.
func (w *world) run(b *testing.B, path string, body []byte, drive func(send func(i int, due time.Time))) latencies {
	if err := w.expectAllowed(body, path); err != nil {
		b.Fatal(err)
	}
	var warm sync.WaitGroup // open every connection first: handshakes are not the steady state
	for range maxConns {
		warm.Go(func() { _, _ = w.post(path, body) })
	}
	warm.Wait()
	w.aws.ResetCalls()
	lat := make([]time.Duration, b.N)
	var failures atomic.Int64
	var firstErr atomic.Value
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	drive(func(i int, due time.Time) {
		if _, err := w.post(path, body); err != nil {
			failures.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		lat[i] = time.Since(due)
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed; first: %v", n, b.N, firstErr.Load())
	}
	slices.Sort(lat)
	return latencies{sorted: lat, elapsed: elapsed, calls: w.iamCalls(), cpu: cpu}
}
