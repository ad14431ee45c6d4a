package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
)

// prewarmWorkers is how many ServiceAccounts are reviewed at once while pre-warming. The IAM rate
// limit paces them; more would only queue more reservations ahead of live reviews.
const prewarmWorkers = 4

// Prewarm fills a fresh replica's AWS facts cache before it reports ready: it reviews every
// ServiceAccount in the informer cache that has a role-arn, as a pod of it would be reviewed, so
// the engine's facts source fetches (and caches) its role, the cluster's OIDC provider and, with a
// cluster name, its EKS Pod Identity association, through the same caches and IAM rate limit as
// admission. Without it, the first burst of pods after a rollout meets an empty cache and a
// 5 requests/s budget, and is answered "could not verify" (IRSA090) for every role not yet seen.
// Ready reports ready once it is done or Deadline has passed since the cache synced, whichever
// comes first: a replica is never held back for ever; warming then goes on in the background.
type Prewarm struct {
	Cache    cache.Cache
	Engine   *review.Engine
	Deadline time.Duration

	started  atomic.Pointer[time.Time] // when the cache had synced and warming began
	finished atomic.Bool
}

// PrewarmStats says what a pre-warm did.
type PrewarmStats struct {
	ServiceAccounts int // with a role-arn
	Roles           int // distinct role-arn values
	// Unverified are the ServiceAccounts whose AWS facts could still not be read at the end
	// (IAM throttled, timed out, irsa-guard's access denied).
	Unverified int
	Took       time.Duration
}

// Start warms once the cache has synced, then returns (manager.Runnable).
func (p *Prewarm) Start(ctx context.Context) error {
	if !p.Cache.WaitForCacheSync(ctx) {
		return nil // stopping before the caches synced
	}
	p.Run(ctx)
	return nil
}

// NeedLeaderElection is false: every replica warms its own cache.
func (p *Prewarm) NeedLeaderElection() bool { return false }

// Ready is the readiness check: ready once warming finished or the deadline passed.
func (p *Prewarm) Ready(*http.Request) error {
	start := p.started.Load()
	switch {
	case p.finished.Load():
		return nil
	case start == nil:
		return errors.New("pre-warm not started: informer caches not synced")
	case time.Since(*start) >= p.Deadline:
		return nil
	}
	return errors.New("pre-warming the AWS facts cache from the cluster's ServiceAccounts")
}

// Run warms the cache from the ServiceAccounts in it and returns what it did. Every ServiceAccount
// is reviewed; one per distinct role goes first, so every role is cached as early as the rate limit
// allows. Those left unverified (IAM throttled or timed out) get one more try at the end.
func (p *Prewarm) Run(ctx context.Context) PrewarmStats {
	now := time.Now()
	p.started.Store(&now)
	defer p.finished.Store(true)
	log := logf.FromContext(ctx).WithName("prewarm")
	var list corev1.ServiceAccountList
	if err := p.Cache.List(ctx, &list); err != nil {
		log.Error(err, "Cannot list ServiceAccounts to pre-warm the AWS facts cache")
		return PrewarmStats{}
	}
	var first, rest []*corev1.ServiceAccount
	roles := map[string]bool{}
	for i := range list.Items {
		sa := &list.Items[i]
		role := sa.Annotations[validators.AnnotationRoleARN]
		switch {
		case role == "":
		case !roles[role]:
			roles[role] = true
			first = append(first, sa)
		default:
			rest = append(rest, sa)
		}
	}
	stats := PrewarmStats{ServiceAccounts: len(first) + len(rest), Roles: len(roles)}
	log.Info("Pre-warming the AWS facts cache", "serviceAccounts", stats.ServiceAccounts, "roles", stats.Roles, "deadline", p.Deadline.String())
	unverified := p.review(ctx, log, append(first, rest...))
	if len(unverified) > 0 && ctx.Err() == nil {
		log.Info("Retrying the ServiceAccounts not verified", "serviceAccounts", len(unverified))
		unverified = p.review(ctx, log, unverified)
	}
	stats.Unverified, stats.Took = len(unverified), time.Since(now)
	log.Info("Pre-warmed the AWS facts cache", "serviceAccounts", stats.ServiceAccounts, "roles", stats.Roles,
		"unverified", stats.Unverified, "took", stats.Took.Round(time.Millisecond).String(), "afterDeadline", stats.Took > p.Deadline)
	return stats
}

// review reviews sas on prewarmWorkers workers and returns those whose AWS facts were not all
// read. It logs progress every 5 seconds.
func (p *Prewarm) review(ctx context.Context, log logr.Logger, sas []*corev1.ServiceAccount) []*corev1.ServiceAccount {
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		unverified []*corev1.ServiceAccount
		wg         sync.WaitGroup
	)
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				log.Info("Pre-warming", "reviewed", done.Load(), "of", len(sas))
			}
		}
	}()
	for range min(prewarmWorkers, len(sas)) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(sas)) && ctx.Err() == nil; i = next.Add(1) - 1 {
				r := p.Engine.Explain(ctx, review.Subject{Stage: review.StageRunning, ServiceAccount: sas[i]})
				if !verified(r) {
					mu.Lock()
					unverified = append(unverified, sas[i])
					mu.Unlock()
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	return unverified
}

// verified reports whether a review read every AWS fact it asked for.
func verified(r review.Report) bool {
	if r.AWS != nil && len(r.AWS.Unverified) > 0 {
		return false
	}
	if r.PodIdentity != nil && len(r.PodIdentity.Unverified) > 0 {
		return false
	}
	for _, f := range r.Findings {
		if f.Check == validators.CheckCouldNotVerify {
			return false
		}
	}
	return true
}

var _ interface {
	Start(context.Context) error
	NeedLeaderElection() bool
} = (*Prewarm)(nil)

// addPrewarm runs a Prewarm with the manager and makes readiness wait for it.
func addPrewarm(mgr manager.Manager, engine *review.Engine, deadline time.Duration) error {
	p := &Prewarm{Cache: mgr.GetCache(), Engine: engine, Deadline: deadline}
	if err := mgr.Add(p); err != nil {
		return err
	}
	return mgr.AddReadyzCheck("prewarm", p.Ready)
}
