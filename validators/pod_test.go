package validators

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testRole = "arn:aws:iam::111122223333:role/my-app"

func annotatedSA(role string) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"}}
	if role != "" {
		sa.Annotations = map[string]string{"eks.amazonaws.com/role-arn": role}
	}
	return sa
}

// injected returns a container as pod-identity-webhook leaves it (handler.go: both variables
// plus the read-only aws-iam-token mount).
func injected(name string, extra ...corev1.EnvVar) corev1.Container {
	return corev1.Container{
		Name:  name,
		Image: "public.ecr.aws/example/app:1",
		Env: append([]corev1.EnvVar{
			{Name: "AWS_ROLE_ARN", Value: testRole},
			{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
		}, extra...),
		VolumeMounts: []corev1.VolumeMount{{Name: "aws-iam-token", MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", ReadOnly: true}},
	}
}

func tokenVolume(mode *int32) corev1.Volume {
	exp := int64(86400)
	return corev1.Volume{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: mode,
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: "sts.amazonaws.com", ExpirationSeconds: &exp, Path: "token"}}},
	}}}
}

func pod(containers ...corev1.Container) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-7d9f"},
		Spec: corev1.PodSpec{
			ServiceAccountName: "cart",
			Containers:         containers,
			Volumes:            []corev1.Volume{tokenVolume(nil)},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func TestCheckPod(t *testing.T) {
	tests := map[string]struct {
		pod  *corev1.Pod
		sa   *corev1.ServiceAccount
		want []string // "ID container: message substring"
	}{
		"a pod injected by pod-identity-webhook is clean": {
			pod: pod(injected("app")), sa: annotatedSA(testRole),
		},
		"a pod whose ServiceAccount has no role and no AWS variables is not IRSA's business": {
			pod: func() *corev1.Pod {
				p := pod(corev1.Container{Name: "app", Image: "nginx"})
				p.Spec.HostNetwork = true
				return p
			}(),
			sa: annotatedSA(""),
		},
		"a pod the webhook never mutated says so and will use the node role": {
			pod: func() *corev1.Pod {
				p := pod(corev1.Container{Name: "app", Image: "nginx"})
				p.Spec.Volumes = nil
				return p
			}(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA040 app: container "app" got no IRSA env or token: pod-identity-webhook did not mutate it`},
		},
		"an init container is checked like the others": {
			pod: func() *corev1.Pod {
				p := pod(injected("app"))
				p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "flyway"}}
				return p
			}(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA040 migrate: container "migrate" got no IRSA env or token: other containers were injected`},
		},
		"a container named in skip-containers is not expected to be injected": {
			pod: func() *corev1.Pod {
				p := pod(injected("app"), corev1.Container{Name: "envoy", Image: "envoy"})
				p.Annotations = map[string]string{"eks.amazonaws.com/skip-containers": "envoy, other"}
				return p
			}(),
			sa: annotatedSA(testRole),
		},
		"a pod labelled to skip the webhook names the opt-out as the cause": {
			pod: func() *corev1.Pod {
				p := pod(corev1.Container{Name: "app", Image: "nginx"})
				p.Labels = map[string]string{"eks.amazonaws.com/skip-pod-identity-webhook": "true"}
				return p
			}(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA040 app: container "app" got no IRSA env or token: pod opted out of pod-identity-webhook`},
		},
		"a hand-set AWS_ROLE_ARN blocks injection of the token file": {
			pod:  pod(corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: testRole}}}),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA040 app: container "app" lacks token file env, token mount: hand-set AWS_* env blocked injection`},
		},
		"a token file on a hand-made projected volume counts as mounted": {
			pod: func() *corev1.Pod {
				c := injected("app")
				c.Env[1].Value = "/irsa/token"
				c.VolumeMounts = []corev1.VolumeMount{{Name: "my-token", MountPath: "/irsa/"}}
				p := pod(c)
				v := tokenVolume(nil)
				v.Name = "my-token"
				p.Spec.Volumes = []corev1.Volume{v}
				return p
			}(),
			sa: annotatedSA(testRole),
		},
		"static keys and a mounted ~/.aws shadow the web identity": {
			pod: func() *corev1.Pod {
				c := injected("app",
					corev1.EnvVar{Name: "AWS_ACCESS_KEY_ID", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "id"}}},
					corev1.EnvVar{Name: "AWS_PROFILE", Value: "prod"})
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "creds", MountPath: "/root/.aws"})
				return pod(c)
			}(),
			sa: annotatedSA(testRole),
			want: []string{
				`IRSA041 app: container "app" sets AWS_ACCESS_KEY_ID, which the AWS SDK uses before the web identity token`,
				`IRSA041 app: container "app" sets AWS_PROFILE`,
				`IRSA041 app: container "app" mounts "/root/.aws"`,
			},
		},
		"static keys without any IRSA are not reported": {
			pod: pod(corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "AWS_ACCESS_KEY_ID", Value: "AKIA..."}}}),
			sa:  annotatedSA(""),
		},
		"hostNetwork with IRSA can fall back to the node role": {
			pod:  func() *corev1.Pod { p := pod(injected("app")); p.Spec.HostNetwork = true; return p }(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA043 : hostNetwork pod can reach IMDS`},
		},
		"IRSA and Pod Identity variables together": {
			pod: pod(injected("app",
				corev1.EnvVar{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value: "http://169.254.170.23/v1/credentials"},
				corev1.EnvVar{Name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Value: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"})),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA044 app: container "app" has IRSA and EKS Pod Identity variables`},
		},
		"a Pod Identity pod whose SA also has a role-arn is not reported as not injected; the annotation is ignored": {
			pod: func() *corev1.Pod {
				p := pod(corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value: "http://169.254.170.23/v1/credentials"}}})
				p.Labels = map[string]string{"eks.amazonaws.com/pod-identity": "enabled"}
				return p
			}(),
			sa:   annotatedSA(testRole),
			want: []string{"IRSA062 : the ServiceAccount's role-arn is ignored: the pod gets EKS Pod Identity credentials"},
		},
		"a hand-set AWS_ROLE_ARN that differs from the annotation": {
			pod: func() *corev1.Pod {
				c := injected("app")
				c.Env[0].Value = "arn:aws:iam::111122223333:role/old-app"
				return pod(c)
			}(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA045 app: container "app" AWS_ROLE_ARN "arn:aws:iam::111122223333:role/old-app" is not`},
		},
		"containers with different runAsUser and no fsGroup can read the default 0644 token": {
			pod: func() *corev1.Pod {
				a, b := injected("app"), injected("sidecar")
				a.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(1000))}
				b.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(2000))}
				return pod(a, b)
			}(),
			sa: annotatedSA(testRole),
		},
		"a 0600 defaultMode with different users and no fsGroup leaves the token root-only": {
			pod: func() *corev1.Pod {
				a, b := injected("app"), injected("sidecar")
				a.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(1000))}
				b.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(0))}
				p := pod(a, b)
				p.Spec.Volumes = []corev1.Volume{tokenVolume(ptr(int32(0o600)))}
				return p
			}(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA042 app: container "app" runs as UID 1000 but the token file is mode 600 and there is no fsGroup`},
		},
		"a 0600 defaultMode is fine when every container shares one runAsUser (the kubelet chowns)": {
			pod: func() *corev1.Pod {
				p := pod(injected("app"), injected("sidecar"))
				p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr(int64(1000))}
				p.Spec.Volumes = []corev1.Volume{tokenVolume(ptr(int32(0o600)))}
				return p
			}(),
			sa: annotatedSA(testRole),
		},
		"a 0600 defaultMode is fine with an fsGroup (0640, group fsGroup)": {
			pod: func() *corev1.Pod {
				a, b := injected("app"), injected("sidecar")
				a.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(1000))}
				b.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(2000))}
				p := pod(a, b)
				p.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(65534))}
				p.Spec.Volumes = []corev1.Volume{tokenVolume(ptr(int32(0o600)))}
				return p
			}(),
			sa: annotatedSA(testRole),
		},
		"runAsNonRoot without a UID and a 0440 defaultMode": {
			pod: func() *corev1.Pod {
				p := pod(injected("app"))
				p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
				p.Spec.Volumes = []corev1.Volume{tokenVolume(ptr(int32(0o440)))}
				return p
			}(),
			sa:   annotatedSA(testRole),
			want: []string{`IRSA042 app: container "app" runs as a non-root user but the token file is mode 440`},
		},
		"an unreadable ServiceAccount only skips the SA-dependent checks": {
			pod:  func() *corev1.Pod { p := pod(injected("app")); p.Spec.HostNetwork = true; return p }(),
			sa:   nil,
			want: []string{`IRSA043 : hostNetwork pod`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := CheckPod(PodObject(tc.pod), tc.pod, tc.sa, WebhookSettings{})
			if len(got) != len(tc.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(tc.want), render(got))
			}
			for i, f := range got {
				id, rest, _ := strings.Cut(tc.want[i], " ")
				ctr, msg, _ := strings.Cut(rest, ": ")
				if string(f.Check) != id || !strings.HasSuffix(f.Object.String(), containerSuffix(ctr)) || !strings.HasPrefix(f.Message, msg) {
					t.Errorf("finding %d = %s (%s), want %s", i, f, f.Object, tc.want[i])
				}
				if n := len([]rune(f.String())); n > MaxMessageRunes {
					t.Errorf("finding %d is %d runes, over %d: %s", i, n, MaxMessageRunes, f)
				}
			}
		})
	}
}

