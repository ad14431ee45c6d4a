package validators

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPredictInjection(t *testing.T) {
	plain := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"}, Spec: corev1.PodSpec{
			ServiceAccountName: "cart",
			InitContainers:     []corev1.Container{{Name: "migrate"}},
			Containers:         []corev1.Container{{Name: "app"}, {Name: "istio-proxy"}},
		}}
	}
	sa := func(annotations map[string]string) *corev1.ServiceAccount {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Annotations: annotations}}
	}
	role := map[string]string{AnnotationRoleARN: testRole}
	tests := map[string]struct {
		pod         func() *corev1.Pod
		sa          *corev1.ServiceAccount
		settings    WebhookSettings
		association bool
		want        Injection
		env         map[string]string // container -> "NAME=value,..." it must end with, "" for untouched
		volume      string            // "name audience expiration"
	}{
		"a role-arn injects web identity into every container": {
			pod: plain, sa: sa(role), want: InjectWebIdentity,
			env: map[string]string{
				"migrate": "AWS_ROLE_ARN=" + testRole + ",AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
				"app":     "AWS_ROLE_ARN=" + testRole + ",AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
			},
			volume: "aws-iam-token sts.amazonaws.com 86400",
		},
		"no role-arn and no association: nothing": {pod: plain, sa: sa(nil), want: InjectNothing},
		"an empty role-arn is no IRSA":            {pod: plain, sa: sa(map[string]string{AnnotationRoleARN: ""}), want: InjectNothing},
		"an association wins over the role-arn": {
			pod: plain, sa: sa(role), association: true, want: InjectPodIdentity,
			env: map[string]string{
				"app": "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials,AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
			},
			volume: "eks-pod-identity-token pods.eks.amazonaws.com 86400",
		},
		"the opt-out label sends the pod nowhere": {
			pod: func() *corev1.Pod { p := plain(); p.Labels = map[string]string{podLabelSkipPIW: "true"}; return p },
			sa:  sa(role), want: InjectNothing,
		},
		"skip-containers as CSV skips the quoted name but not the one after a space": {
			pod: func() *corev1.Pod {
				p := plain()
				p.Annotations = map[string]string{AnnotationSkipContainers: `"migrate", istio-proxy`}
				return p
			},
			sa: sa(role), want: InjectWebIdentity,
			env: map[string]string{"migrate": "", "istio-proxy": "AWS_ROLE_ARN=" + testRole + ",AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
		},
		"audience, regional STS and token expiration from the ServiceAccount, the pod's expiration wins and is raised to 600": {
			pod: func() *corev1.Pod {
				p := plain()
				p.Annotations = map[string]string{AnnotationTokenExpiration: "300"}
				return p
			},
			sa:       sa(map[string]string{AnnotationRoleARN: testRole, AnnotationAudience: "vault", AnnotationSTSRegionalEndpoints: "true", AnnotationTokenExpiration: "7200"}),
			settings: WebhookSettings{DefaultRegion: "eu-west-1"},
			want:     InjectWebIdentity,
			env: map[string]string{"app": "AWS_STS_REGIONAL_ENDPOINTS=regional,AWS_DEFAULT_REGION=eu-west-1,AWS_REGION=eu-west-1,AWS_ROLE_ARN=" + testRole +
				",AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
			volume: "aws-iam-token vault 600",
		},
		"a composed bare name": {
			pod: plain, sa: sa(map[string]string{AnnotationRoleARN: "team/my-app"}),
			settings: WebhookSettings{ComposeRoleARN: true, Partition: "aws-cn", Account: "111122223333"},
			want:     InjectWebIdentity,
			env:      map[string]string{"app": "AWS_ROLE_ARN=arn:aws-cn:iam::111122223333:role/team/my-app,AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
		},
		"a hand-set AWS_ROLE_ARN blocks both variables but the token is still mounted": {
			pod: func() *corev1.Pod {
				p := plain()
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: "arn:aws:iam::111122223333:role/old"}}
				return p
			},
			sa: sa(role), want: InjectWebIdentity,
			env: map[string]string{"app": "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/old"},
		},
		"Windows pods get a Windows token path": {
			pod: func() *corev1.Pod {
				p := plain()
				p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "windows"}
				return p
			},
			sa: sa(role), want: InjectWebIdentity,
			env: map[string]string{"app": `AWS_ROLE_ARN=` + testRole + `,AWS_WEB_IDENTITY_TOKEN_FILE=C:\var\run\secrets\eks.amazonaws.com\serviceaccount\token`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.pod()
			before := in.DeepCopy()
			got, mode := PredictInjection(in, tc.sa, tc.settings, tc.association)
			if mode != tc.want {
				t.Fatalf("mode = %v, want %v", mode, tc.want)
			}
			if !equalPods(in, before) {
				t.Fatal("PredictInjection modified its input")
			}
			for _, c := range append(slices.Clone(got.Spec.InitContainers), got.Spec.Containers...) {
				want, ok := tc.env[c.Name]
				if !ok {
					continue
				}
				var have []string
				for _, e := range c.Env {
					have = append(have, e.Name+"="+e.Value)
				}
				if strings.Join(have, ",") != want {
					t.Errorf("container %s env = %s, want %s", c.Name, strings.Join(have, ","), want)
				}
				if want != "" && len(c.VolumeMounts) != 1 {
					t.Errorf("container %s mounts = %v, want the token volume", c.Name, c.VolumeMounts)
				}
			}
			if tc.volume != "" {
				v := got.Spec.Volumes[0]
				src := v.Projected.Sources[0].ServiceAccountToken
				if got := v.Name + " " + src.Audience + " " + strconv.FormatInt(*src.ExpirationSeconds, 10); got != tc.volume {
					t.Errorf("token volume = %s, want %s", got, tc.volume)
				}
			}
		})
	}
}

func equalPods(a, b *corev1.Pod) bool {
	return a.String() == b.String()
}

func TestSkipContainersParsesLikePodIdentityWebhook(t *testing.T) {
	tests := map[string]struct {
		value   string
		want    []string
		wantErr bool
	}{
		"plain names":                 {value: "a,b", want: []string{"a", "b"}},
		"a leading space is kept":     {value: "a, b", want: []string{"a", " b"}},
		"quoted fields are unquoted":  {value: `"a","b,c"`, want: []string{"a", "b,c"}},
		"only the first line counts":  {value: "a\nb", want: []string{"a"}},
		"a bare quote does not parse": {value: `a"b`, wantErr: true},
		"empty does not parse":        {value: "", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := SkipContainers(map[string]string{AnnotationSkipContainers: tc.value})
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("SkipContainers(%q) = %q, %v", tc.value, got, err)
			}
		})
	}
}
