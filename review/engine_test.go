package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/validators/trustpolicy"
)

const (
	issuer  = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	account = "111122223333"
	role    = "arn:aws:iam::111122223333:role/cart"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// trustFor is eksctl's trust policy for namespace/name.
func trustFor(namespace, name string) validators.TrustDocument {
	hp := validators.IssuerHostPath(issuer)
	return validators.ParseTrustDocument(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + hp +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:` + namespace + `:` + name + `","` + hp + `:aud":"sts.amazonaws.com"}}}]}`)
}

// source is a facts source with fixed facts shared by pointer, as the real ones share them, and a
// count of the questions it was asked.
type source struct {
	role     *validators.RoleFacts
	provider *validators.ProviderFacts
	asked    atomic.Int32
	delay    time.Duration
	release  chan struct{} // closed at the test's end: a delayed call then returns
	clock    func() time.Time
	// associations are EKS Pod Identity associations by namespace/name, with podIdentityRole
	// the role every association uses (nil: not found).
	associations    map[string]*validators.PodIdentityAssociation
	podIdentityRole *validators.RoleFacts
}

func newSource(trust validators.TrustDocument) *source {
	return &source{
		role:     &validators.RoleFacts{ARN: role, Trust: trust, CreateDate: now.Add(-24 * time.Hour)},
		provider: &validators.ProviderFacts{ARN: validators.ProviderARN("aws", account, issuer), ClientIDs: []string{"sts.amazonaws.com"}},
		clock:    func() time.Time { return now },
	}
}

func (s *source) IdentityFacts(ctx context.Context, id validators.Identity) validators.AWSFacts {
	s.asked.Add(1)
	if s.delay > 0 {
		select { // a source that ignores its deadline, until the test ends
		case <-time.After(s.delay):
		case <-s.release:
		}
	}
	if id.RoleARN != s.role.ARN {
		return validators.AWSFacts{Now: s.clock(), Partition: "aws", RoleNotFound: true, Provider: s.provider}
	}
	return validators.AWSFacts{Now: s.clock(), Partition: "aws", Role: s.role, Provider: s.provider}
}
func (s *source) CallerAccount(context.Context) (string, string, error) {
	return "aws-cn", account, nil
}
func (s *source) ClusterIssuer(context.Context, string) (string, error) { return issuer, nil }
func (s *source) PodIdentity(_ context.Context, cluster, namespace, name string) validators.PodIdentityFacts {
	f := validators.PodIdentityFacts{Now: s.clock(), Cluster: cluster}
	if a, ok := s.associations[namespace+"/"+name]; ok {
		f.Association = a
		f.Role = s.podIdentityRole
		f.RoleNotFound = s.podIdentityRole == nil
	}
	return f
}

// cluster is a Cluster with fixed answers.
type cluster struct {
	serviceAccounts map[string]*corev1.ServiceAccount
	namespaces      map[string]map[string]string
	webhooks        []admissionregistrationv1.MutatingWebhookConfiguration
	webhooksKnown   bool
}

func (c *cluster) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, bool) {
	sa, ok := c.serviceAccounts[ns+"/"+name]
	return sa, ok
}
func (c *cluster) NamespaceLabels(_ context.Context, ns string) (map[string]string, bool) {
	l, ok := c.namespaces[ns]
	return l, ok
}
func (c *cluster) MutatingWebhookConfigurations(context.Context) ([]admissionregistrationv1.MutatingWebhookConfiguration, bool) {
	return c.webhooks, c.webhooksKnown
}

func serviceAccount(annotations map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Annotations: annotations}}
}

func uninjectedPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1"},
		Spec: corev1.PodSpec{ServiceAccountName: "cart", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
}

func ids(fs []validators.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s/%s %s", f.Check, f.Severity, f.Object))
	}
	return out
}