func containerSuffix(c string) string {
	if c == "" {
		return "shop/cart-7d9f"
	}
	return " container " + c
}

func render(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + " [" + f.Object.String() + "]\n")
	}
	return b.String()
}

func TestPodNeedsFSGroup(t *testing.T) {
	tests := map[string]struct {
		pod  *corev1.Pod
		want bool
	}{
		"the usual injected pod never needs one": {pod: pod(injected("app")), want: false},
		"a restrictive defaultMode with two users needs one": {pod: func() *corev1.Pod {
			a, b := injected("app"), injected("sidecar")
			a.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(1000))}
			b.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr(int64(2000))}
			p := pod(a, b)
			p.Spec.Volumes = []corev1.Volume{tokenVolume(ptr(int32(0o600)))}
			return p
		}(), want: true},
		"a pod that already has an fsGroup is left alone": {pod: func() *corev1.Pod {
			p := pod(injected("app"))
			p.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr(int64(0))}
			return p
		}(), want: false},
		"no pod": {pod: nil, want: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := PodNeedsFSGroup(tc.pod); got != tc.want {
				t.Errorf("PodNeedsFSGroup = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPodObjectUsesGenerateName(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", GenerateName: "cart-7d9f-"}}
	if got := PodObject(p).String(); got != "Pod shop/cart-7d9f-*" {
		t.Errorf("PodObject = %q", got)
	}
	if !slices.Equal(CheckPod(Object{}, nil, nil, WebhookSettings{}), nil) {
		t.Error("CheckPod(nil) should be empty")
	}
}

func TestRecreateCommand(t *testing.T) {
	yes := true
	owned := func(kind, name string, labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{}
		p.Name, p.Namespace, p.Labels = "cart-7d9f8c6b5-x2x7q", "shop", labels
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
		}
		return p
	}
	for _, c := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{owned("ReplicaSet", "cart-7d9f8c6b5", map[string]string{"pod-template-hash": "7d9f8c6b5"}), " (kubectl rollout restart deployment/cart -n shop)"},
		{owned("StatefulSet", "db", nil), " (kubectl rollout restart statefulset/db -n shop)"},
		{owned("ReplicaSet", "bare-rs", nil), " (kubectl delete pod cart-7d9f8c6b5-x2x7q -n shop: its ReplicaSet creates a new one)"},
		{owned("", "", nil), ""},
		{&corev1.Pod{}, ""},
	} {
		if got := recreateCommand(c.pod); got != c.want {
			t.Errorf("recreateCommand(%v) = %q, want %q", c.pod.OwnerReferences, got, c.want)
		}
	}
}
