// Package kubefacts answers what irsa-guard's checks ask of the Kubernetes cluster: a pod's
// ServiceAccount, a namespace's labels, the mutating webhook configurations (pod-identity-webhook
// among them), and the cluster's OIDC issuer. Reader answers from a controller-runtime reader (the
// webhook server's informer cache); Manifests from the objects being linted.
package kubefacts

import (
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Reader answers from Cache (informers: ServiceAccounts, Namespaces, MutatingWebhookConfigurations)
// and reads a ServiceAccount from API when the cache has not seen it yet: the
// ServiceAccount-created-just-before-the-pod race that pod-identity-webhook's
// --service-account-lookup-grace-period works around.
type Reader struct {
	Cache client.Reader
	API   client.Reader // nil: no fallback
}

// ServiceAccount reads a ServiceAccount; ok is false when it does not exist or cannot be read.
func (r *Reader) ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, bool) {
	sa := &corev1.ServiceAccount{}
	key := client.ObjectKey{Namespace: namespace, Name: name}
	err := r.Cache.Get(ctx, key, sa)
	if apierrors.IsNotFound(err) && r.API != nil {
		err = r.API.Get(ctx, key, sa)
	}
	if err != nil {
		logf.FromContext(ctx).V(1).Info("ServiceAccount not readable", "serviceAccount", name, "err", err.Error())
		return nil, false
	}
	return sa, true
}

// NamespaceLabels reads a namespace's labels; ok is false when it cannot be read.
func (r *Reader) NamespaceLabels(ctx context.Context, namespace string) (map[string]string, bool) {
	n := &corev1.Namespace{}
	if err := r.Cache.Get(ctx, client.ObjectKey{Name: namespace}, n); err != nil {
		logf.FromContext(ctx).V(1).Info("Namespace not readable", "namespace", namespace, "err", err.Error())
		return nil, false
	}
	return n.Labels, true
}

// MutatingWebhookConfigurations lists them; ok is false when they cannot be listed (irsa-guard
// then never guesses that pod-identity-webhook is missing).
func (r *Reader) MutatingWebhookConfigurations(ctx context.Context) ([]admissionregistrationv1.MutatingWebhookConfiguration, bool) {
	var list admissionregistrationv1.MutatingWebhookConfigurationList
	if err := r.Cache.List(ctx, &list); err != nil {
		logf.FromContext(ctx).Error(err, "Cannot list MutatingWebhookConfigurations")
		return nil, false
	}
	return list.Items, true
}

// Manifests answers from the manifests being linted: the ServiceAccounts they define, by
// namespace and name as written (a manifest without a namespace is matched only by one without).
// Nothing else about the cluster is known.
type Manifests struct {
	serviceAccounts map[string]*corev1.ServiceAccount
}

// NewManifests indexes the ServiceAccounts of a set of manifests.
func NewManifests(serviceAccounts []*corev1.ServiceAccount) *Manifests {
	m := &Manifests{serviceAccounts: map[string]*corev1.ServiceAccount{}}
	for _, sa := range serviceAccounts {
		m.serviceAccounts[sa.Namespace+"/"+sa.Name] = sa
	}
	return m
}

// ServiceAccount returns the ServiceAccount the manifests define, if any.
func (m *Manifests) ServiceAccount(_ context.Context, namespace, name string) (*corev1.ServiceAccount, bool) {
	sa, ok := m.serviceAccounts[namespace+"/"+name]
	return sa, ok
}

// NamespaceLabels are not known from manifests.
func (m *Manifests) NamespaceLabels(context.Context, string) (map[string]string, bool) {
	return nil, false
}

// MutatingWebhookConfigurations are not known from manifests.
func (m *Manifests) MutatingWebhookConfigurations(context.Context) ([]admissionregistrationv1.MutatingWebhookConfiguration, bool) {
	return nil, false
}
