package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
	"github.com/irsa-guard/irsa-guard/webhook"
)

const (
	account = "111122223333"
	// issuer is the cluster issuer the state is written for; testenv stands a fake in for it.
	issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/50AC0000000000000000000000000000"
	// roles is how many IAM roles the ServiceAccounts use: with the 1 m positive TTL, far more
	// than stay cached between two uses at the soak's rate, so IAM is asked all along.
	roles = 300
	// inCluster is how many of the app-N ServiceAccounts exist in each namespace (the pods use them).
	inCluster = 50
)

var namespaces = map[string]string{"soak-warn": "warn", "soak-enforce": "enforce"}

// request is one prepared AdmissionReview: where it goes and its body.
type request struct {
	kind, path string // kind: "ServiceAccount" or "Pod"; path: the webhook path
	good       bool
	body       []byte
}

type world struct {
	requests []request // the mix, cycled through in order
}

// newWorld prepares the request mix: for every 10 requests, 5 ServiceAccounts (3 good, a missing
// role, a role that trusts another ServiceAccount, or a role-arn that is no ARN) and 5 Pods (4
// injected by pod-identity-webhook, 1 it missed).
func newWorld() *world {
	w := &world{}
	broken := 0
	for i := range 2 * roles {
		ns := "soak-warn"
		if i%2 == 1 {
			ns = "soak-enforce"
		}
		n := i % roles
		for j := range 5 {
			switch j {
			case 0, 1, 2:
				w.add("ServiceAccount", true, serviceAccount(ns, fmt.Sprintf("app-%d", n), roleARN(fmt.Sprintf("app-%d", n))))
			default:
				var sa *corev1.ServiceAccount
				switch broken % 3 {
				case 0:
					sa = serviceAccount(ns, fmt.Sprintf("app-%d", n), roleARN(fmt.Sprintf("gone-%d", n%100)))
				case 1:
					sa = serviceAccount(ns, fmt.Sprintf("other-%d", n), roleARN(fmt.Sprintf("app-%d", n)))
				default:
					sa = serviceAccount(ns, fmt.Sprintf("app-%d", n), "arn:aws:iam::12345:role/app")
				}
				broken++
				w.add("ServiceAccount", false, sa)
			}
		}
		sa := fmt.Sprintf("app-%d", n%inCluster)
		for j := range 5 {
			w.add("Pod", j != 4, pod(ns, sa, j != 4))
		}
	}
	return w
}

func (w *world) add(kind string, good bool, obj runtime.Object) {
	raw, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	path, resource := webhook.PathValidateServiceAccount, "serviceaccounts"
	if kind == "Pod" {
		path, resource = webhook.PathValidatePod, "pods"
	}
	ns := obj.(metav1.Object).GetNamespace()
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID(fmt.Sprintf("soak-%d", len(w.requests))), Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: resource}, Namespace: ns,
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw}, DryRun: ptr.To(false),
		},
	})
	if err != nil {
		panic(err)
	}
	w.requests = append(w.requests, request{kind: kind, path: path, good: good, body: body})
}

func roleARN(name string) string { return "arn:aws:iam::" + account + ":role/" + name }

func serviceAccount(ns, name, role string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{"eks.amazonaws.com/role-arn": role}},
	}
}

// pod is a pod of app SA, as pod-identity-webhook mutated it (injected) or as it left it.
func pod(ns, sa string, injected bool) *corev1.Pod {
	c := corev1.Container{Name: "app", Image: "public.ecr.aws/example/app:1.0.0"}
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: sa + "-", Labels: map[string]string{"app": sa}},
		Spec:       corev1.PodSpec{ServiceAccountName: sa},
	}
	if injected {
		c.Env = []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: roleARN(sa)}, {Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: testenv.PIWMountPath + "/token"}}
		c.VolumeMounts = []corev1.VolumeMount{{Name: testenv.PIWVolume, MountPath: testenv.PIWMountPath, ReadOnly: true}}
		p.Spec.Volumes = []corev1.Volume{{Name: testenv.PIWVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}}}}}}
	}
	p.Spec.Containers = []corev1.Container{c}
	return p
}

// stateYAML is AWS: roles app-0..app-N, each trusting app-N in both namespaces, and the provider.
func (w *world) stateYAML() []byte {
	hostPath := strings.TrimPrefix(issuer, "https://")
	var b strings.Builder
	fmt.Fprintf(&b, "callerAccount: %q\nclusters:\n  - {name: soak, region: us-west-2, issuer: %s}\naccounts:\n  %q:\n", account, issuer, account)
	fmt.Fprintf(&b, "    oidcProviders:\n      - {url: %s, clientIDs: [sts.amazonaws.com]}\n    roles:\n", issuer)
	for i := range roles {
		fmt.Fprintf(&b, `      - name: app-%d
        trustPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::%s:oidc-provider/%s"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"%s:aud":"sts.amazonaws.com","%s:sub":["system:serviceaccount:soak-warn:app-%d","system:serviceaccount:soak-enforce:app-%d"]}}}]}'
`, i, account, hostPath, hostPath, hostPath, i, i)
	}
	return []byte(b.String())
}

// createObjects creates pod-identity-webhook's configuration (never called: no pod is created in
// the API server), the namespaces and the ServiceAccounts the pods use, then labels each namespace
// with its mode (after, so the setup itself is never denied).
func (w *world) createObjects(ctx context.Context, env *testenv.Env) error {
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = rest.NoWarnings{}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := createPodIdentityWebhookConfiguration(ctx, cs, env.Config.CAData); err != nil {
		return err
	}
	for ns, mode := range namespaces {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			return err
		}
		for i := range inCluster {
			sa := serviceAccount(ns, fmt.Sprintf("app-%d", i), roleARN(fmt.Sprintf("app-%d", i)))
			if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
				return err
			}
		}
		patch := []byte(`{"metadata":{"labels":{"irsa-guard.io/mode":"` + mode + `"}}}`)
		if _, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// createPodIdentityWebhookConfiguration registers pod-identity-webhook's configuration as EKS does
// (never called here: no pod is created in the API server), so that IRSA050 ("pod-identity-webhook
// is not configured") does not fire. caBundle is the PEM CA EKS would give it.
func createPodIdentityWebhookConfiguration(ctx context.Context, cs kubernetes.Interface, caBundle []byte) error {
	url := "https://127.0.0.1:1/mutate"
	_, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "iam-for-pods.amazonaws.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore), SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	return err
}
