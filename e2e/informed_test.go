//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/server"
	"github.com/irsa-guard/irsa-guard/validators"
)

// TestAnalysedWebhookConfigurationFollowsTheCluster checks that serve's cluster view, which
// analyses pod-identity-webhook's configuration and keeps namespace labels when informer events
// arrive instead of per review, follows every change: a configuration created, its
// namespaceSelector changed, the namespace relabelled, the configuration deleted. After each
// change the reviews must show it within the informer's delivery time, and keep showing it.
func TestAnalysedWebhookConfigurationFollowsTheCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("informed-%d", time.Now().UnixNano()%100000)
	// Names of the test's own: the suite's pod-identity-webhook configurations are not this test's.
	cfg := config.Default()
	cfg.Cluster.PodIdentityWebhook.Configuration, cfg.Cluster.PodIdentityWebhook.Name = ns+"-piw", "iam-for-pods."+ns+".example.com"
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": "shop"}}}
	if err := testEnv.Client.Create(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = testEnv.Client.Delete(context.Background(), namespace) }()

	c, err := cache.New(testEnv.Config, server.CacheOptions(scheme))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := server.NewCluster(ctx, c, testEnv.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		t.Fatal("informer cache did not sync")
	}
	engine := review.New(cfg, review.Options{Cluster: cluster})
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cart",
		Annotations: map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::111122223333:role/cart"}}}
	expect := func(step string, want ...validators.CheckID) {
		t.Helper()
		var got []validators.CheckID
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			got = got[:0]
			for _, f := range engine.Review(ctx, review.Subject{Stage: review.StageAdmission, ServiceAccount: sa}) {
				got = append(got, f.Check)
			}
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: reviews never showed %v within 10s; last %v", step, want, got)
			}
		}
		for range 20 { // and it holds
			got = got[:0]
			for _, f := range engine.Review(ctx, review.Subject{Stage: review.StageAdmission, ServiceAccount: sa}) {
				got = append(got, f.Check)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: a later review showed %v, want %v", step, got, want)
			}
		}
	}

	expect("no configuration", validators.CheckWebhookMissing)

	url, none, ignore := "https://127.0.0.1:1/mutate", admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Ignore
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Cluster.PodIdentityWebhook.Configuration},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: cfg.Cluster.PodIdentityWebhook.Name, SideEffects: &none, FailurePolicy: &ignore, AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: testEnv.Webhook.CAData},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			// Only the test's namespace: no other test's pods are sent to this URL.
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns, "team": "shop"}},
		}},
	}
	if err := testEnv.Client.Create(ctx, mwc); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = testEnv.Client.Delete(context.Background(), mwc) }()
	expect("configuration created")

	mwc.Webhooks[0].NamespaceSelector.MatchLabels["team"] = "payments"
	if err := testEnv.Client.Update(ctx, mwc); err != nil {
		t.Fatal(err)
	}
	expect("namespaceSelector changed", validators.CheckWebhookCannotInject)

	namespace.Labels["team"] = "payments"
	if err := testEnv.Client.Update(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	expect("namespace relabelled")

	if err := testEnv.Client.Delete(ctx, mwc); err != nil {
		t.Fatal(err)
	}
	expect("configuration deleted", validators.CheckWebhookMissing)
}