func TestReview(t *testing.T) {
	good := serviceAccount(map[string]string{validators.AnnotationRoleARN: role})
	podIdentity := uninjectedPod()
	podIdentity.Labels = map[string]string{"eks.amazonaws.com/pod-identity": "enabled"}
	podIdentity.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value: "http://169.254.170.23/v1/credentials"}}
	tests := map[string]struct {
		subject  Subject
		sa       *corev1.ServiceAccount
		trust    validators.TrustDocument
		edit     func(*config.Configuration)
		noFacts  bool
		webhooks bool
		want     []string
	}{
		"a good ServiceAccount is silent at every stage": {
			subject: Subject{Stage: StageAdmission, ServiceAccount: good}, trust: trustFor("shop", "cart"), webhooks: true, want: []string{},
		},
		"a ServiceAccount whose role trusts another one: the trust finding on the ServiceAccount": {
			subject: Subject{Stage: StageManifest, ServiceAccount: good}, trust: trustFor("shop", "web"),
			want: []string{"IRSA032/error ServiceAccount shop/cart"},
		},
		"at admission a ServiceAccount is also checked against pod-identity-webhook's configuration": {
			subject: Subject{Stage: StageAdmission, ServiceAccount: good}, trust: trustFor("shop", "cart"), webhooks: false,
			want: []string{"IRSA050/error ServiceAccount shop/cart"},
		},
		"before admission a pod is checked as pod-identity-webhook will inject it: nothing missing": {
			subject: Subject{Stage: StageManifest, Pod: uninjectedPod()}, sa: good, trust: trustFor("shop", "cart"), want: []string{},
		},
		"at admission the same pod without injection is IRSA040": {
			subject: Subject{Stage: StageAdmission, Pod: uninjectedPod()}, sa: good, trust: trustFor("shop", "cart"), webhooks: true,
			want: []string{"IRSA040/error Pod shop/cart-1 container app"},
		},
		"a workload's template is reported on the workload, its ServiceAccount's findings on the ServiceAccount": {
			subject: Subject{Stage: StageManifest, Pod: uninjectedPod(), Object: validators.Object{Kind: "Deployment", Namespace: "shop", Name: "cart"}},
			sa:      good, trust: trustFor("shop", "web"),
			want: []string{"IRSA032/error ServiceAccount shop/cart"},
		},
		"a pod with EKS Pod Identity credentials is never reviewed for its role-arn": {
			subject: Subject{Stage: StageAdmission, Pod: podIdentity}, sa: good, trust: trustFor("shop", "web"), webhooks: true,
			want: []string{"IRSA062/info Pod shop/cart-1"},
		},
		"a configured severity applies everywhere": {
			subject: Subject{Stage: StageManifest, ServiceAccount: good}, trust: trustFor("shop", "web"),
			edit: func(c *config.Configuration) {
				c.Policy.CheckSeverity = map[validators.CheckID]validators.Severity{"IRSA032": "warning"}
			},
			want: []string{"IRSA032/warning ServiceAccount shop/cart"},
		},
		"a bare role name is valid where the cluster composes it, and is checked as the composed ARN": {
			subject: Subject{Stage: StageManifest, ServiceAccount: serviceAccount(map[string]string{validators.AnnotationRoleARN: "cart"})},
			trust:   trustFor("shop", "cart"),
			edit: func(c *config.Configuration) {
				c.Cluster.PodIdentityWebhook.ComposeRoleARN, c.Cluster.Account, c.Cluster.Partition = true, account, "aws"
			},
			want: []string{},
		},
		"a bare role name is composed with irsa-guard's own account when none is configured": {
			subject: Subject{Stage: StageManifest, ServiceAccount: serviceAccount(map[string]string{validators.AnnotationRoleARN: "cart"})},
			trust:   trustFor("shop", "cart"),
			edit:    func(c *config.Configuration) { c.Cluster.PodIdentityWebhook.ComposeRoleARN = true },
			// The source's caller account is in aws-cn: the composed ARN is another role than the one AWS holds.
			want: []string{"IRSA010/error ServiceAccount shop/cart"},
		},
		"without AWS a composed name is only checked for its grammar": {
			subject: Subject{Stage: StageManifest, ServiceAccount: serviceAccount(map[string]string{validators.AnnotationRoleARN: "team/car t"})},
			edit:    func(c *config.Configuration) { c.Cluster.PodIdentityWebhook.ComposeRoleARN = true },
			noFacts: true,
			want:    []string{"IRSA001/error ServiceAccount shop/cart"},
		},
		"an empty role-arn is no IRSA: a warning, and nothing is asked of AWS": {
			subject: Subject{Stage: StageAdmission, ServiceAccount: serviceAccount(map[string]string{validators.AnnotationRoleARN: ""})},
			want:    []string{"IRSA001/warning ServiceAccount shop/cart"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			if tc.edit != nil {
				tc.edit(cfg)
			}
			c := &cluster{serviceAccounts: map[string]*corev1.ServiceAccount{}, namespaces: map[string]map[string]string{"shop": {}}, webhooksKnown: true}
			if tc.sa != nil {
				c.serviceAccounts["shop/cart"] = tc.sa
			}
			if tc.webhooks {
				c.webhooks = []admissionregistrationv1.MutatingWebhookConfiguration{eksWebhook()}
			}
			opts := Options{Cluster: c, Issuer: issuer, Clock: func() time.Time { return now }}
			if !tc.noFacts {
				opts.Facts = newSource(tc.trust)
			}
			got := ids(New(cfg, opts).Review(context.Background(), tc.subject))
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q, want %q", got, tc.want)
			}
		})
	}
}

