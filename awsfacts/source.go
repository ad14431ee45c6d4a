package awsfacts

import (
	"context"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Source answers the questions irsa-guard's checks ask of AWS. The review engine asks it; the
// validators turn its answers into findings. Two implementations: SDK reads AWS through
// aws-sdk-go-v2 (caches, a rate limit, bounded retries, metrics, the caller's deadline), and
// StateSource answers from an AWS state file directly, at file speed. PolicySource stands for
// one trust policy given on the command line, and IaCSource lays what infrastructure as code is
// about to create over another source.
//
// No method returns an error for what could not be read: that is part of the answer
// (AWSFacts.Unverified), so every front end fails open the same way.
type Source interface {
	// IdentityFacts is what AWS holds about one identity's role, OIDC provider and issuer chain.
	IdentityFacts(ctx context.Context, id validators.Identity) validators.AWSFacts
	// CallerAccount is the partition and account of the credentials in use (sts:GetCallerIdentity).
	CallerAccount(ctx context.Context) (partition, account string, err error)
	// ClusterIssuer is the OIDC issuer of the named EKS cluster (eks:DescribeCluster).
	ClusterIssuer(ctx context.Context, cluster string) (string, error)
	// PodIdentity is a ServiceAccount's EKS Pod Identity association in the named cluster and what
	// IAM holds about its role.
	PodIdentity(ctx context.Context, cluster, namespace, serviceAccount string) validators.PodIdentityFacts
}

var (
	_ Source = (*SDK)(nil)
	_ Source = (*StateSource)(nil)
	_ Source = (*PolicySource)(nil)
	_ Source = (*IaCSource)(nil)
)
