//go:build e2e

package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
	"github.com/irsa-guard/irsa-guard/validators"
)

// TestRealPodIdentityWebhook runs the pod scenarios against the real amazon-eks-pod-identity-webhook
// (built from ../shared/third_party) instead of the stand-in, which shares irsa-guard's reading of
// upstream. Each case checks (a) what the real webhook did to the stored pod and (b) what irsa-guard
// told kubectl about it. Where the two disagree the real webhook is right: the case asserts the right
// warnings and, while irsa-guard still gives exactly its known wrong answer, skips naming the
// disagreement. The cases share one irsa-guard, one real webhook and run in order.
func TestRealPodIdentityWebhook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root := repoRoot(t)
	requireRealPIW(t, root)
	const ns, elsewhere = "piw-pods", "piw-elsewhere"
	sas := []trustedSA{
		{namespace: ns, name: "app"},
		{namespace: ns, name: "custom-audience", audience: "api.example.com"},
		{namespace: ns, name: "short-token"},
		{namespace: ns, name: "hour-token"},
		{namespace: ns, name: "unparsable-token"},
		{namespace: ns, name: "bare-name"},
		{namespace: ns, name: "migrating", podIdentityToo: true},
		{namespace: ns, name: "migrated", podIdentityOnly: true},
		{namespace: elsewhere, name: "elsewhere"},
	}
	startServer(t, ctx, realPIWState(sas), testenv.IRSAGuardOptions{Root: root, Values: realPIWValues})
	createNamespaces(t, ctx, map[string]map[string]string{ns: nil, elsewhere: nil})
	waitForIRSAGuard(t, ctx, ns)
	piw := startRealPIW(t, ctx, root, testenv.PodIdentityWebhookOptions{
		RegionalSTS:    true,
		DefaultRegion:  "us-west-2",
		ComposeRoleARN: &testenv.InstanceIdentity{AccountID: "111122223333", Region: "us-west-2"},
		PodIdentityAssociations: []testenv.PodIdentityAssociation{
			{Namespace: ns, ServiceAccount: "migrating"}, {Namespace: ns, ServiceAccount: "migrated"},
		},
	})
	annotations := map[string]map[string]string{
		"custom-audience":  {validators.AnnotationAudience: "api.example.com"},
		"short-token":      {validators.AnnotationTokenExpiration: "300"},
		"hour-token":       {validators.AnnotationTokenExpiration: "3600"},
		"unparsable-token": {validators.AnnotationTokenExpiration: "1h"},
	}
	client, _ := clientWithWarnings(t) // irsa-guard's warnings on these ServiceAccounts are not the point
	for _, sa := range sas {
		a := map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::111122223333:role/piw-" + sa.name}
		if sa.name == "bare-name" {
			a[validators.AnnotationRoleARN] = "piw-bare-name" // for --compose-role-arn
		}
		for k, v := range annotations[sa.name] {
			a[k] = v
		}
		obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: sa.namespace, Name: sa.name, Annotations: a}}
		if _, err := client.CoreV1().ServiceAccounts(sa.namespace).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The webhook learns about ServiceAccounts from a watch: pods created before it has seen
		// theirs get nothing (amazon-eks-pod-identity-webhook #174), so wait as a careful user would.
		associated := sa.name == "migrating" || sa.name == "migrated"
		if _, err := piw.WaitFor(ctx, sa.namespace, sa.name, func(p *corev1.Pod) bool {
			return associated == testenv.InjectedPodIdentity(p) && (associated || testenv.InjectedRoleARN(p) != "")
		}); err != nil {
			t.Fatal(err)
		}
	}
	const (
		appRole   = "arn:aws:iam::111122223333:role/piw-app"
		tokenFile = testenv.PIWMountPath + "/token"
	)

	t.Run("an injected pod has the IRSA env, token volume and mount, and irsa-guard is silent", func(t *testing.T) {
		pod, warnings := applyPod(t, ctx, podSpec{namespace: ns, name: "injected", serviceAccount: "app"})
		c := container(t, pod, "app")
		for name, want := range map[string]string{
			"AWS_ROLE_ARN": appRole, "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
			"AWS_STS_REGIONAL_ENDPOINTS": "regional", "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-west-2",
		} {
			if got := testenv.EnvValue(c, name); got != want {
				t.Errorf("stored %s = %q, want %q", name, got, want)
			}
		}
		tok := tokenProjection(pod, testenv.PIWVolume)
		if tok == nil || tok.Audience != "sts.amazonaws.com" || tok.ExpirationSeconds == nil || *tok.ExpirationSeconds != 86400 || tok.Path != "token" {
			t.Errorf("stored %s volume's token = %+v, want audience sts.amazonaws.com, 86400 s, path token", testenv.PIWVolume, tok)
		}
		if i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == testenv.PIWVolume }); i < 0 ||
			c.VolumeMounts[i].MountPath != testenv.PIWMountPath || !c.VolumeMounts[i].ReadOnly {
			t.Errorf("stored mounts %+v, want %s read-only at %s", c.VolumeMounts, testenv.PIWVolume, testenv.PIWMountPath)
		}
		checkWarnings(t, warnings, verdict{}, nil)
	})

	t.Run("a pod opted out by label gets nothing and irsa-guard names the objectSelector", func(t *testing.T) {
		pod, warnings := applyPod(t, ctx, podSpec{namespace: ns, name: "opted-out", serviceAccount: "app",
			labels: map[string]string{testenv.PIWSkipLabel: "true"}})
		if c := container(t, pod, "app"); len(c.Env) > 0 || len(c.VolumeMounts) > 0 || tokenProjection(pod, testenv.PIWVolume) != nil {
			t.Errorf("the real webhook changed an opted-out pod: env %v, mounts %v", c.Env, c.VolumeMounts)
		}
		checkWarnings(t, warnings, verdict{ids: []string{"IRSA040", "IRSA051"}, text: "objectSelector skips this pod"}, nil)
	})

	// eks.amazonaws.com/skip-containers is read with encoding/csv, first record only, and a parse error
	// skips nothing (pkg/handler/handler.go getContainersToSkip). irsa-guard splits on commas and trims.
	t.Run("skip-containers", func(t *testing.T) {
		tests := map[string]struct {
			pod        string
			annotation string
			containers []string
			skipped    []string // containers the real webhook leaves alone; the others get AWS_ROLE_ARN
			want       verdict
			known      *disagreement
		}{
			"a plain name skips that container": {
				pod: "skip-plain", annotation: "sidecar", containers: []string{"app", "sidecar"}, skipped: []string{"sidecar"},
			},
			"a quoted CSV field names the container without its quotes": {
				pod: "skip-quoted", annotation: `"sidecar",app`, containers: []string{"app", "sidecar"}, skipped: []string{"app", "sidecar"},
			},
			"a leading space is part of the name, so that container is not skipped": {
				pod: "skip-leading-space", annotation: "app, sidecar", containers: []string{"app", "sidecar"}, skipped: []string{"app"},
				want: verdict{ids: []string{"IRSA003"}, text: `" sidecar"`},
			},
			"malformed CSV skips nothing": {
				// app carries its own static keys, the reason to keep it away from the role: with nothing
				// skipped it gets AWS_ROLE_ARN too and the static keys shadow it (IRSA041).
				pod: "skip-malformed", annotation: `app,"sidecar`, containers: []string{"app:AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "sidecar"},
				want: verdict{ids: []string{"IRSA003", "IRSA041"}},
			},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				pod, warnings := applyPod(t, ctx, podSpec{namespace: ns, name: tc.pod, serviceAccount: "app",
					annotations: map[string]string{validators.AnnotationSkipContainers: tc.annotation}, containers: tc.containers})
				for _, c := range pod.Spec.Containers {
					skipped := slices.Contains(tc.skipped, c.Name)
					if got := testenv.EnvValue(c, "AWS_ROLE_ARN"); skipped != (got == "") || skipped == mountsVolume(c, testenv.PIWVolume) {
						t.Errorf("container %s: AWS_ROLE_ARN %q, mounts the token: %v; want it skipped: %v", c.Name, got, mountsVolume(c, testenv.PIWVolume), skipped)
					}
				}
				checkWarnings(t, warnings, tc.want, tc.known)
			})
		}
	})

	// audience and token-expiration come from the ServiceAccount; a pod's token-expiration wins. Values
	// below 600 are raised to 600, values that do not parse are ignored (pkg/cache/cache.go addSA,
	// pkg/handler/handler.go parsePodAnnotations).
	t.Run("token audience and expiration", func(t *testing.T) {
		tests := map[string]struct {
			pod            string
			serviceAccount string
			podExpiration  string // pod annotation, "" for none
			audience       string
			seconds        int64
			want           verdict
			known          *disagreement
		}{
			"the ServiceAccount's audience":   {pod: "token-sa-audience", serviceAccount: "custom-audience", audience: "api.example.com", seconds: 86400},
			"the ServiceAccount's expiration": {pod: "token-sa-expiration", serviceAccount: "hour-token", seconds: 3600},
			"a ServiceAccount expiration below 600 is raised to 600": {pod: "token-sa-short", serviceAccount: "short-token", seconds: 600,
				want: verdict{ids: []string{"IRSA003"}, text: "raises it to 600"}},
			"an unparsable ServiceAccount expiration is ignored": {pod: "token-sa-unparsable", serviceAccount: "unparsable-token", seconds: 86400,
				want: verdict{ids: []string{"IRSA003"}, text: "86400"}},
			"the pod's expiration wins": {pod: "token-pod-expiration", serviceAccount: "hour-token", podExpiration: "1200", seconds: 1200},
			"a pod expiration below 600 is raised to 600": {pod: "token-pod-short", serviceAccount: "hour-token", podExpiration: "300", seconds: 600,
				want: verdict{ids: []string{"IRSA003"}, text: "raises it to 600"}},
			"an unparsable pod expiration falls back to the ServiceAccount's": {pod: "token-pod-unparsable", serviceAccount: "hour-token", podExpiration: "soon", seconds: 3600,
				want: verdict{ids: []string{"IRSA003"}, text: "uses 3600, the ServiceAccount's"}},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				p := podSpec{namespace: ns, name: tc.pod, serviceAccount: tc.serviceAccount}
				if tc.podExpiration != "" {
					p.annotations = map[string]string{validators.AnnotationTokenExpiration: tc.podExpiration}
				}
				pod, warnings := applyPod(t, ctx, p)
				audience := tc.audience
				if audience == "" {
					audience = "sts.amazonaws.com"
				}
				if tok := tokenProjection(pod, testenv.PIWVolume); tok == nil || tok.Audience != audience || tok.ExpirationSeconds == nil || *tok.ExpirationSeconds != tc.seconds {
					t.Errorf("stored token %+v, want audience %s and expirationSeconds %d", tok, audience, tc.seconds)
				}
				checkWarnings(t, warnings, tc.want, tc.known)
			})
		}
	})

	// A ServiceAccount with an EKS Pod Identity association gets container credentials, not the IRSA
	// env, even with a role-arn annotation (pkg/handler/handler.go buildPodPatchConfig).
	t.Run("a Pod Identity association wins over the IRSA annotation", func(t *testing.T) {
		tests := map[string]struct {
			serviceAccount string
			want           verdict
			known          *disagreement
		}{
			"while the role still trusts the cluster's OIDC provider too": {serviceAccount: "migrating"},
			// IRSA062 (info: the annotation is ignored) is reported, never sent to kubectl.
			"once the role trusts only EKS Pod Identity": {serviceAccount: "migrated"},
		}
		for name, tc := range tests {
			t.Run(name, func(t *testing.T) {
				pod, warnings := applyPod(t, ctx, podSpec{namespace: ns, name: "pod-identity-" + tc.serviceAccount, serviceAccount: tc.serviceAccount})
				c := container(t, pod, "app")
				for name, want := range map[string]string{
					"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "http://169.254.170.23/v1/credentials",
					"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": testenv.PIWPodIdentityMountPath + "/eks-pod-identity-token",
					"AWS_ROLE_ARN":                           "",
					"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
				} {
					if got := testenv.EnvValue(c, name); got != want {
						t.Errorf("stored %s = %q, want %q", name, got, want)
					}
				}
				if pod.Labels[testenv.PIWPodIdentityLabel] != "enabled" {
					t.Errorf("stored labels %v, want %s=enabled", pod.Labels, testenv.PIWPodIdentityLabel)
				}
				// The default 86400 s gets jitter: 79200-86400 s.
				tok := tokenProjection(pod, testenv.PIWPodIdentityVolume)
				if tok == nil || tok.Audience != "pods.eks.amazonaws.com" || tok.ExpirationSeconds == nil || *tok.ExpirationSeconds < 79200 || *tok.ExpirationSeconds > 86400 {
					t.Errorf("stored %s token %+v, want audience pods.eks.amazonaws.com and 79200-86400 s", testenv.PIWPodIdentityVolume, tok)
				}
				if tokenProjection(pod, testenv.PIWVolume) != nil || mountsVolume(c, testenv.PIWVolume) {
					t.Errorf("the pod got the IRSA token volume as well")
				}
				checkWarnings(t, warnings, tc.want, tc.known)
			})
		}
	})

	t.Run("with --compose-role-arn a bare role name becomes the account's role", func(t *testing.T) {
		pod, warnings := applyPod(t, ctx, podSpec{namespace: ns, name: "bare-name", serviceAccount: "bare-name"})
		if got, want := testenv.EnvValue(container(t, pod, "app"), "AWS_ROLE_ARN"), "arn:aws:iam::111122223333:role/piw-bare-name"; got != want {
			t.Errorf("stored AWS_ROLE_ARN = %q, want %q (partition and account from instance metadata)", got, want)
		}
		// irsa-guard is configured with composeRoleARN, as an admin of such a cluster configures it.
		checkWarnings(t, warnings, verdict{}, nil)
	})

	t.Run("without the webhook configuration nothing is injected: IRSA050", func(t *testing.T) {
		if err := piw.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := piw.Register(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}()
		notInjected := func(p *corev1.Pod) bool { return testenv.InjectedRoleARN(p) == "" }
		if _, err := piw.WaitFor(ctx, ns, "app", notInjected); err != nil {
			t.Fatal(err)
		}
		p := podSpec{namespace: ns, name: "no-webhook", serviceAccount: "app"}
		waitForWarnings(t, ctx, p, "IRSA040", "IRSA050")
		pod, warnings := applyPod(t, ctx, p)
		if c := container(t, pod, "app"); len(c.Env) > 0 || tokenProjection(pod, testenv.PIWVolume) != nil {
			t.Errorf("a pod was injected with no webhook configuration: env %v", c.Env)
		}
		checkWarnings(t, warnings, verdict{ids: []string{"IRSA040", "IRSA050"}}, nil)
	})

	t.Run("a namespaceSelector that excludes the namespace: IRSA051", func(t *testing.T) {
		if err := piw.Register(ctx, func(w *admissionregistrationv1.MutatingWebhook) {
			w.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{elsewhere}},
			}}
		}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := piw.Register(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}()
		if _, err := piw.WaitFor(ctx, elsewhere, "elsewhere", func(p *corev1.Pod) bool { return testenv.InjectedRoleARN(p) == "" }); err != nil {
			t.Fatal(err)
		}
		if _, err := piw.WaitFor(ctx, ns, "app", func(p *corev1.Pod) bool { return testenv.InjectedRoleARN(p) == appRole }); err != nil {
			t.Fatalf("other namespaces must still be injected: %v", err)
		}
		p := podSpec{namespace: elsewhere, name: "mis-scoped", serviceAccount: "elsewhere"}
		waitForWarnings(t, ctx, p, "IRSA040", "IRSA051")
		pod, warnings := applyPod(t, ctx, p)
		if c := container(t, pod, "app"); len(c.Env) > 0 || tokenProjection(pod, testenv.PIWVolume) != nil {
			t.Errorf("a pod in an excluded namespace was injected: env %v", c.Env)
		}
		checkWarnings(t, warnings, verdict{ids: []string{"IRSA040", "IRSA051"}, text: "namespaceSelector skips this namespace"}, nil)
	})
}

