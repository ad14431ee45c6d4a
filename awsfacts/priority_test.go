package awsfacts

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/validators"
)

// hammer runs background lookups of distinct, absent roles from workers goroutines until stop is
// closed, as an audit pass over a cold cache does, and counts the lookups started.
func hammer(t *testing.T, v *SDK, e *env, workers int, stop <-chan struct{}) (wait func() int64) {
	t.Helper()
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(Background(context.Background()), time.Second)
				v.IdentityFacts(ctx, e.identity(fmt.Sprintf("arn:aws:iam::111122223333:role/audit-%d-%d", w, i)))
				cancel()
				n.Add(1)
			}
		})
	}
	return func() int64 { wg.Wait(); return n.Load() }
}

// admit is one admission's lookup with a deadline shorter than one token's refill (500 ms at
// 2/s): the local limiter refuses it at once unless a token is there.
func admit(v *SDK, e *env, role string) validators.AWSFacts {
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	return v.IdentityFacts(ctx, e.identity(role))
}

func TestAdmissionsKeepTheirTokensWhileTheAuditRuns(t *testing.T) {
	for name, tc := range map[string]struct {
		share       float64
		admissionOK bool
	}{
		"with a 25% share the audit leaves admissions their tokens":  {share: 0.25, admissionOK: true},
		"without a share the same audit would starve the admissions": {share: 0, admissionOK: false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			v := e.verifier(t, func(o *Options) {
				o.Account, o.RateLimit, o.Burst, o.BackgroundShare, o.SkipThumbprint = ownAccount, 2, 8, tc.share, true
			})
			// The provider is cached first, so each lookup below costs exactly one GetRole.
			if f := admit(v, e, appRole); f.Role == nil || f.Provider == nil {
				t.Fatalf("warm-up lookup: %+v", f)
			}
			time.Sleep(time.Second) // the bucket refills
			stop := make(chan struct{})
			start, before := time.Now(), e.aws.Calls("GetRole")
			wait := hammer(t, v, e, 4, stop)
			time.Sleep(500 * time.Millisecond)
			var refused []string
			for i := range 4 {
				role := fmt.Sprintf("arn:aws:iam::111122223333:role/admitted-%d", i)
				f := admit(v, e, role)
				switch {
				case slices.Contains(f.Unverified, validators.Unverified{What: "role", Reason: string(ReasonThrottled)}):
					refused = append(refused, role)
				case !f.RoleNotFound:
					t.Fatalf("admission lookup of %s: %+v (a slow machine, not the rate limit)", role, f)
				}
				time.Sleep(100 * time.Millisecond)
			}
			close(stop)
			wait()
			elapsed := time.Since(start)
			audit := e.aws.Calls("GetRole") - before - (4 - len(refused))
			if tc.admissionOK && len(refused) > 0 {
				t.Errorf("admissions were refused IAM tokens while the audit ran:\n%v", refused)
			}
			if !tc.admissionOK && len(refused) == 0 {
				t.Errorf("the audit without a share should have taken the admissions' tokens; the test proves nothing")
			}
			if tc.share > 0 {
				// The audit's own bucket: burst 2 at 0.5/s.
				if most := 2 + int(0.5*elapsed.Seconds()); audit > most {
					t.Errorf("the audit made %d IAM calls in %s, more than its share allows (%d)", audit, elapsed.Round(time.Millisecond), most)
				}
				if audit == 0 {
					t.Errorf("the audit made no IAM call at all in %s; it should get its share", elapsed.Round(time.Millisecond))
				}
			}
		})
	}
}

func TestAnAdmissionNeverJoinsTheAuditsWaitingFetch(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, func(o *Options) {
		o.Account, o.RateLimit, o.Burst, o.BackgroundShare, o.SkipThumbprint = ownAccount, 10, 8, 0.1, true
	})
	if f := admit(v, e, appRole); f.Provider == nil {
		t.Fatalf("warm-up lookup: %+v", f)
	}
	// The audit's own bucket (1/s, burst 1) is spent: its next fetch of the role waits about a second.
	ctx, cancel := context.WithTimeout(Background(context.Background()), 5*time.Second)
	defer cancel()
	v.IdentityFacts(ctx, e.identity("arn:aws:iam::111122223333:role/spent"))
	role := "arn:aws:iam::111122223333:role/teams/payments/Team-Writer"
	audited := make(chan validators.AWSFacts, 1)
	go func() { audited <- v.IdentityFacts(ctx, e.identity(role)) }()
	time.Sleep(50 * time.Millisecond) // the audit's flight for the role is waiting for a token
	if f := admit(v, e, role); f.Role == nil {
		t.Fatalf("the admission's lookup of %s waited for the audit's fetch: %+v", role, f.Unverified)
	}
	if f := <-audited; f.Role == nil {
		t.Errorf("the audit's lookup should still succeed once its token comes: %+v", f.Unverified)
	}
}

func TestBackgroundLimitWithoutShareIsTheSharedOne(t *testing.T) {
	l := newPriorityLimiter(10, 8, 0)
	if l.background != nil {
		t.Fatal("a share of 0 must leave background calls on the shared limit")
	}
	l = newPriorityLimiter(5, 20, 0.2)
	if l.background.Limit() != 1 || l.background.Burst() != 4 || l.reserve != 16 {
		t.Errorf("share 0.2 of 5/s burst 20: background %v/s burst %d, reserve %v; want 1/s, 4, 16",
			l.background.Limit(), l.background.Burst(), l.reserve)
	}
	l = newPriorityLimiter(1, 1, 0.5)
	if l.reserve != 0 || l.background.Burst() != 1 {
		t.Errorf("burst 1: reserve %v, background burst %d; want 0 and 1 so the audit can run at all", l.reserve, l.background.Burst())
	}
}
