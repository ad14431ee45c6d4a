//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// createNamespace creates a namespace named after the test and deletes it when the test ends. The
// envtest control plane runs no controllers, so the namespace has no default ServiceAccount.
func createNamespace(t *testing.T, ctx context.Context) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 63 {
		name = name[:63]
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := testEnv.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = testEnv.Clientset.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

func TestClientGoAndKubectlSeeTheSameServiceAccount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := createNamespace(t, ctx)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:        "app",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app"},
	}}
	if _, err := testEnv.Clientset.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ServiceAccount: %v", err)
	}

	res := testEnv.Kubectl(ctx, "get", "sa", "-n", ns, "-o", "name")
	if res.ExitCode != 0 || res.Stdout != "serviceaccount/app\n" {
		t.Fatalf("kubectl get sa -o name: want exactly serviceaccount/app, got %s", res)
	}
	res = testEnv.Kubectl(ctx, "get", "sa", "app", "-n", ns, "-o", `jsonpath={.metadata.annotations.eks\.amazonaws\.com/role-arn}`)
	if res.ExitCode != 0 || res.Stdout != "arn:aws:iam::111122223333:role/app" {
		t.Fatalf("kubectl jsonpath role-arn: got %s", res)
	}
	res = testEnv.Kubectl(ctx, "get", "sa", "missing", "-n", ns)
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, `serviceaccounts "missing" not found`) {
		t.Fatalf("kubectl get of a missing ServiceAccount: want exit 1 and NotFound, got %s", res)
	}
}

func TestKubectlVersionParsesTheStampedBuild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := testEnv.Kubectl(ctx, "version", "-o", "json")
	if res.ExitCode != 0 {
		t.Fatalf("kubectl version: %s", res)
	}
	var got struct {
		ClientVersion struct{ GitVersion, Major, Minor string }
		ServerVersion struct{ GitVersion, Major, Minor string }
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("kubectl version -o json printed invalid JSON: %v\n%s", err, res.Stdout)
	}
	for side, v := range map[string]struct{ GitVersion, Major, Minor string }{"client": got.ClientVersion, "server": got.ServerVersion} {
		if v.GitVersion != "v1.37.2" || v.Major != "1" || v.Minor != "37" {
			t.Errorf("%s version: want v1.37.2 (1.37), got %+v", side, v)
		}
	}
}

// TestWebhookServingReachesALocalServer shows the path the webhook tests use: a webhook configuration
// that names a Service (as the chart's do) is rewritten by InstallWebhooks to call a server listening
// on testEnv.Webhook with the certificates from testEnv.Webhook.CertDir, and kubectl shows its
// warnings and denials.
func TestWebhookServingReachesALocalServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := createNamespace(t, ctx)

	server := webhook.NewServer(webhook.Options{Host: testEnv.Webhook.Host, Port: testEnv.Webhook.Port, CertDir: testEnv.Webhook.CertDir})
	server.Register("/validate-serviceaccount", &admission.Webhook{Handler: admission.HandlerFunc(
		func(_ context.Context, req admission.Request) admission.Response {
			sa := &corev1.ServiceAccount{}
			if err := json.Unmarshal(req.Object.Raw, sa); err != nil {
				return admission.Errored(400, err)
			}
			if sa.Labels["verdict"] == "deny" {
				return admission.Denied("IRSA001: test denial for " + sa.Name)
			}
			return admission.Allowed("").WithWarnings("IRSA002: test warning for " + sa.Name)
		})})
	serverCtx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- server.Start(serverCtx) }()
	t.Cleanup(func() {
		stopServer()
		if err := <-served; err != nil {
			t.Errorf("webhook server: %v", err)
		}
	})

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-harness-" + ns},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "serviceaccounts.e2e.irsa-guard.io",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: "irsa-guard", Name: "irsa-guard", Path: ptr.To("/validate-serviceaccount"),
			}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"serviceaccounts"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{admissionv1.SchemeGroupVersion.Version},
			TimeoutSeconds:          ptr.To[int32](3),
		}},
	}
	if err := testEnv.InstallWebhooks(ctx, nil, []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = testEnv.Client.Delete(context.Background(), vwc)
	})
	if got, want := *vwc.Webhooks[0].ClientConfig.URL, fmt.Sprintf("https://%s:%d//validate-serviceaccount", testEnv.Webhook.Host, testEnv.Webhook.Port); got != want {
		t.Errorf("rewritten webhook URL: got %s, want %s", got, want)
	}

	// With failurePolicy Fail, an admission before the server listens would be rejected: wait for TLS.
	started := server.StartedChecker()
	for err := started(nil); err != nil; err = started(nil) {
		if ctx.Err() != nil {
			t.Fatalf("webhook server on %s:%d never started: %v", testEnv.Webhook.Host, testEnv.Webhook.Port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res := testEnv.Kubectl(ctx, "create", "sa", "good", "-n", ns)
	if res.ExitCode != 0 || !strings.Contains(res.Stderr, "Warning: IRSA002: test warning for good") {
		t.Fatalf("kubectl create sa good: want success with the webhook's warning on stderr, got %s", res)
	}

	manifest := fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: bad\n  namespace: %s\n  labels:\n    verdict: deny\n", ns)
	res = testEnv.KubectlWithInput(ctx, []byte(manifest), "apply", "--dry-run=server", "-f", "-")
	want := `admission webhook "serviceaccounts.e2e.irsa-guard.io" denied the request: IRSA001: test denial for bad`
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) {
		t.Fatalf("kubectl apply --dry-run=server of a denied ServiceAccount: want exit 1 and %q, got %s", want, res)
	}
}
