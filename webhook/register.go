package webhook

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// The webhook paths. The Helm chart's webhook configurations and the e2e suite use these.
const (
	PathValidateServiceAccount = "/validate-serviceaccount"
	PathValidatePod            = "/validate-pod"
	PathMutateServiceAccount   = "/mutate-serviceaccount"
	PathMutatePod              = "/mutate-pod"
)

// Fixers configures the opt-in mutating webhooks; each is off by default.
type Fixers struct {
	ComposeRoleARN bool
	Accounts       AccountSource
	FSGroup        bool
	FSGroupID      int64
}

// Register adds all four handlers to srv. The mutating paths are always served (and no-ops
// when their fixer is off) so a chart that enables one does not depend on the other. Each path
// answers within d.Budget.
func Register(srv crwebhook.Server, scheme *runtime.Scheme, d *Deps, f Fixers) {
	srv.Register(PathValidateServiceAccount, admission.WithValidator[*corev1.ServiceAccount](scheme, &ServiceAccountValidator{Deps: d}))
	srv.Register(PathValidatePod, admission.WithValidator[*corev1.Pod](scheme, &PodValidator{Deps: d}))
	srv.Register(PathMutateServiceAccount, MutatingWebhook[*corev1.ServiceAccount](scheme, &ServiceAccountDefaulter{Compose: f.ComposeRoleARN, Accounts: f.Accounts}, d.Budget))
	srv.Register(PathMutatePod, MutatingWebhook[*corev1.Pod](scheme, &PodDefaulter{FSGroup: f.FSGroup, GroupID: f.FSGroupID}, d.Budget))
}
