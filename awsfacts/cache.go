package awsfacts

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"golang.org/x/sync/singleflight"
)

// Cache lookup results, as counted by irsa_guard_cache_lookups_total{result}.
const (
	statusHit      = "hit"      // fresh positive entry
	statusMiss     = "miss"     // fetched from AWS now
	statusStale    = "stale"    // fetch failed; served an expired positive entry
	statusNegative = "negative" // fresh "not found" entry
)

// maxEntries bounds a cache: annotations are user input, so distinct keys are unbounded. It is
// twice the 10,000 roles docs/performance.md sizes a replica for (BenchmarkScale), so such a
// cluster's roles all stay cached with room for churn.
const maxEntries = 20000

// While AWS fails, an expired entry within its stale window is served at once for staleFastFor
// after its last failed refresh, with one refresh at most every refreshRetry in the background,
// instead of every lookup waiting for a refresh of its own. Without this, each review of an
// expired key started a fetch that failed again, those fetches spent the IAM rate limit, and every
// such review then waited at the limiter up to its deadline before getting the stale answer
// (docs/performance.md, the soak).
const (
	staleFastFor = 30 * time.Second
	refreshRetry = 5 * time.Second
)

// cacheConfig are a cache's lifetimes (see Options).
type cacheConfig struct {
	ttl, negativeTTL, staleFor, fetchTimeout time.Duration
}

type entry[V any] struct {
	val      V
	err      error // set on a negative (not found) entry
	fetched  time.Time
	negative bool
	// failed is when the last refresh of this positive entry failed, and failErr why; zero after
	// a successful one.
	failed  time.Time
	failErr error
}

// result is one cache answer. For statusStale, err is the failed refresh and age the entry's.
type result[V any] struct {
	val    V
	status string
	age    time.Duration
	err    error
}

// cache is a TTL cache with negative entries, refresh ahead of expiry, stale-if-error and
// singleflight coalescing (docs/performance.md has the figures it was sized by). Fetches run
// detached from the first caller's cancellation (so one impatient caller cannot fail the
// others) but never past its deadline or fetchTimeout.
type cache[V any] struct {
	name  string
	cfg   cacheConfig
	now   func() time.Time
	m     *metrics
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]entry[V]
	// counted are irsa_guard_cache_lookups_total's series of this cache, resolved once: every
	// warm review counts three lookups, and resolving labels hashes them each time.
	counted map[string]prometheus.Counter
}

func newCache[V any](name string, cfg cacheConfig, now func() time.Time, m *metrics) *cache[V] {
	c := &cache[V]{name: name, cfg: cfg, now: now, m: m, entries: map[string]entry[V]{}, counted: map[string]prometheus.Counter{}}
	for _, status := range []string{statusHit, statusMiss, statusStale, statusNegative} {
		c.counted[status] = m.cache.WithLabelValues(name, status)
	}
	return c
}

// peek answers from a fresh entry without fetching, scheduling or counting anything: the warm
// path's answer (SDK.IdentityFacts). ok is false when the entry is missing, expired, or due for
// its refresh ahead of expiry, which get then starts.
func (c *cache[V]) peek(key string) (result[V], bool) {
	e, fresh := c.fresh(key)
	switch {
	case !fresh:
		return result[V]{}, false
	case e.negative:
		return result[V]{val: e.val, status: statusNegative, err: e.err}, true
	case c.now().Sub(e.fetched) >= c.cfg.ttl*4/5:
		return result[V]{}, false
	}
	return result[V]{val: e.val, status: statusHit}, true
}

// count records one answer in irsa_guard_cache_lookups_total.
func (c *cache[V]) count(status string) { c.counted[status].Inc() }

// get answers from the cache or fetches, waiting at most until ctx is done.
func (c *cache[V]) get(ctx context.Context, key string, fetch func(context.Context) (V, error)) result[V] {
	r := c.lookup(ctx, key, fetch)
	c.count(r.status)
	return r
}

