//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// realPIWIssuer is the EKS-style issuer of the real-webhook world; StartFakeAWS serves it on loopback.
const realPIWIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/B1E2E0000000000000000000000000AB"

// realPIWValues are the chart values of the real-webhook world: no fixers, so the ServiceAccounts and
// pods are stored as written and only the real webhook changes them; and irsa-guard is told how that
// webhook runs, as an admin would tell it (regional STS, default region, --compose-role-arn).
const realPIWValues = `config:
  shutdownDelay: 0s
  podIdentityWebhook:
    composeRoleARN: true
    regionalSTS: "true"
    defaultRegion: us-west-2
`

// trustedSA is a ServiceAccount of the real-webhook world and how its role trusts it.
type trustedSA struct {
	namespace, name string
	// audience is the aud the role's trust policy and the OIDC provider accept (default sts.amazonaws.com).
	audience string
	// podIdentityOnly: the role trusts EKS Pod Identity (pods.eks.amazonaws.com) and not the cluster's
	// OIDC provider, as after a migration to Pod Identity that kept the role-arn annotation.
	podIdentityOnly bool
	// podIdentityToo: the role trusts both, as during such a migration.
	podIdentityToo bool
}

// realPIWState is an AWS state with one role per ServiceAccount, named piw-<name>, that trusts exactly
// that ServiceAccount, so every IRSA finding irsa-guard reports on these pods is about the pod.
func realPIWState(sas []trustedSA) []byte {
	host := strings.TrimPrefix(realPIWIssuer, "https://")
	provider := "arn:aws:iam::111122223333:oidc-provider/" + host
	audiences := []string{"sts.amazonaws.com"}
	var roles []any
	for _, sa := range sas {
		aud := sa.audience
		if aud == "" {
			aud = "sts.amazonaws.com"
		}
		if !slices.Contains(audiences, aud) {
			audiences = append(audiences, aud)
		}
		irsa := map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]any{
				host + ":sub": "system:serviceaccount:" + sa.namespace + ":" + sa.name,
				host + ":aud": aud,
			}},
		}
		podIdentity := map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "pods.eks.amazonaws.com"},
			"Action": []string{"sts:AssumeRole", "sts:TagSession"},
		}
		statements := []any{irsa}
		switch {
		case sa.podIdentityOnly:
			statements = []any{podIdentity}
		case sa.podIdentityToo:
			statements = append(statements, podIdentity)
		}
		roles = append(roles, map[string]any{"name": "piw-" + sa.name,
			"trustPolicy": map[string]any{"Version": "2012-10-17", "Statement": statements}})
	}
	state := map[string]any{
		"partition": "aws", "callerAccount": "111122223333",
		"clusters": []any{map[string]any{"name": "piw", "region": "us-west-2", "issuer": realPIWIssuer}},
		"accounts": map[string]any{"111122223333": map[string]any{
			"oidcProviders": []any{map[string]any{"url": realPIWIssuer, "clientIDs": audiences,
				"thumbprints": []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}}},
			"roles": roles,
		}},
	}
	out, err := sigsyaml.Marshal(state)
	if err != nil {
		panic(err) // plain maps and strings always marshal
	}
	return out
}

// requireRealPIW skips the test when the real webhook's source is missing (a plain clone), unless
// IRSA_GUARD_PIW=real says the run must have it.
func requireRealPIW(t *testing.T, root string) {
	t.Helper()
	if _, err := testenv.PIWSource(root); errors.Is(err, testenv.ErrPIWSourceMissing) && os.Getenv(testenv.PIWInjectorEnv) != string(testenv.InjectorReal) {
		t.Skipf("needs the real pod-identity-webhook: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// startRealPIW starts the real webhook with o for the rest of the test.
func startRealPIW(t *testing.T, ctx context.Context, root string, o testenv.PodIdentityWebhookOptions) *testenv.PodIdentityWebhook {
	t.Helper()
	o.Root, o.Dir, o.Injector, o.Logf = root, t.TempDir(), testenv.InjectorReal, t.Logf
	piw, err := testenv.StartPodIdentityWebhook(ctx, testEnv, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pod-identity-webhook log (last 40 lines):\n%s", piw.LogTail(40))
		}
		if err := piw.Stop(); err != nil {
			t.Error(err)
		}
	})
	return piw
}

// podSpec is a pod of the real-webhook world: containers named by names, each with env given as
// NAME=value pairs after a colon ("app:AWS_REGION=eu-west-1").
type podSpec struct {
	namespace, name, serviceAccount string
	labels, annotations             map[string]string
	containers                      []string
}

// yaml renders the pod as a kubectl manifest.
func (p podSpec) yaml() []byte {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.name, Labels: p.labels, Annotations: p.annotations},
		Spec:       corev1.PodSpec{ServiceAccountName: p.serviceAccount},
	}
	containers := p.containers
	if len(containers) == 0 {
		containers = []string{"app"}
	}
	for _, c := range containers {
		name, envs, _ := strings.Cut(c, ":")
		container := corev1.Container{Name: name, Image: "public.ecr.aws/example/" + name + ":1.0.0"}
		for kv := range strings.SplitSeq(envs, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				container.Env = append(container.Env, corev1.EnvVar{Name: k, Value: v})
			}
		}
		pod.Spec.Containers = append(pod.Spec.Containers, container)
	}
	out, err := sigsyaml.Marshal(pod)
	if err != nil {
		panic(err)
	}
	return out
}

