package awsfacts

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/go-logr/logr"

	"github.com/irsa-guard/irsa-guard/validators"
)

// PodIdentity reads a ServiceAccount's EKS Pod Identity association
// (eks:ListPodIdentityAssociations filtered by namespace and ServiceAccount, then
// eks:DescribePodIdentityAssociation for its role) and what IAM holds about that role, through
// the same caches, rate limit, retryer and metrics as the IAM lookups. "No association" is an
// answer and is cached like one.
func (v *SDK) PodIdentity(ctx context.Context, cluster, namespace, serviceAccount string) validators.PodIdentityFacts {
	facts := validators.PodIdentityFacts{Now: v.opts.Clock(), Cluster: cluster}
	key := cluster + "/" + namespace + "/" + serviceAccount
	r := v.associations.get(ctx, key, func(ctx context.Context) (*validators.PodIdentityAssociation, error) {
		return v.association(ctx, cluster, namespace, serviceAccount)
	})
	switch {
	case r.err != nil && IsNotFound(r.err):
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "EKS Pod Identity association",
			Reason: fmt.Sprintf("EKS cluster %s not found; check cluster.name and cluster.region", validators.Quote(cluster, 40))})
		return facts
	case r.err != nil && r.status != statusStale:
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "EKS Pod Identity association", Reason: string(Classify(r.err))})
		return facts
	}
	facts.Association = r.val
	if facts.Association == nil {
		return facts
	}
	ref, err := validators.ParseRoleARN(facts.Association.RoleARN)
	if err != nil {
		return facts
	}
	client, via, why := v.iamFor(ctx, ref)
	if client == nil {
		facts.Unverified = append(facts.Unverified, validators.Unverified{What: "Pod Identity role", Reason: why})
		return facts
	}
	role := v.roles.get(ctx, facts.Association.RoleARN, func(ctx context.Context) (*validators.RoleFacts, error) {
		return v.getRole(ctx, client, ref.Name)
	})
	var aws validators.AWSFacts
	facts.Role, facts.RoleNotFound = settle(func() logr.Logger { return v.log(ctx) }, &aws, "Pod Identity role", via, role)
	facts.Unverified = append(facts.Unverified, aws.Unverified...)
	return facts
}

// association asks EKS for the ServiceAccount's association; nil means it has none.
func (v *SDK) association(ctx context.Context, cluster, namespace, serviceAccount string) (*validators.PodIdentityAssociation, error) {
	start := time.Now()
	list, err := v.eks.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String(cluster), Namespace: aws.String(namespace), ServiceAccount: aws.String(serviceAccount),
	})
	v.metrics.observe("ListPodIdentityAssociations", start, err)
	if err != nil {
		return nil, fmt.Errorf("list the EKS Pod Identity associations of %s/%s in cluster %s: %w", namespace, serviceAccount, cluster, err)
	}
	for _, a := range list.Associations {
		// EKS filters by namespace and ServiceAccount; compare anyway, so a filter the API
		// ignored can never attribute another ServiceAccount's association.
		if aws.ToString(a.Namespace) != namespace || aws.ToString(a.ServiceAccount) != serviceAccount {
			continue
		}
		start := time.Now()
		out, err := v.eks.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
			ClusterName: aws.String(cluster), AssociationId: a.AssociationId,
		})
		v.metrics.observe("DescribePodIdentityAssociation", start, err)
		if err != nil {
			return nil, fmt.Errorf("describe EKS Pod Identity association %s: %w", aws.ToString(a.AssociationId), err)
		}
		if out.Association == nil {
			return nil, fmt.Errorf("describe EKS Pod Identity association %s: response has no association", aws.ToString(a.AssociationId))
		}
		return &validators.PodIdentityAssociation{
			ID: aws.ToString(out.Association.AssociationId), RoleARN: aws.ToString(out.Association.RoleArn),
			TargetRoleARN: aws.ToString(out.Association.TargetRoleArn), DisableSessionTags: aws.ToBool(out.Association.DisableSessionTags),
		}, nil
	}
	return nil, nil
}
