package awsfacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
)

// TestClassifySDKErrors feeds real SDK errors, produced by the fake over the wire, to Classify.
func TestClassifySDKErrors(t *testing.T) {
	tests := map[string]struct {
		role    string
		fault   *awsstate.Fault
		timeout time.Duration
		want    Reason
	}{
		"a role that does not exist is not found":         {role: "nope", want: ReasonNotFound},
		"Throttling with Rate exceeded is throttled":      {role: "app", fault: &awsstate.Fault{API: "GetRole", Error: "Throttling"}, want: ReasonThrottled},
		"our own AccessDenied is access denied":           {role: "app", fault: &awsstate.Fault{API: "GetRole", Error: "AccessDenied"}, want: ReasonAccessDenied},
		"ServiceUnavailable is a server error":            {role: "app", fault: &awsstate.Fault{API: "GetRole", Error: "ServiceUnavailable"}, want: ReasonServer},
		"a truncated XML body is a server error":          {role: "app", fault: &awsstate.Fault{API: "GetRole", Malformed: true}, want: ReasonServer},
		"a dropped connection is a network error":         {role: "app", fault: &awsstate.Fault{API: "GetRole", Drop: true}, want: ReasonNetwork},
		"a reset connection is a network error":           {role: "app", fault: &awsstate.Fault{API: "GetRole", Reset: true}, want: ReasonNetwork},
		"an HTML page instead of XML is a server error":   {role: "app", fault: &awsstate.Fault{API: "GetRole", WrongContentType: true}, want: ReasonServer},
		"an answer slower than the deadline is timeout":   {role: "app", fault: &awsstate.Fault{API: "GetRole", Latency: time.Second}, timeout: 50 * time.Millisecond, want: ReasonTimeout},
		"InvalidInput is neither a finding nor transient": {role: "app", fault: &awsstate.Fault{API: "GetRole", Error: "InvalidInput"}, want: ReasonUnknown},
	}
	iss := startIssuer(t, fakeaws.OIDCIssuerOptions{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, iss, nil)
			if tc.fault != nil {
				if err := e.aws.SetFaults(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			v := e.verifier(t, func(o *Options) { o.MaxAttempts = 1 })
			ctx := testContext(t)
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			_, err := v.getRole(ctx, v.iam, tc.role)
			if got := Classify(err); got != tc.want {
				t.Errorf("Classify(%v) = %q, want %q", err, got, tc.want)
			}
		})
	}
}

func TestClassifyWrappedErrors(t *testing.T) {
	tests := map[string]struct {
		err  error
		want Reason
	}{
		"nil is no reason":                       {nil, ""},
		"our own rate limit counts as throttled": {fmt.Errorf("get role: %w", ErrRateLimited), ReasonThrottled},
		"a wrapped context deadline is timeout":  {fmt.Errorf("get role: %w", context.DeadlineExceeded), ReasonTimeout},
		"an unknown error stays unknown":         {errors.New("boom"), ReasonUnknown},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifyReturnsWithinTheCallersBudget(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.aws.SetFaults(awsstate.Fault{API: "GetRole", Latency: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	v := e.verifier(t, func(o *Options) { o.Account = ownAccount })
	const budget = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(testContext(t), budget)
	defer cancel()
	start := time.Now()
	got := check(v, ctx, e.identity(appRole))
	elapsed := time.Since(start)
	if elapsed > budget+150*time.Millisecond {
		t.Errorf("Verify took %s with a %s budget", elapsed, budget)
	}
	if s := summary(got); strings.Join(s, " ") != "IRSA090/info" || got[0].Message != "could not verify the role (timed out)" {
		t.Errorf("findings = %v, want one IRSA090 timeout", got)
	}
}

func TestThrottledIAMIsRetriedOnceThenUnverified(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.aws.SetFaults(awsstate.Fault{API: "GetRole", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	v := e.verifier(t, nil)
	got := check(v, testContext(t), e.identity(appRole))
	if s := summary(got); strings.Join(s, " ") != "IRSA090/info" || got[0].Message != "could not verify the role (throttled)" {
		t.Errorf("findings = %v, want one IRSA090 throttled", got)
	}
	if n := e.aws.Calls("GetRole"); n != 2 {
		t.Errorf("GetRole attempts = %d, want 2 (MaxAttempts default)", n)
	}
	if n := counterValue(v.metrics.requests.WithLabelValues("GetRole", "throttled")); n != 1 {
		t.Errorf("irsa_guard_iam_requests_total{api=GetRole,outcome=throttled} = %v, want 1", n)
	}
}

func TestRateLimiterBoundsIAMCalls(t *testing.T) {
	e := newEnv(t, nil)
	v := e.verifier(t, func(o *Options) { o.Account = ownAccount; o.RateLimit = 0.001; o.Burst = 2 })
	ctx, cancel := context.WithTimeout(testContext(t), 200*time.Millisecond)
	defer cancel()
	// Two tokens: GetRole and GetOpenIDConnectProvider of the first role. The second role's
	// GetRole finds the bucket empty and gives up at once instead of waiting past the deadline.
	check(v, ctx, e.identity(appRole))
	got := check(v, ctx, e.identity("arn:aws:iam::111122223333:role/teams/payments/Team-Writer"))
	if s := summary(got); strings.Join(s, " ") != "IRSA090/info" || got[0].Message != "could not verify the role (throttled)" {
		t.Errorf("findings = %v, want one IRSA090 throttled by the local limiter", got)
	}
	if n := e.aws.Calls("GetRole"); n != 1 {
		t.Errorf("GetRole calls reaching IAM = %d, want 1", n)
	}
}
