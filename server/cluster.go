package server

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/validators"
)

// CacheOptions are the informer cache's options in serve: managed fields stripped from cached
// objects. The benchmarks build their cache with them too, so they measure serve's cache.
func CacheOptions(scheme *runtime.Scheme) cache.Options {
	return cache.Options{Scheme: scheme, DefaultTransform: cache.TransformStripManagedFields()}
}

// NewCluster is what the review engine reads about the cluster in serve: the informer cache c
// (api on a ServiceAccount miss), with pod-identity-webhook's configuration analysed and the
// namespaces' labels kept by event handlers when they change, never per review. It starts the
// informers with c, not on the first request: what the checks read from the cluster is watched,
// never fetched per request.
func NewCluster(ctx context.Context, c cache.Cache, api client.Reader, cfg *config.Configuration) (*kubefacts.Informed, error) {
	cluster, err := kubefacts.NewInformed(ctx, c, api, validators.PodIdentityWebhookNames{
		Configuration: cfg.Cluster.PodIdentityWebhook.Configuration, Webhook: cfg.Cluster.PodIdentityWebhook.Name})
	if err != nil {
		return nil, err
	}
	for _, obj := range []client.Object{&corev1.ServiceAccount{}, &corev1.Namespace{}, &admissionregistrationv1.MutatingWebhookConfiguration{}} {
		if _, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return nil, fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	return cluster, nil
}
