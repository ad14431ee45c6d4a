package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/time/rate"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// lintFacts picks lint's AWS facts source and the issuer from the flags: one trust policy
// (--trust-policy), none (--offline, or no issuer), an AWS state file (--aws-state) answered
// directly, or AWS itself through the SDK with the configured rate limit. The issuer is
// --issuer, else the one of --cluster from the source. notes are the findings about a given trust
// policy file itself (IAM would reject it, or reads part of it literally), as trust explain shows them.
func lintFacts(ctx context.Context, opts lintOptions, cfg *config.Configuration) (_ awsfacts.Source, issuer string, notes []validators.Finding, _ error) {
	issuer, cluster := cfg.Cluster.Issuer, cfg.Cluster.Name
	var src awsfacts.Source
	switch {
	case opts.trustPolicy != "":
		if opts.awsState != "" {
			return nil, "", nil, usageErrorf("--trust-policy checks one given policy; it cannot be combined with --aws-state")
		}
		if issuer == "" {
			return nil, "", nil, usageErrorf("--trust-policy needs --issuer: the cluster's OIDC issuer URL (aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer)")
		}
		doc, err := readTrustPolicy(opts.trustPolicy)
		if err != nil {
			return nil, "", nil, err
		}
		notes := validators.TrustPolicyNotes(validators.Object{Kind: "TrustPolicy", Name: opts.trustPolicy}, doc.Policy)
		return &awsfacts.PolicySource{Trust: doc}, issuer, notes, nil
	case opts.offline:
		if opts.awsState != "" {
			return nil, "", nil, usageErrorf("--offline runs no AWS checks; drop it to check against --aws-state")
		}
		return nil, "", nil, nil
	case issuer == "" && cluster == "":
		if opts.awsState != "" {
			return nil, "", nil, usageErrorf("--aws-state needs --issuer or --cluster: the AWS checks need the cluster's OIDC issuer")
		}
		return nil, "", nil, nil
	case opts.awsState != "":
		st, err := awsstate.LoadState(opts.awsState)
		if err != nil {
			return nil, "", nil, usageErrorf("--aws-state: %v", err)
		}
		src = awsfacts.NewStateSource(st, cfg.AWS.ReaderRoles, nil)
	default:
		sdk, err := newSDKSource(ctx, cfg, opts.issuerCA)
		if err != nil {
			return nil, "", nil, err
		}
		src = sdk
	}
	if issuer == "" {
		var err error
		if issuer, err = src.ClusterIssuer(ctx, cluster); err != nil {
			return nil, "", nil, err
		}
	}
	return src, issuer, nil, nil
}

// newSDKSource reads AWS through the SDK's default credential chain, with the configuration's
// rate limit (raise it with --iam-qps for one-shot runs) and reader roles.
func newSDKSource(ctx context.Context, cfg *config.Configuration, issuerCA string) (*awsfacts.SDK, error) {
	awsCfg, err := loadAWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	o := awsfacts.Options{
		Account: cfg.Cluster.Account, Partition: cfg.Cluster.Partition, ClusterRegion: cfg.Cluster.Region,
		ReaderRoles: cfg.AWS.ReaderRoles, RateLimit: rate.Limit(cfg.AWS.IAM.QPS), Burst: cfg.AWS.IAM.Burst,
	}
	if issuerCA != "" {
		if o.IssuerRoots, err = readCAs(issuerCA); err != nil {
			return nil, usageErrorf("--issuer-ca: %v", err)
		}
	}
	return awsfacts.NewSDK(awsCfg, o)
}

// readTrustPolicy reads a user's trust policy file; anything IAM would not accept is bad input.
func readTrustPolicy(path string) (validators.TrustDocument, error) {
	data, err := readPolicyFile(nil, path)
	if err != nil {
		return validators.TrustDocument{}, usageErrorf("--trust-policy %s: %v", path, err)
	}
	doc := validators.ParseTrustDocument(string(data))
	if doc.Err != nil {
		return doc, usageErrorf("--trust-policy %s: %v", path, doc.Err)
	}
	return doc, nil
}

func readCAs(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return certs, nil
}
