package awsfacts

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/irsa-guard/irsa-guard/validators"
)

// ClusterIssuer is the OIDC issuer of an EKS cluster, from eks:DescribeCluster in the cluster's
// region (Options.ClusterRegion, else the config's), cached like a role.
func (v *SDK) ClusterIssuer(ctx context.Context, cluster string) (string, error) {
	r := v.issuers.get(ctx, cluster, func(ctx context.Context) (string, error) {
		start := time.Now()
		out, err := v.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cluster)})
		v.metrics.observe("DescribeCluster", start, err)
		if err != nil {
			return "", fmt.Errorf("read the OIDC issuer of EKS cluster %q (eks:DescribeCluster): %w", cluster, err)
		}
		if out.Cluster == nil || out.Cluster.Identity == nil || out.Cluster.Identity.Oidc == nil || aws.ToString(out.Cluster.Identity.Oidc.Issuer) == "" {
			return "", fmt.Errorf("EKS cluster %q has no OIDC issuer", cluster)
		}
		issuer := aws.ToString(out.Cluster.Identity.Oidc.Issuer)
		if err := validators.ValidateIssuer(issuer); err != nil {
			return "", fmt.Errorf("EKS cluster %q: %w", cluster, err)
		}
		return issuer, nil
	})
	return r.val, r.err
}