// eksWebhook is pod-identity-webhook as EKS registers it.
func eksWebhook() admissionregistrationv1.MutatingWebhookConfiguration {
	url := "https://127.0.0.1:23443/mutate"
	return admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         "iam-for-pods.amazonaws.com",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}
}

// TestMemoKeysOnTheFactsAndTheClock: a warm review reuses the answer for the same facts, a new
// fact (a changed fact is a new pointer) gets a new answer, and an answer that depends on
// the clock (a role inside IAM's propagation window) is recomputed once the window ends.
func TestMemoKeysOnTheFactsAndTheClock(t *testing.T) {
	clock := now
	src := newSource(trustFor("shop", "web"))
	src.clock = func() time.Time { return clock }
	src.role.CreateDate = now.Add(-30 * time.Second)
	e := New(config.Default(), Options{Facts: src, Issuer: issuer, Clock: src.clock})
	sa := Subject{Stage: StageManifest, ServiceAccount: serviceAccount(map[string]string{validators.AnnotationRoleARN: role})}
	review := func() string { return strings.Join(ids(e.Review(context.Background(), sa)), ",") }

	if got := review(); got != "IRSA032/warning ServiceAccount shop/cart" {
		t.Fatalf("a role created 30 s ago: %s, want a warning (still propagating)", got)
	}
	if n := len(e.memo.answers); n != 1 {
		t.Fatalf("memo holds %d answers, want 1", n)
	}
	clock = now.Add(time.Minute)
	if got := review(); got != "IRSA032/warning ServiceAccount shop/cart" {
		t.Fatalf("90 s after creation: %s", got)
	}
	clock = now.Add(3 * time.Minute)
	if got := review(); got != "IRSA032/error ServiceAccount shop/cart" {
		t.Fatalf("after the propagation window: %s, want the error", got)
	}
	// The role's trust policy is fixed: the source hands out a new RoleFacts.
	fixed := *src.role
	fixed.Trust = trustFor("shop", "cart")
	src.role = &fixed
	if got := review(); got != "" {
		t.Fatalf("after the trust policy changed: %s, want no findings", got)
	}
}

// TestAWSChecksAnswerWithinTheDeadline: a source that ignores its deadline is answered for by
// IRSA090 when the caller's deadline passes, never waited on.
func TestAWSChecksAnswerWithinTheDeadline(t *testing.T) {
	src := newSource(trustFor("shop", "cart"))
	src.delay, src.release = 2*time.Second, make(chan struct{})
	t.Cleanup(func() { close(src.release) })
	e := New(config.Default(), Options{Facts: src, Issuer: issuer})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := e.Review(ctx, Subject{Stage: StageAdmission, ServiceAccount: serviceAccount(map[string]string{validators.AnnotationRoleARN: role})})
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Errorf("review took %s with a 200 ms deadline", took)
	}
	if len(got) != 1 || got[0].Check != validators.CheckCouldNotVerify || !strings.Contains(got[0].Message, "did not finish") {
		t.Errorf("findings = %v, want one IRSA090 that the AWS checks did not finish", got)
	}
}

