package awsfacts

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"
)

// backgroundKey marks a context whose AWS calls are background work (the audit).
type backgroundKey struct{}

// Background marks ctx as background work: the audit re-checking what admission already let in.
// Its AWS calls draw on the same rate limit as admissions but at most Options.BackgroundShare of
// it, and never from the tokens admissions need (see priorityLimiter). Facts it finds in the cache
// are free, as for any caller.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was marked by Background.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}

// errNoHeadroom is a background call giving up: the shared bucket did not refill above what
// admissions keep before the caller's deadline. The middleware reports it as ErrRateLimited.
var errNoHeadroom = errors.New("no IAM tokens above the admissions' reserve before the deadline")

// priorityLimiter is the process's IAM rate limit with admissions first. Every call takes a token
// from all. A background call first takes one from background (share × the rate, so the audit
// never sustains more than its share), then takes one from all only while all holds more than
// reserve tokens: the last (1 − share) × burst tokens are left to admissions, which therefore
// never wait because of the audit. Under steady admission load the bucket stays low and the
// audit waits, runs out of time and backs off; admissions are never slowed for it.
type priorityLimiter struct {
	all        *rate.Limiter
	background *rate.Limiter // nil: background calls are like any other
	reserve    float64
}

// newPriorityLimiter builds the limit of qps and burst with share (0 < share < 1) for background
// calls; a share of 0 or 1 and above gives background calls no limit of their own.
func newPriorityLimiter(qps rate.Limit, burst int, share float64) *priorityLimiter {
	l := &priorityLimiter{all: rate.NewLimiter(qps, burst)}
	if share <= 0 || share >= 1 {
		return l
	}
	l.background = rate.NewLimiter(qps*rate.Limit(share), max(1, int(share*float64(burst))))
	l.reserve = min(float64(int((1-share)*float64(burst))), float64(burst-1))
	return l
}

// Wait blocks until the caller may make one AWS call, or returns why it may not within ctx.
func (l *priorityLimiter) Wait(ctx context.Context) error {
	if l.background == nil || !IsBackground(ctx) {
		return l.all.Wait(ctx)
	}
	if err := l.background.Wait(ctx); err != nil {
		return err
	}
	// The time one token takes to refill: the soonest the headroom can change.
	tick := time.Second
	if lim := l.all.Limit(); lim > 0 && lim != rate.Inf {
		tick = time.Duration(float64(time.Second) / float64(lim))
	}
	for {
		// Not atomic with Allow: an admission taking a token in between leaves the audit at most
		// one token into the reserve, never an admission waiting on the audit's account.
		if l.all.Tokens() >= l.reserve+1 && l.all.Allow() {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < tick {
			return errNoHeadroom
		}
		t := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
