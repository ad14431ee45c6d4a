package audit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/webhook"
)

const (
	issuer  = "https://oidc.eks.us-west-2.amazonaws.com/id/AUDITTEST"
	appRole = "arn:aws:iam::111122223333:role/app"
)

// stateYAML is the AWS the tests start from: the cluster's provider, and role app trusting
// exactly shop/app. SUB is the ServiceAccount the trust names.
const stateYAML = `callerAccount: "111122223333"
accounts:
  "111122223333":
    oidcProviders:
      - url: https://oidc.eks.us-west-2.amazonaws.com/id/AUDITTEST
        clientIDs: [sts.amazonaws.com]
    roles:
      - name: app
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/AUDITTEST"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals:
                  "oidc.eks.us-west-2.amazonaws.com/id/AUDITTEST:sub": system:serviceaccount:shop:SUB
                  "oidc.eks.us-west-2.amazonaws.com/id/AUDITTEST:aud": sts.amazonaws.com
`

// world is one test's cluster, fake AWS and auditor.
type world struct {
	aws     *fakeaws.Server
	cluster *testCluster
	events  *eventLog
	reg     *prometheus.Registry
	audit   *Auditor
}

// newWorld starts the fake AWS with role app trusting shop/<trusted>, and an auditor reading it
// through the real SDK, with a cache that never serves a pass the previous pass's facts.
func newWorld(t testing.TB, trusted string, edit func(*Options)) *world {
	t.Helper()
	return newWorldWith(t, trusted, nil, edit)
}

// newWorldWith is newWorld with the facts source's options changed by facts.
func newWorldWith(t testing.TB, trusted string, facts func(*awsfacts.Options), edit func(*Options)) *world {
	t.Helper()
	srv := fakeaws.NewServer(state(t, trusted))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	fo := awsfacts.Options{Account: "111122223333", Partition: "aws", TTL: time.Nanosecond, StaleFor: time.Nanosecond,
		SkipThumbprint: true, BackgroundShare: 0.5, RateLimit: 100, Burst: 100, Registerer: reg}
	if facts != nil {
		facts(&fo)
	}
	sdk, err := awsfacts.NewSDK(aws.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider(fakeaws.CallerAccessKeyID("111122223333"), fakeaws.CallerSecretAccessKey, ""),
		BaseEndpoint: aws.String(srv.URL()),
	}, fo)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{namespaces: map[string]map[string]string{"shop": nil, "kube-system": nil}}
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ev := &eventLog{}
	o := Options{
		Engine:  review.New(config.Default(), review.Options{Facts: sdk, Cluster: c, Issuer: issuer}),
		Cluster: c, Lister: c, Policy: webhook.Policy{Policy: config.Default().Policy}, Events: ev, Metrics: m,
		ExcludeNamespaces: []string{"kube-system"},
	}
	if edit != nil {
		edit(&o)
	}
	a := New(o)
	a.setLeader(true)
	return &world{aws: srv, cluster: c, events: ev, reg: reg, audit: a}
}

func state(t testing.TB, trusted string) *awsstate.State {
	t.Helper()
	// Roles role-0..2 are copies of app, for the cost measurement.
	text := stateYAML
	app := stateYAML[strings.Index(stateYAML, "      - name: app"):]
	for i := range 3 {
		text += strings.Replace(app, "name: app", fmt.Sprintf("name: role-%d", i), 1)
	}
	st, err := awsstate.ParseState([]byte(strings.ReplaceAll(text, "SUB", trusted)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// trust makes role app trust shop/<trusted> from now on.
func (w *world) trust(t *testing.T, trusted string) {
	t.Helper()
	if err := w.aws.SetState(state(t, trusted)); err != nil {
		t.Fatal(err)
	}
}

func (w *world) run(t testing.TB) Pass {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return w.audit.Run(ctx)
}

// testCluster is the cluster the auditor lists and the engine reads: ServiceAccounts, pods and
// namespace labels. Its webhook configurations are unknown, so IRSA050/051 never run.
type testCluster struct {
	sas        []corev1.ServiceAccount
	pods       []corev1.Pod
	namespaces map[string]map[string]string
}

func (c *testCluster) ServiceAccounts(context.Context) ([]corev1.ServiceAccount, error) {
	return c.sas, nil
}

func (c *testCluster) Pods(_ context.Context, visit func(*corev1.Pod)) error {
	for i := range c.pods {
		visit(&c.pods[i])
	}
	return nil
}

func (c *testCluster) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, bool) {
	for i := range c.sas {
		if c.sas[i].Namespace == ns && c.sas[i].Name == name {
			return &c.sas[i], true
		}
	}
	return nil, false
}

func (c *testCluster) NamespaceLabels(_ context.Context, ns string) (map[string]string, bool) {
	l, ok := c.namespaces[ns]
	return l, ok
}

func (c *testCluster) MutatingWebhookConfigurations(context.Context) ([]admissionregistrationv1.MutatingWebhookConfiguration, bool) {
	return nil, false
}

func (c *testCluster) addServiceAccount(ns, name, role string) {
	c.sas = append(c.sas, corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name),
		Annotations: map[string]string{validators.AnnotationRoleARN: role}}})
}

// addPod adds a pod of ServiceAccount sa, injected by pod-identity-webhook or not.
func (c *testCluster) addPod(ns, name, sa string, injected bool) {
	ctr := corev1.Container{Name: "app", Image: "public.ecr.aws/example/app:1"}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{ServiceAccountName: sa}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if injected {
		ctr.Env = []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: appRole}, {Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}}
		ctr.VolumeMounts = []corev1.VolumeMount{{Name: "aws-iam-token", MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", ReadOnly: true}}
		pod.Spec.Volumes = []corev1.Volume{{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", Path: "token"}}}}}}}
	}
	pod.Spec.Containers = []corev1.Container{ctr}
	c.pods = append(c.pods, pod)
}

// eventLog records Events as "Warning IRSA032 ServiceAccount shop/app".
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) Eventf(regarding, _ runtime.Object, eventtype, reason, _, _ string, _ ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var what string
	switch o := regarding.(type) {
	case *corev1.ServiceAccount:
		what = "ServiceAccount " + o.Namespace + "/" + o.Name
	case *corev1.Pod:
		what = "Pod " + o.Namespace + "/" + o.Name
	default:
		what = fmt.Sprintf("%T", regarding)
	}
	l.events = append(l.events, eventtype+" "+reason+" "+what)
}

// take returns the events since the last take.
func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.events
	l.events = nil
	return out
}

func sa(name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
}
