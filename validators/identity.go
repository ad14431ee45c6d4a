package validators

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
