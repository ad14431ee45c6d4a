package audit

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsfacts"
)

// BenchmarkAuditPass times a pass over 2,000 ServiceAccounts whose facts are cached, after a first
// pass (the steady state of a cluster that does not change), and reports what a pass allocates and
// what the audit keeps per subject. The baseline walks every subject through the article's steps
// again each pass; "reuse" keeps a walk while nothing it rests on changed (review.go walkKey), so a
// pass costs the engine's memo lookups, not a trust evaluation per subject. x-baseline columns are
// reuse's figures over the baseline's of the same run (docs/performance.md).
func BenchmarkAuditPass(b *testing.B) {
	const n = 2000
	var base struct{ us, alloc float64 }
	for _, reuse := range []bool{false, true} {
		name := map[bool]string{false: "baseline", true: "reuse"}[reuse]
		b.Run(name, func(b *testing.B) {
			defer func(was bool) { reuseWalks = was }(reuseWalks)
			reuseWalks = reuse
			w := newWorldWith(b, "app", func(o *awsfacts.Options) {
				o.TTL, o.StaleFor, o.RateLimit, o.Burst = time.Hour, time.Hour, 10000, 10000
			}, nil)
			for i := range n {
				w.cluster.addServiceAccount("shop", fmt.Sprintf("app-%d", i), appRole) // all but shop/app fail IRSA032
			}
			w.run(b)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				w.run(b)
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			us := float64(b.Elapsed().Microseconds()) / float64(b.N) / n
			alloc := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N) / n
			b.ReportMetric(alloc, "alloc-B/subject")
			b.ReportMetric(float64(after.HeapAlloc)/n, "heap-B/subject")
			b.ReportMetric(us, "us/subject")
			if !reuse {
				base.us, base.alloc = us, alloc
			} else if base.us > 0 && base.alloc > 0 {
				b.ReportMetric(us/base.us, "x-baseline-time")
				b.ReportMetric(alloc/base.alloc, "x-baseline-alloc")
			}
		})
	}
}
