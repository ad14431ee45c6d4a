package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/config"
)

func plainPod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", GenerateName: "cart-"},
		Spec:       corev1.PodSpec{ServiceAccountName: "cart", Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
	}
}

func TestPodAdmissionFlagsAMissedInjection(t *testing.T) {
	d, ev, cluster := deps(t, config.ModeWarn, goodFacts, namespace(nil), piwConfig())
	// The ServiceAccount was created a moment ago: only the direct API read has it.
	cluster.API = fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(serviceAccount(goodRole)).Build()
	h := admission.WithValidator[*corev1.Pod](scheme(t), &PodValidator{Deps: d})
	resp := send(t, h, admissionv1.Create, plainPod(), nil, false)
	want := `IRSA040: container "app" got no IRSA env or token: pod-identity-webhook did not mutate it`
	if !resp.Allowed || len(resp.Warnings) != 1 || resp.Warnings[0] != want {
		t.Fatalf("allowed %v warnings %q, want [%q]", resp.Allowed, resp.Warnings, want)
	}
	if len(ev.events) != 0 {
		t.Errorf("pods get no events, got %+v", ev.events)
	}
}

func TestPodAdmissionWithoutPodIdentityWebhook(t *testing.T) {
	d, _, _ := deps(t, config.ModeEnforce, goodFacts, namespace(nil), serviceAccount(goodRole))
	h := admission.WithValidator[*corev1.Pod](scheme(t), &PodValidator{Deps: d})
	resp := send(t, h, admissionv1.Create, plainPod(), nil, false)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "IRSA050: no pod-identity-webhook MutatingWebhookConfiguration") ||
		!strings.Contains(resp.Result.Message, "IRSA040") {
		t.Fatalf("want a denial naming IRSA040 and IRSA050, got %+v", resp.Result)
	}
}

func TestPodWithoutIRSAIsSilent(t *testing.T) {
	d, _, _ := deps(t, config.ModeEnforce, noAWS(t), namespace(nil), serviceAccount(""))
	h := admission.WithValidator[*corev1.Pod](scheme(t), &PodValidator{Deps: d})
	if resp := send(t, h, admissionv1.Create, plainPod(), nil, false); !resp.Allowed || len(resp.Warnings) != 0 {
		t.Fatalf("got %+v", resp)
	}
}

func staticAccount(partition, account string) AccountFunc {
	return func(context.Context) (string, string, error) { return partition, account, nil }
}

func patchOps(t *testing.T, resp *admissionv1.AdmissionResponse) []map[string]any {
	t.Helper()
	if resp.Patch == nil {
		return nil
	}
	var ops []map[string]any
	if err := json.Unmarshal(resp.Patch, &ops); err != nil {
		t.Fatal(err)
	}
	return ops
}

func TestComposeFixer(t *testing.T) {
	h := MutatingWebhook[*corev1.ServiceAccount](scheme(t), &ServiceAccountDefaulter{Compose: true, Accounts: staticAccount("aws-cn", "111122223333")}, time.Second)
	resp := send(t, h, admissionv1.Create, serviceAccount("cart"), nil, false)
	ops := patchOps(t, resp)
	if !resp.Allowed || len(ops) != 1 || ops[0]["op"] != "replace" ||
		ops[0]["path"] != "/metadata/annotations/eks.amazonaws.com~1role-arn" || ops[0]["value"] != "arn:aws-cn:iam::111122223333:role/cart" {
		t.Fatalf("patch = %v", ops)
	}
	if len(resp.Warnings) != 1 || resp.Warnings[0] != `irsa-guard: expanded role-arn "cart" to arn:aws-cn:iam::111122223333:role/cart` {
		t.Errorf("warnings = %q", resp.Warnings)
	}
	// Reinvocation sees the full ARN and changes nothing.
	again := send(t, h, admissionv1.Create, serviceAccount("arn:aws-cn:iam::111122223333:role/cart"), nil, false)
	if again.Patch != nil || len(again.Warnings) != 0 {
		t.Errorf("second pass patched %s / warned %q", again.Patch, again.Warnings)
	}
	off := MutatingWebhook[*corev1.ServiceAccount](scheme(t), &ServiceAccountDefaulter{Accounts: staticAccount("aws", "111122223333")}, time.Second)
	if r := send(t, off, admissionv1.Create, serviceAccount("cart"), nil, false); r.Patch != nil {
		t.Errorf("a disabled fixer patched: %s", r.Patch)
	}
}

func TestFSGroupFixer(t *testing.T) {
	mode := int32(0o600)
	uid1, uid2 := int64(1000), int64(2000)
	pod := plainPod()
	pod.Spec.Containers = []corev1.Container{
		{Name: "app", SecurityContext: &corev1.SecurityContext{RunAsUser: &uid1}, VolumeMounts: []corev1.VolumeMount{{Name: "aws-iam-token", MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount"}},
			Env: []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: goodRole}, {Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}}},
		{Name: "sidecar", SecurityContext: &corev1.SecurityContext{RunAsUser: &uid2}},
	}
	pod.Spec.Volumes = []corev1.Volume{{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: &mode, Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", Path: "token"}}}}}}}
	h := MutatingWebhook[*corev1.Pod](scheme(t), &PodDefaulter{FSGroup: true, GroupID: 65534}, time.Second)
	resp := send(t, h, admissionv1.Create, pod, nil, false)
	ops := patchOps(t, resp)
	if len(ops) != 1 || ops[0]["op"] != "add" || ops[0]["path"] != "/spec/securityContext" ||
		ops[0]["value"].(map[string]any)["fsGroup"] != float64(65534) {
		t.Fatalf("patch = %v", ops)
	}
	if len(resp.Warnings) != 1 || !strings.HasPrefix(resp.Warnings[0], "irsa-guard: set spec.securityContext.fsGroup=65534") {
		t.Errorf("warnings = %q", resp.Warnings)
	}
	if r := send(t, h, admissionv1.Create, plainPod(), nil, false); r.Patch != nil || len(r.Warnings) != 0 {
		t.Errorf("a pod without IRSA was patched: %s %q", r.Patch, r.Warnings)
	}
}