// TestPodIdentityTakesPrecedence: with the cluster's name configured, a ServiceAccount with an EKS
// Pod Identity association is reviewed for its association, never for its role-arn: the documented
// migration (trust moved to pods.eks.amazonaws.com, annotation left in place, even a broken one)
// is never denied.
func TestPodIdentityTakesPrecedence(t *testing.T) {
	piTrust := validators.ParseTrustDocument(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)
	migrated := serviceAccount(map[string]string{validators.AnnotationRoleARN: "arn:aws:iam::::1234567890:role/old"})
	tests := map[string]struct {
		subject Subject
		role    *validators.RoleFacts
		want    []string
	}{
		"a migrated ServiceAccount gets a note that its annotation is ignored, and its association is checked": {
			subject: Subject{Stage: StageAdmission, ServiceAccount: migrated},
			role:    &validators.RoleFacts{ARN: "arn:aws:iam::111122223333:role/cart-pi", Trust: piTrust},
			want:    []string{"IRSA062/info ServiceAccount shop/cart"},
		},
		"an association whose role trusts IRSA, not Pod Identity": {
			subject: Subject{Stage: StageAdmission, ServiceAccount: migrated},
			role:    &validators.RoleFacts{ARN: "arn:aws:iam::111122223333:role/cart-pi", Trust: trustFor("shop", "cart")},
			want:    []string{"IRSA062/info ServiceAccount shop/cart", "IRSA061/error ServiceAccount shop/cart"},
		},
		"before admission its pods are predicted to get Pod Identity credentials": {
			subject: Subject{Stage: StageManifest, Pod: uninjectedPod()},
			role:    &validators.RoleFacts{ARN: "arn:aws:iam::111122223333:role/cart-pi", Trust: piTrust},
			want:    []string{"IRSA062/info Pod shop/cart-1"},
		},
		"an association whose role is gone": {
			subject: Subject{Stage: StageAdmission, ServiceAccount: migrated},
			want:    []string{"IRSA062/info ServiceAccount shop/cart", "IRSA060/error ServiceAccount shop/cart"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Cluster.Name = "prod"
			src := newSource(trustFor("shop", "cart"))
			src.associations = map[string]*validators.PodIdentityAssociation{"shop/cart": {ID: "a-abcdefghijklmnopq", RoleARN: "arn:aws:iam::111122223333:role/cart-pi"}}
			src.podIdentityRole = tc.role
			c := &cluster{serviceAccounts: map[string]*corev1.ServiceAccount{"shop/cart": migrated}, namespaces: map[string]map[string]string{"shop": {}},
				webhooks: []admissionregistrationv1.MutatingWebhookConfiguration{eksWebhook()}, webhooksKnown: true}
			got := ids(New(cfg, Options{Facts: src, Cluster: c, Issuer: issuer, Clock: func() time.Time { return now }}).Review(context.Background(), tc.subject))
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q, want %q", got, tc.want)
			}
			if src.asked.Load() != 0 {
				t.Errorf("the role-arn's IAM role was looked up %d times; it is ignored", src.asked.Load())
			}
		})
	}
}

// TestAnAnswerIsNotKeptForeverWhenInstantsWereLeftOut: trustpolicy.Instants lists at most
// MaxInstants, the earliest. When all of those are past, a later one may still flip the decision,
// so the memo keeps the answer briefly instead of for good.
func TestAnAnswerIsNotKeptForeverWhenInstantsWereLeftOut(t *testing.T) {
	var past []string
	for i := range trustpolicy.MaxInstants + 8 {
		past = append(past, fmt.Sprintf("%q", now.Add(-time.Duration(i+1)*time.Hour).Format(time.RFC3339)))
	}
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:AssumeRoleWithWebIdentity",`+
		`"Condition":{"DateGreaterThan":{"aws:CurrentTime":[%s]},"DateLessThan":{"aws:CurrentTime":%q}}}]}`,
		strings.Join(past, ","), now.Add(24*time.Hour).Format(time.RFC3339))
	f := validators.AWSFacts{Role: &validators.RoleFacts{Trust: validators.ParseTrustDocument(doc)}}
	until := clockDependence(f, now)
	if until.IsZero() || until.After(now.Add(time.Minute)) {
		t.Errorf("answer kept until %v (zero: for ever); the policy flips at %v, after %d past instants", until, now.Add(24*time.Hour), len(past))
	}
}
