package awsfacts

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

const appRole = "arn:aws:iam::111122223333:role/app"

func TestCacheServesHitsAndExpires(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	ctx := testContext(t)
	check(v, ctx, e.identity(appRole))
	e.clock.Add(5 * time.Minute)
	check(v, ctx, e.identity(appRole))
	if n := e.aws.Calls("GetRole"); n != 1 {
		t.Fatalf("GetRole calls after a hit = %d, want 1", n)
	}
	if n := counterValue(v.metrics.cache.WithLabelValues("role", "hit")); n != 1 {
		t.Errorf("role cache hits = %v, want 1", n)
	}
	e.clock.Add(6 * time.Minute) // 11m: past the 10m TTL
	check(v, ctx, e.identity(appRole))
	if n := e.aws.Calls("GetRole"); n != 2 {
		t.Errorf("GetRole calls after expiry = %d, want 2", n)
	}
}

func TestCacheRefreshesAheadOfExpiry(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	ctx := testContext(t)
	check(v, ctx, e.identity(appRole))
	e.clock.Add(9 * time.Minute) // past 80% of the TTL: served from cache, refreshed behind
	if got := check(v, ctx, e.identity(appRole)); len(got) != 0 {
		t.Fatalf("findings = %v", got)
	}
	waitFor(t, func() bool { return e.aws.Calls("GetRole") == 2 })
	e.clock.Add(5 * time.Minute) // 14m after the first fetch, 5m after the refresh
	check(v, ctx, e.identity(appRole))
	if n := e.aws.Calls("GetRole"); n != 2 {
		t.Errorf("GetRole calls = %d, want 2: the refreshed entry should still be fresh", n)
	}
}

func TestCacheRemembersNotFoundBriefly(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	ctx := testContext(t)
	missing := "arn:aws:iam::111122223333:role/not-yet"
	for range 3 {
		if got := summary(check(v, ctx, e.identity(missing))); len(got) != 1 || got[0] != "IRSA010/error" {
			t.Fatalf("findings = %v, want IRSA010", got)
		}
	}
	if n := e.aws.Calls("GetRole"); n != 1 {
		t.Fatalf("GetRole calls within the negative TTL = %d, want 1", n)
	}
	if n := counterValue(v.metrics.cache.WithLabelValues("role", "negative")); n != 2 {
		t.Errorf("negative cache answers = %v, want 2", n)
	}
	// The role gets created; after the 30s negative TTL irsa-guard sees it.
	st, err := awsstate.ParseState([]byte(e.stateText))
	if err != nil {
		t.Fatal(err)
	}
	acct := st.Accounts[ownAccount]
	acct.Roles = append(acct.Roles, awsstate.Role{Name: "not-yet", Path: "/", CreateDate: awsstate.DefaultCreateDate(),
		TrustPolicy: `{"Version":"2012-10-17","Statement":[]}`})
	e.aws.SetState(st)
	e.clock.Add(31 * time.Second)
	if got := summary(check(v, ctx, e.identity(missing))); len(got) != 1 || got[0] != "IRSA030/error" {
		t.Errorf("findings after the negative TTL = %v, want the new role's IRSA030", got)
	}
}

func TestCacheServesStaleDataWhenIAMFails(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil)
	ctx := testContext(t)
	check(v, ctx, e.identity("arn:aws:iam::111122223333:role/Team-Writer"))
	if err := e.aws.SetFaults(awsstate.Fault{API: "GetRole", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(20 * time.Minute)
	got := check(v, ctx, e.identity("arn:aws:iam::111122223333:role/Team-Writer"))
	if s := summary(got); strings.Join(s, " ") != "IRSA090/info IRSA011/error" {
		t.Fatalf("findings = %v, want the stale note and the role's IRSA011 from cached data", got)
	}
	if want := "used role data cached 20m0s ago: refresh failed (throttled)"; got[0].Message != want {
		t.Errorf("message = %q, want %q", got[0].Message, want)
	}
	if n := counterValue(v.metrics.cache.WithLabelValues("role", "stale")); n != 1 {
		t.Errorf("stale serves = %v, want 1", n)
	}
	e.clock.Add(time.Hour) // beyond stale-if-error: no more guessing
	got = check(v, ctx, e.identity("arn:aws:iam::111122223333:role/Team-Writer"))
	if f := got[0]; f.Check != validators.CheckCouldNotVerify || f.Message != "could not verify the role (throttled)" || len(got) != 1 {
		t.Errorf("findings past the stale window = %v, want only IRSA090 could not verify the role", got)
	}
}

func TestConcurrentColdLookupsMakeOneCall(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.aws.SetFaults(awsstate.Fault{API: "GetRole", Latency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	v := e.verifier(t, func(o *Options) { o.Account = ownAccount })
	ctx := testContext(t)
	var wg sync.WaitGroup
	results := make([][]validators.Finding, 100)
	for i := range results {
		wg.Go(func() { results[i] = check(v, ctx, e.identity(appRole)) })
	}
	wg.Wait()
	if n := e.aws.Calls("GetRole"); n != 1 {
		t.Errorf("GetRole calls for 100 concurrent cold lookups = %d, want 1", n)
	}
	if n := e.aws.Calls("GetOpenIDConnectProvider"); n != 1 {
		t.Errorf("GetOpenIDConnectProvider calls = %d, want 1", n)
	}
	for i, r := range results {
		if len(r) != 0 {
			t.Fatalf("caller %d got %v, want no findings", i, r)
		}
	}
}

// waitFor polls for a background refresh to land; it has no clock of its own to advance.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not reached within 5s")
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// counterValue reads one counter without the testutil package (which needs a module irsa-guard
// does not otherwise use).
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
