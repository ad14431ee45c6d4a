package validators

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

// Identity is what one ServiceAccount asks of AWS: "let tokens for this subject and audience,
// issued by this cluster, assume this role". The AWS-backed checks (IRSA010-035) verify it; the
// webhook and `irsa-guard lint` build it from a ServiceAccount and the cluster's issuer.
type Identity struct {
	Object         Object // the object findings are reported on (a ServiceAccount, or a workload naming it)
	Namespace      string
	ServiceAccount string
	RoleARN        string // the eks.amazonaws.com/role-arn annotation, verbatim
	Audience       string // eks.amazonaws.com/audience, "" meaning DefaultAudience
	Issuer         string // the cluster's OIDC issuer URL, https://...
	// Cluster is the EKS cluster's name when known ("" otherwise), for the fixes' commands.
	Cluster string
	// Call is what is known about the pod's sts:AssumeRoleWithWebIdentity call beyond the token:
	// the clock, the SDK's region and STS endpoint, the session name. A zero Now is filled in with
	// the time the AWS facts were read.
	Call WebIdentityCall
}

// EffectiveAudience is the audience the pod identity webhook will put in the projected token.
func (id Identity) EffectiveAudience() string {
	if id.Audience == "" {
		return DefaultAudience
	}
	return id.Audience
}

// Subject is the token's sub claim for this ServiceAccount.
func (id Identity) Subject() string { return ServiceAccountSubject(id.Namespace, id.ServiceAccount) }

// IdentityOf is the Identity a ServiceAccount asks AWS for, reported on obj; ok is false when
// the ServiceAccount has no role-arn annotation and so asks for nothing.
func IdentityOf(obj Object, sa *corev1.ServiceAccount, issuer string) (id Identity, ok bool) {
	role, ok := sa.Annotations[AnnotationRoleARN]
	if !ok {
		return Identity{}, false
	}
	return Identity{
		Object: obj, Namespace: sa.Namespace, ServiceAccount: sa.Name,
		RoleARN: role, Audience: sa.Annotations[AnnotationAudience], Issuer: issuer,
	}, true
}

// TrustInput is CheckTrust's input for this identity and the role's trust policy.
func (id Identity) TrustInput(policy *trustpolicy.Policy) TrustInput {
	return TrustInput{Policy: policy, RoleARN: id.RoleARN, Issuer: id.Issuer,
		Namespace: id.Namespace, ServiceAccount: id.ServiceAccount, Audience: id.Audience, Call: id.Call}
}
