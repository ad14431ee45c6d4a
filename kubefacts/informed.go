package kubefacts

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Informed answers like Reader from serve's informer cache, and keeps ready what depends only on
// cluster state, recomputed by the informers' event handlers when that state changes instead of
// on every review: the pod-identity-webhook configuration, analysed (IRSA050/051), and every
// namespace's labels (its irsa-guard mode, the webhook's namespaceSelector). Until a handler has
// seen its informer's initial list, and for a namespace it has not seen yet, Informed answers
// from the cache as Reader does, so a review never gets a staler answer than the cache's.
type Informed struct {
	Reader
	names validators.PodIdentityWebhookNames

	webhooks       atomic.Pointer[webhookSnapshot]
	webhooksSynced func() bool
	namespaces     sync.Map // namespace name -> map[string]string, replaced (never changed) on an update
	nsSynced       func() bool
}

// webhookSnapshot is one state of the MutatingWebhookConfigurations and its analysis.
type webhookSnapshot struct {
	configs  []admissionregistrationv1.MutatingWebhookConfiguration
	analysis *validators.PodIdentityWebhooks
}

// NewInformed registers event handlers on c's Namespace and MutatingWebhookConfiguration
// informers (creating them, without waiting for them to sync) and answers ServiceAccounts from c,
// then api on a miss (nil: no fallback). names recognise pod-identity-webhook, as the engine's
// configuration does.
func NewInformed(ctx context.Context, c cache.Cache, api client.Reader, names validators.PodIdentityWebhookNames) (*Informed, error) {
	in := &Informed{Reader: Reader{Cache: c, API: api}, names: names}
	log := logf.FromContext(ctx).WithName("kubefacts")
	refresh := func() {
		var list admissionregistrationv1.MutatingWebhookConfigurationList
		if err := c.List(context.WithoutCancel(ctx), &list); err != nil {
			log.Error(err, "Cannot list MutatingWebhookConfigurations")
			in.webhooks.Store(nil) // reviews list them themselves, and say so if they cannot
			return
		}
		in.webhooks.Store(&webhookSnapshot{configs: list.Items, analysis: validators.AnalysePodIdentityWebhooks(list.Items, names)})
	}
	var err error
	in.webhooksSynced, err = addHandler(ctx, c, &admissionregistrationv1.MutatingWebhookConfiguration{}, toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { refresh() },
		UpdateFunc: func(any, any) { refresh() },
		DeleteFunc: func(any) { refresh() },
	})
	if err != nil {
		return nil, err
	}
	setNamespace := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok {
			in.namespaces.Store(ns.Name, maps.Clone(ns.Labels))
		}
	}
	in.nsSynced, err = addHandler(ctx, c, &corev1.Namespace{}, toolscache.ResourceEventHandlerFuncs{
		AddFunc:    setNamespace,
		UpdateFunc: func(_, obj any) { setNamespace(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if ns, ok := obj.(*corev1.Namespace); ok {
				in.namespaces.Delete(ns.Name)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// addHandler adds h to obj's informer in c and returns whether h has seen the initial list.
func addHandler(ctx context.Context, c cache.Cache, obj client.Object, h toolscache.ResourceEventHandler) (func() bool, error) {
	inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, fmt.Errorf("watch %T: %w", obj, err)
	}
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return nil, fmt.Errorf("watch %T: %w", obj, err)
	}
	return reg.HasSynced, nil
}

// NamespaceLabels are a namespace's labels as the last event left them. The map is shared:
// callers must not change it.
func (in *Informed) NamespaceLabels(ctx context.Context, namespace string) (map[string]string, bool) {
	if in.nsSynced() {
		if l, ok := in.namespaces.Load(namespace); ok {
			return l.(map[string]string), true
		}
	}
	return in.Reader.NamespaceLabels(ctx, namespace)
}

// MutatingWebhookConfigurations are the configurations as the last event left them. The slice is
// shared: callers must not change it.
func (in *Informed) MutatingWebhookConfigurations(ctx context.Context) ([]admissionregistrationv1.MutatingWebhookConfiguration, bool) {
	if s := in.snapshot(); s != nil {
		return s.configs, true
	}
	return in.Reader.MutatingWebhookConfigurations(ctx)
}

// PodIdentityWebhooks is pod-identity-webhook's configuration as analysed when it last changed;
// ok is false until the first analysis (the engine then analyses the listed configurations itself).
func (in *Informed) PodIdentityWebhooks(context.Context) (*validators.PodIdentityWebhooks, bool) {
	if s := in.snapshot(); s != nil {
		return s.analysis, true
	}
	return nil, false
}

func (in *Informed) snapshot() *webhookSnapshot {
	if !in.webhooksSynced() {
		return nil
	}
	return in.webhooks.Load()
}
