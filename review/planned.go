package review

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-guard/irsa-guard/validators"
)

// plannedRoles is what a facts source knows about IAM roles that infrastructure as code is about
// to create (awsfacts.IaCSource, for lint --iac).
type plannedRoles interface {
	PlannedRoles() []validators.PlannedRole
}

// plannedTrustFindings cross-checks the trust of the roles about to be created with the
// ServiceAccounts the cluster source knows (IRSA080): with lint, the manifests of the same change.
// It needs both: without planned roles or without a way to tell which ServiceAccounts exist, it
// says nothing.
func (e *Engine) plannedTrustFindings(ctx context.Context, sa *corev1.ServiceAccount, settings validators.WebhookSettings) []validators.Finding {
	src, ok := e.facts.(plannedRoles)
	if !ok || e.state == nil {
		return nil
	}
	roles := src.PlannedRoles()
	if len(roles) == 0 {
		return nil
	}
	var arn string
	if usesIRSA(sa) {
		arn, _, _ = settings.InjectedRoleARN(sa.Annotations[validators.AnnotationRoleARN])
	}
	defined := func(namespace, name string) bool {
		_, ok := e.state.ServiceAccount(ctx, namespace, name)
		return ok
	}
	return validators.CheckPlannedTrust(sa, arn, roles, defined)
}
