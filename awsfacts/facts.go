package awsfacts

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/irsa-guard/irsa-guard/validators"
)

// IdentityFacts reads what AWS holds about one identity's role, its account's OIDC provider for
// the issuer and the issuer's TLS chain, within ctx's deadline, through the caches. It never
// fails: what it cannot read (throttled, timed out, irsa-guard's own access denied, network, no
// access to the role's account) is listed in AWSFacts.Unverified with the reason, and a fact
// served from an expired cache entry in AWSFacts.Stale, so callers fail open. A role-arn that is
// not a role ARN yields empty facts: IRSA001 reports it.
func (v *SDK) IdentityFacts(ctx context.Context, id validators.Identity) validators.AWSFacts {
	ref, err := validators.ParseRoleARN(id.RoleARN)
	if err != nil {
		return validators.AWSFacts{Now: v.opts.Clock()}
	}
	facts := validators.AWSFacts{Now: v.opts.Clock(), Partition: ref.Partition}
	if err := validators.ValidateIssuer(id.Issuer); err != nil {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role and OIDC provider", Reason: "no valid cluster issuer configured"})
		return facts
	}
	client, via, why := v.iamFor(ctx, ref)
	if client == nil {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role and OIDC provider", Reason: why})
		return facts
	}
	providerARN := validators.ProviderARN(ref.Partition, ref.Account, id.Issuer)

	var wg sync.WaitGroup
	var role result[*validators.RoleFacts]
	var provider result[*validators.ProviderFacts]
	var chain result[*validators.ChainFacts]
	wg.Go(func() {
		role = v.roles.get(ctx, id.RoleARN, func(ctx context.Context) (*validators.RoleFacts, error) {
			return v.getRole(ctx, client, ref.Name)
		})
	})
	wg.Go(func() {
		provider = v.providers.get(ctx, providerARN, func(ctx context.Context) (*validators.ProviderFacts, error) {
			return v.getProvider(ctx, client, providerARN)
		})
	})
	wg.Go(func() {
		if v.opts.SkipThumbprint {
			return
		}
		chain = v.thumbs.get(ctx, id.Issuer, func(ctx context.Context) (*validators.ChainFacts, error) {
			start := time.Now()
			c, err := v.chains.fetch(ctx, id.Issuer)
			v.metrics.observe("OIDCDiscovery", start, err)
			return c, err
		})
	})
	wg.Wait()

	log := v.log(ctx).WithValues("roleARN", id.RoleARN, "providerARN", providerARN)
	facts.Role, facts.RoleNotFound = settle(log, &facts, "role", via, role)
	facts.Provider, facts.ProviderNotFound = settle(log, &facts, "OIDC provider", via, provider)
	if facts.Provider != nil && !v.opts.SkipThumbprint {
		facts.Chain, _ = settle(log, &facts, "issuer's TLS thumbprint", "", chain)
	}
	return facts
}

// settle turns one cache answer into facts: the value (fresh or stale, noting staleness), a
// not-found flag, or an Unverified entry with the classified reason and, for another account,
// the reader role it went through.
func settle[V any](log logr.Logger, facts *validators.AWSFacts, what, via string, r result[*V]) (*V, bool) {
	switch {
	case r.status == statusStale:
		log.V(1).Info("Serving stale AWS facts", "fact", what, "reason", Classify(r.err), "error", r.err.Error())
		facts.Stale = append(facts.Stale, validators.StaleFact{What: what, Age: r.age, Reason: string(Classify(r.err))})
		return r.val, false
	case r.err == nil:
		return r.val, false
	case IsNotFound(r.err):
		return nil, true
	}
	log.V(1).Info("Could not verify against AWS", "fact", what, "reason", Classify(r.err), "error", r.err.Error())
	reason := string(Classify(r.err))
	if via != "" {
		reason += " via " + via
	}
	facts.Unverified = append(facts.Unverified, validators.Unverified{What: what, Reason: reason})
	return nil, false
}

// log is the caller's logger.
func (v *SDK) log(ctx context.Context) logr.Logger { return logr.FromContextOrDiscard(ctx) }