func (c *cache[V]) lookup(ctx context.Context, key string, fetch func(context.Context) (V, error)) result[V] {
	e, fresh := c.fresh(key)
	age := c.now().Sub(e.fetched)
	// A background caller (the audit) fetches in flights of its own: an admission must never join
	// a fetch that waits on the audit's share of the rate limit. Both store in the same entries.
	flightKey, refreshCtx := key, context.Background()
	if IsBackground(ctx) {
		flightKey, refreshCtx = "background\x00"+key, Background(refreshCtx)
	}
	switch {
	case fresh && e.negative:
		return result[V]{val: e.val, status: statusNegative, err: e.err}
	case fresh:
		if age >= c.cfg.ttl*4/5 { // refresh ahead: the next caller should not pay the miss
			c.group.DoChan(flightKey, c.flight(refreshCtx, key, true, fetch))
		}
		return result[V]{val: e.val, status: statusHit}
	}
	// The audit (a background caller) is not served stale at once: it is there to notice what
	// changed, within its own share of the rate limit, and it marks a stale answer inconclusive.
	if !IsBackground(ctx) && !e.fetched.IsZero() && !e.negative && age < c.cfg.staleFor && !e.failed.IsZero() && c.now().Sub(e.failed) < staleFastFor {
		if c.now().Sub(e.failed) >= refreshRetry {
			c.group.DoChan(key, c.flight(context.Background(), key, true, fetch))
		}
		return result[V]{val: e.val, status: statusStale, age: age, err: e.failErr}
	}
	var err error
	select {
	case res := <-c.group.DoChan(flightKey, c.flight(ctx, key, false, fetch)):
		if res.Err == nil || IsNotFound(res.Err) {
			return result[V]{val: res.Val.(V), status: statusMiss, err: res.Err}
		}
		err = res.Err
	case <-ctx.Done():
		err = ctx.Err()
	}
	if !e.fetched.IsZero() && !e.negative && age < c.cfg.staleFor {
		return result[V]{val: e.val, status: statusStale, age: age, err: err}
	}
	var zero V
	return result[V]{val: zero, status: statusMiss, err: err}
}

// flight is the shared fetch: it stores successes and not-found answers, and on any other error
// leaves the old entry in place, marked failed, so that it can be served stale. Unless refreshing, it
// first re-checks the cache: a caller that missed just before another flight stored its answer
// must not start a second call. A background caller's own deadline replaces fetchTimeout: it
// may wait longer than an admission for its share of the rate limit.
func (c *cache[V]) flight(ctx context.Context, key string, refresh bool, fetch func(context.Context) (V, error)) func() (any, error) {
	return func() (any, error) {
		if e, ok := c.fresh(key); ok && !refresh {
			return e.val, e.err
		}
		deadline := time.Now().Add(c.cfg.fetchTimeout)
		if d, ok := ctx.Deadline(); ok && (d.Before(deadline) || IsBackground(ctx)) {
			deadline = d
		}
		fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		v, err := fetch(fctx)
		if err == nil || IsNotFound(err) {
			v = c.store(key, entry[V]{val: v, err: err, fetched: c.now(), negative: err != nil})
		} else {
			c.markFailed(key, err)
		}
		return v, err
	}
}

// store keeps a fetched answer. A refresh that brings back the same fact keeps the entry's value
// (its pointer): the engine's memo and the audit's walk are keyed on fact pointers, so an
// unchanged role must not look changed every TTL. A fact that changed is a new value.
func (c *cache[V]) store(key string, e entry[V]) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok && !old.negative && !e.negative && reflect.DeepEqual(old.val, e.val) {
		e.val = old.val
	}
	if len(c.entries) >= maxEntries {
		for k, old := range c.entries {
			if e.fetched.Sub(old.fetched) >= c.cfg.staleFor || old.negative {
				delete(c.entries, k)
			}
		}
	}
	if _, exists := c.entries[key]; exists || len(c.entries) < maxEntries {
		c.entries[key] = e
	}
	return e.val
}

// markFailed notes a failed refresh on key's positive entry, if there is one.
func (c *cache[V]) markFailed(key string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && !e.negative {
		e.failed, e.failErr = c.now(), err
		c.entries[key] = e
	}
}

// fresh returns key's entry if it is still within its TTL.
func (c *cache[V]) fresh(key string) (entry[V], bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	age := c.now().Sub(e.fetched)
	return e, ok && ((e.negative && age < c.cfg.negativeTTL) || (!e.negative && age < c.cfg.ttl))
}
