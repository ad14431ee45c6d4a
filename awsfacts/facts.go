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
	facts, _ := v.identityFacts(ctx, id, false)
	return facts
}

// CachedIdentityFacts answers like IdentityFacts when it can without a lookup: every fact fresh
// in the caches, or an answer that needs none (an invalid role ARN). ok is false otherwise. The
// review engine asks it first, to skip the goroutine that bounds a lookup by the deadline.
func (v *SDK) CachedIdentityFacts(ctx context.Context, id validators.Identity) (validators.AWSFacts, bool) {
	return v.identityFacts(ctx, id, true)
}

func (v *SDK) identityFacts(ctx context.Context, id validators.Identity, cachedOnly bool) (validators.AWSFacts, bool) {
	ref, err := validators.ParseRoleARN(id.RoleARN)
	if err != nil {
		return validators.AWSFacts{Now: v.opts.Clock()}, true
	}
	facts := validators.AWSFacts{Now: v.opts.Clock(), Partition: ref.Partition}
	if err := validators.ValidateIssuer(id.Issuer); err != nil {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role and OIDC provider", Reason: "no valid cluster issuer configured"})
		return facts, true
	}
	if cachedOnly && v.opts.Account == "" {
		if _, ok := v.self.peek("self"); !ok {
			return validators.AWSFacts{}, false // iamFor would ask sts:GetCallerIdentity
		}
	}
	client, via, why := v.iamFor(ctx, ref)
	if client == nil {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "role and OIDC provider", Reason: why})
		return facts, true
	}
	providerARN := validators.ProviderARN(ref.Partition, ref.Account, id.Issuer)

	// The warm path: every fact fresh in the caches is answered here, without the goroutines and
	// flights a lookup needs (docs/performance.md).
	role, roleOK := v.roles.peek(id.RoleARN)
	provider, providerOK := v.providers.peek(providerARN)
	var chain result[*validators.ChainFacts]
	chainOK := v.opts.SkipThumbprint || (providerOK && provider.val == nil)
	if !chainOK {
		chain, chainOK = v.thumbs.peek(id.Issuer)
	}
	if roleOK && providerOK && chainOK {
		v.roles.count(role.status)
		v.providers.count(provider.status)
		if chain.status != "" {
			v.thumbs.count(chain.status)
		}
		return v.settleAll(ctx, facts, id, providerARN, via, role, provider, chain), true
	}
	if cachedOnly {
		return validators.AWSFacts{}, false
	}

	var wg sync.WaitGroup
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
	return v.settleAll(ctx, facts, id, providerARN, via, role, provider, chain), true
}

// settleAll turns the three cache answers into facts. The logger is built only when an answer
// is stale or failed: building it allocates, on every warm review otherwise.
func (v *SDK) settleAll(ctx context.Context, facts validators.AWSFacts, id validators.Identity, providerARN, via string,
	role result[*validators.RoleFacts], provider result[*validators.ProviderFacts], chain result[*validators.ChainFacts]) validators.AWSFacts {
	log := func() logr.Logger { return v.log(ctx).WithValues("roleARN", id.RoleARN, "providerARN", providerARN) }
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
func settle[V any](log func() logr.Logger, facts *validators.AWSFacts, what, via string, r result[*V]) (*V, bool) {
	switch {
	case r.status == statusStale:
		log().V(1).Info("Serving stale AWS facts", "fact", what, "reason", Classify(r.err), "error", r.err.Error())
		facts.Stale = append(facts.Stale, validators.StaleFact{What: what, Age: r.age, Reason: string(Classify(r.err))})
		return r.val, false
	case r.err == nil:
		return r.val, false
	case IsNotFound(r.err):
		return nil, true
	}
	log().V(1).Info("Could not verify against AWS", "fact", what, "reason", Classify(r.err), "error", r.err.Error())
	reason := string(Classify(r.err))
	if via != "" {
		reason += " via " + via
	}
	facts.Unverified = append(facts.Unverified, validators.Unverified{What: what, Reason: reason})
	return nil, false
}

// log is the caller's logger.
func (v *SDK) log(ctx context.Context) logr.Logger { return logr.FromContextOrDiscard(ctx) }