// TestRealPodIdentityWebhookAnnotationPrefix checks the --annotation-prefix option on its own: the
// webhook reads role-arn under the prefix it is given and ignores eks.amazonaws.com/role-arn.
func TestRealPodIdentityWebhookAnnotationPrefix(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := repoRoot(t)
	requireRealPIW(t, root)
	ns := createNamespace(t, ctx)
	piw := startRealPIW(t, ctx, root, testenv.PodIdentityWebhookOptions{AnnotationPrefix: "iam.example.com"})
	for _, sa := range []*corev1.ServiceAccount{ // in this order: seeing the second means the first was seen
		{ObjectMeta: metav1.ObjectMeta{Name: "eks", Annotations: map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::111122223333:role/eks"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "prefixed", Annotations: map[string]string{"iam.example.com/role-arn": "arn:aws:iam::111122223333:role/prefixed"}}},
	} {
		if _, err := testEnv.Clientset.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := piw.WaitFor(ctx, ns, "prefixed", func(p *corev1.Pod) bool {
		return testenv.InjectedRoleARN(p) == "arn:aws:iam::111122223333:role/prefixed"
	}); err != nil {
		t.Fatal(err)
	}
	// A watch delivers in order: the eks ServiceAccount, created first, has been seen too.
	pod, err := piw.Probe(ctx, ns, "eks")
	if err != nil {
		t.Fatal(err)
	}
	if got := testenv.InjectedRoleARN(pod); got != "" {
		t.Fatalf("with --annotation-prefix=iam.example.com, eks.amazonaws.com/role-arn was injected: %q", got)
	}
}
