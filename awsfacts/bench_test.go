package awsfacts

import (
	"fmt"
	"testing"

	"golang.org/x/time/rate"
)

// BenchmarkVerifyWarm is the admission hot path: every fact cached, no AWS call.
func BenchmarkVerifyWarm(b *testing.B) {
	e := newEnv(b, nil)
	v := e.verifier(b, func(o *Options) { o.RateLimit = rate.Inf })
	ctx := b.Context()
	id := e.identity(appRole)
	check(v, ctx, id)
	b.ResetTimer()
	for b.Loop() {
		check(v, ctx, id)
	}
}

// BenchmarkVerifyCold pays one GetRole round trip to the loopback fake per call (provider and
// thumbprint stay cached): the floor under a real IAM round trip.
func BenchmarkVerifyCold(b *testing.B) {
	e := newEnv(b, nil)
	v := e.verifier(b, func(o *Options) { o.RateLimit = rate.Inf })
	ctx := b.Context()
	check(v, ctx, e.identity(appRole))
	i := 0
	for b.Loop() {
		i++
		check(v, ctx, e.identity(fmt.Sprintf("arn:aws:iam::111122223333:role/cold-%d", i)))
	}
}
