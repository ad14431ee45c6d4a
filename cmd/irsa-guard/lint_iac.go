package main

import (
	"context"
	"strings"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/iac"
	"github.com/irsa-guard/irsa-guard/validators"
)

// lintSources is lintFacts with the IaC of --iac laid over its source: the IaC answers for the
// roles and OIDC providers it defines, the AWS state or AWS itself for the rest. With --offline,
// or with no issuer or cluster, the IaC alone answers (what it does not define is not known). The
// cross-check of the IaC's trust with the manifests (IRSA080) needs no issuer; the AWS checks do.
func lintSources(ctx context.Context, opts lintOptions, cfg *config.Configuration) (awsfacts.Source, string, []validators.Finding, error) {
	if len(opts.iac) == 0 {
		if len(opts.iacParams) > 0 {
			return nil, "", nil, usageErrorf("--iac-param sets a value for the --iac files; give them with --iac FILE")
		}
		return lintFacts(ctx, opts, cfg)
	}
	if opts.trustPolicy != "" {
		return nil, "", nil, usageErrorf("--trust-policy checks one given policy; use --iac or --trust-policy, not both")
	}
	params, err := iacParams(opts.iacParams, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	var sets []*iac.Set
	for _, path := range opts.iac {
		set, err := iac.Load(path, params)
		if err != nil {
			return nil, "", nil, usageErrorf("--iac %s: %v", path, err)
		}
		sets = append(sets, set)
	}
	base, issuer, notes, err := lintFacts(ctx, opts, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	if base == nil {
		issuer = cfg.Cluster.Issuer
	}
	return awsfacts.NewIaCSource(iac.Merge(sets...), base, nil), issuer, notes, nil
}

// iacParams reads --iac-param KEY=VALUE and the pseudo parameters' flags.
func iacParams(kvs []string, cfg *config.Configuration) (iac.Params, error) {
	p := iac.Params{Values: map[string]string{}, Account: cfg.Cluster.Account, Partition: cfg.Cluster.Partition, Region: cfg.Cluster.Region}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return p, usageErrorf("--iac-param %q: use KEY=VALUE, e.g. --iac-param ClusterName=prod", kv)
		}
		p.Values[k] = v
	}
	return p, nil
}