// applyPod creates the pod with the real kubectl and returns it as stored with kubectl's warnings.
func applyPod(t *testing.T, ctx context.Context, p podSpec) (*corev1.Pod, []string) {
	t.Helper()
	res := testEnv.KubectlWithInput(ctx, p.yaml(), "apply", "-f", "-")
	if res.ExitCode != 0 || res.Stdout != "pod/"+p.name+" created\n" {
		t.Fatalf("kubectl apply of pod %s/%s: want created, got %s", p.namespace, p.name, res)
	}
	pod, err := testEnv.Clientset.CoreV1().Pods(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod, warningLines(res.Stderr)
}

// waitForWarnings dry-runs p until irsa-guard's warnings carry exactly the check IDs want: its
// informers see a changed webhook configuration a moment after the API server does.
func waitForWarnings(t *testing.T, ctx context.Context, p podSpec, want ...string) {
	t.Helper()
	var res testenv.KubectlResult
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res = testEnv.KubectlWithInput(ctx, p.yaml(), "apply", "--dry-run=server", "-f", "-")
		if res.ExitCode == 0 && slices.Equal(checkIDs(warningLines(res.Stderr)), want) {
			return
		}
	}
	t.Fatalf("irsa-guard's warnings on a dry run of pod %s/%s never became %v: %s", p.namespace, p.name, want, res)
}

// verdict is what irsa-guard should say about a pod: the check IDs of its warnings (sorted), and text
// one of them must contain.
type verdict struct {
	ids  []string
	text string
}

func (v verdict) matches(warnings []string) bool {
	return slices.Equal(checkIDs(warnings), v.ids) && (v.text == "" || strings.Contains(strings.Join(warnings, "\n"), v.text))
}

func (v verdict) String() string {
	if v.text == "" {
		return fmt.Sprintf("%v", v.ids)
	}
	return fmt.Sprintf("%v with %q", v.ids, v.text)
}

// disagreement is irsa-guard's answer today where the real webhook shows it is wrong.
type disagreement struct {
	said verdict
	what string
}

// checkWarnings fails unless irsa-guard's warnings are want. Where the real webhook showed irsa-guard
// wrong (known), exactly today's wrong answer skips the test naming the disagreement; any other
// answer fails, so a fix turns the test green and a different mistake still fails it.
func checkWarnings(t *testing.T, warnings []string, want verdict, known *disagreement) {
	t.Helper()
	switch {
	case want.matches(warnings):
		if known != nil {
			t.Logf("irsa-guard now agrees with the real webhook (%s): drop the known disagreement", known.what)
		}
	case known != nil && known.said.matches(warnings):
		t.Skipf("known disagreement: %s; fixed by the review-engine work (irsa-guard said: %s)", known.what, strings.Join(warnings, " | "))
	default:
		t.Fatalf("irsa-guard's warnings: want %s, got %v:\n%s", want, checkIDs(warnings), strings.Join(warnings, "\n"))
	}
}

// container returns the stored pod's container called name.
func container(t *testing.T, pod *corev1.Pod, name string) corev1.Container {
	t.Helper()
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("stored pod %s has no container %s", pod.Name, name)
	return corev1.Container{}
}

// tokenProjection returns the stored pod's projected ServiceAccount token in volume, nil if none.
func tokenProjection(pod *corev1.Pod, volume string) *corev1.ServiceAccountTokenProjection {
	for _, v := range pod.Spec.Volumes {
		if v.Name != volume || v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return s.ServiceAccountToken
			}
		}
	}
	return nil
}

// mountsVolume reports whether c mounts volume.
func mountsVolume(c corev1.Container, volume string) bool {
	return slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == volume })
}

// repoRoot is the repository root as the e2e package sees it.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// waitForIRSAGuard waits until the API server calls irsa-guard for namespace: a dry run of a
// ServiceAccount whose role-arn is not an ARN gets IRSA001.
func waitForIRSAGuard(t *testing.T, ctx context.Context, namespace string) {
	t.Helper()
	manifest := []byte(serviceAccountYAML(namespace, "probe", "not an ARN"))
	var res testenv.KubectlResult
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if res = testEnv.KubectlWithInput(ctx, manifest, "apply", "--dry-run=server", "-f", "-"); strings.Contains(res.Stderr, "IRSA001") {
			return
		}
	}
	t.Fatalf("irsa-guard's webhook never answered in %s: %s", namespace, res)
}
