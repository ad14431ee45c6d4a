package awsfacts

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go/middleware"
)

// ErrRateLimited means irsa-guard's own client-side IAM budget had no token left within the
// caller's deadline. Classify reports it as ReasonThrottled.
var ErrRateLimited = errors.New("irsa-guard's IAM rate limit reached")

// rateLimitMiddleware makes every attempt of every call of a client (retries included) take a
// token from one shared limiter, so all the checks of a replica together stay under the
// configured IAM request rate and N replicas never throttle an account. Background calls (the
// audit) wait by the priorityLimiter's rules.
func rateLimitMiddleware(l *priorityLimiter) func(*middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("IRSAGuardRateLimit", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if err := l.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, ctx.Err()
			}
			return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("%w: %w", ErrRateLimited, err)
		}
		return next.HandleFinalize(ctx, in)
	})
	return func(s *middleware.Stack) error {
		if _, ok := s.Finalize.Get("Retry"); ok {
			return s.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return s.Finalize.Add(mw, middleware.After)
	}
}
