package awsfacts

import (
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// TestFailingIAMIsNotAskedOnEveryLookup: once a refresh failed, lookups of the expired entry get
// the stale answer at once, without an IAM call each, and one refresh runs in the background
// every refreshRetry until IAM answers again.
func TestFailingIAMIsNotAskedOnEveryLookup(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, func(o *Options) { o.Account = ownAccount })
	ctx := testContext(t)
	check(v, ctx, e.identity(appRole))
	if err := e.aws.SetFaults(awsstate.Fault{API: "GetRole", Error: "ServiceUnavailable"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(11 * time.Minute) // expired, within the hour of stale-if-error
	stale := func(want string) {
		t.Helper()
		got := check(v, ctx, e.identity(appRole))
		if s := summary(got); strings.Join(s, " ") != "IRSA090/info" || got[0].Message != want {
			t.Fatalf("findings = %v, want only the stale note %q", got, want)
		}
	}
	stale("used role data cached 11m0s ago: refresh failed (AWS server error)") // this lookup asked IAM, and failed
	calls := e.aws.Calls("GetRole")
	for range 20 {
		stale("used role data cached 11m0s ago: refresh failed (AWS server error)")
	}
	if n := e.aws.Calls("GetRole"); n != calls {
		t.Fatalf("20 lookups right after a failed refresh made %d GetRole calls, want 0", n-calls)
	}
	e.clock.Add(refreshRetry)
	stale("used role data cached 11m5s ago: refresh failed (AWS server error)") // served at once, refreshed behind
	waitFor(t, func() bool { return e.aws.Calls("GetRole") >= calls+2 })        // both attempts of the refresh failed
	if err := e.aws.SetFaults(); err != nil {                                   // IAM is back
		t.Fatal(err)
	}
	e.clock.Add(refreshRetry)
	stale("used role data cached 11m10s ago: refresh failed (AWS server error)") // the background refresh succeeds
	waitFor(t, func() bool { return len(check(v, ctx, e.identity(appRole))) == 0 })
	if n := counterValue(v.metrics.cache.WithLabelValues("role", "stale")); n < 23 {
		t.Errorf("stale serves counted = %v, want at least 23", n)
	}
}

// TestTheAuditIsNotServedStaleAtOnce: a background caller (the audit) asks IAM again right after
// a failed refresh, in its own flight, so it sees IAM's recovery on its next pass instead of the
// stale answer admissions get for staleFastFor.
func TestTheAuditIsNotServedStaleAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, func(o *Options) { o.Account = ownAccount })
	ctx := testContext(t)
	check(v, ctx, e.identity(appRole))
	if err := e.aws.SetFaults(awsstate.Fault{API: "GetRole", Error: "ServiceUnavailable"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(11 * time.Minute)
	check(v, ctx, e.identity(appRole)) // the refresh fails: admissions now get the stale answer at once
	if err := e.aws.SetFaults(); err != nil {
		t.Fatal(err)
	}
	calls := e.aws.Calls("GetRole")
	if got := check(v, Background(ctx), e.identity(appRole)); len(got) != 0 {
		t.Fatalf("the audit right after IAM recovered got %v, want a fresh answer", got)
	}
	if n := e.aws.Calls("GetRole"); n != calls+1 {
		t.Errorf("the audit made %d GetRole calls, want 1", n-calls)
	}
}

// TestCachedIdentityFactsNeverAsksAWS: the warm path answers only from fresh entries; anything
// else (a cold cache, an unknown own account, an entry due for refresh) is left to IdentityFacts,
// and the answers agree.
func TestCachedIdentityFactsNeverAsksAWS(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, nil) // own account from sts:GetCallerIdentity
	ctx := testContext(t)
	id := e.identity(appRole)
	if _, ok := v.CachedIdentityFacts(ctx, id); ok {
		t.Fatal("a cold cache answered")
	}
	if n := e.aws.Calls("GetCallerIdentity") + e.aws.Calls("GetRole") + e.aws.Calls("GetOpenIDConnectProvider"); n != 0 {
		t.Fatalf("CachedIdentityFacts made %d AWS calls", n)
	}
	slow := v.IdentityFacts(ctx, id)
	fast, ok := v.CachedIdentityFacts(ctx, id)
	if !ok || fast.Role != slow.Role || fast.Provider != slow.Provider || fast.Chain != slow.Chain || len(fast.Unverified) != 0 {
		t.Fatalf("warm: ok %v, facts %+v, want the same pointers as %+v", ok, fast, slow)
	}
	e.clock.Add(9 * time.Minute) // past 4/5 of the 10-minute TTL: refresh ahead is due
	if _, ok := v.CachedIdentityFacts(ctx, id); ok {
		t.Error("an entry due for refresh answered on the fast path, so it would never be refreshed")
	}
}

// TestARefreshOfAnUnchangedRoleKeepsItsPointer: the review memo and the audit key on fact
// pointers; a refresh that finds the same role keeps the pointer, a changed trust policy does not.
func TestARefreshOfAnUnchangedRoleKeepsItsPointer(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, func(o *Options) { o.Account = ownAccount })
	ctx := testContext(t)
	first := v.IdentityFacts(ctx, e.identity(appRole)).Role
	e.clock.Add(11 * time.Minute) // expired: fetched again
	again := v.IdentityFacts(ctx, e.identity(appRole)).Role
	if first == nil || again != first || e.aws.Calls("GetRole") != 2 {
		t.Fatalf("refreshed unchanged role: %p then %p after %d GetRole calls, want the same pointer after 2", first, again, e.aws.Calls("GetRole"))
	}
}
