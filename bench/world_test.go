package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// The baseline paths: the same server and request bodies, answered by a handler that decodes the
// typed object like irsa-guard's and allows it without looking at it.
const (
	pathAllowAllServiceAccount = "/allow-all-serviceaccount"
	pathAllowAllPod            = "/allow-all-pod"
)

const (
	account  = "111122223333"
	roleName = "cart"
	roleARN  = "arn:aws:iam::" + account + ":role/" + roleName
	cacheTTL = 10 * time.Minute
	// maxConns caps the client's connections to the webhook: past it, requests queue (and the
	// open-loop benchmark counts the wait) instead of each paying a new TLS handshake.
	maxConns = 64
)

// state is the AWS account the benchmarks read: the role the ServiceAccount names, trusted for
// exactly shop/cart with the default audience (eksctl's shape), and the cluster's provider.
const state = `
callerAccount: "111122223333"
accounts:
  "111122223333":
    roles:
      - name: cart
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal: {Federated: "arn:aws:iam::111122223333:oidc-provider/HOSTPATH"}
              Action: sts:AssumeRoleWithWebIdentity
              Condition:
                StringEquals:
                  "HOSTPATH:sub": system:serviceaccount:shop:cart
                  "HOSTPATH:aud": sts.amazonaws.com
    oidcProviders:
      - url: ISSUER
        clientIDs: [sts.amazonaws.com]
        thumbprints: [THUMB]
`

// skewClock is the verifier's clock. expire moves it past the cache TTL so the next request
// misses every cache, as a fresh replica's first request does.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) Now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) expire()        { c.skew.Add(int64(cacheTTL + time.Second)) }

// world is one running irsa-guard webhook server, its fake AWS and a keep-alive HTTPS client
// that plays the API server.
type world struct {
	aws    *fakeaws.Server
	clock  *skewClock
	url    string
	client *http.Client
	sa     []byte // AdmissionReview: CREATE of the ServiceAccount shop/cart
	pod    []byte // AdmissionReview: CREATE of a pod of shop/cart, as pod-identity-webhook mutated it
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)

	iss, err := fakeaws.NewOIDCIssuer(fakeaws.OIDCIssuerOptions{})
	if err != nil {
		tb.Fatalf("NewOIDCIssuer: %v", err)
	}
	tb.Cleanup(iss.Close)
	text := strings.NewReplacer("HOSTPATH", validators.IssuerHostPath(iss.URL()), "ISSUER", iss.URL(), "THUMB", iss.JWKSThumbprint()).Replace(state)
	st, err := awsstate.ParseState([]byte(text))
	if err != nil {
		tb.Fatalf("ParseState: %v", err)
	}
	aws := fakeaws.NewServer(st)
	tb.Cleanup(aws.Close)

	w := &world{aws: aws, clock: &skewClock{}}
	facts := w.facts(tb, iss)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}
	cfg := config.Default()
	cluster := serveCluster(tb, ctx, scheme, cfg, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		serviceAccount(), podIdentityWebhook())
	deps := &webhook.Deps{
		Engine:  review.New(cfg, review.Options{Facts: facts, Cluster: cluster, Issuer: iss.URL(), Clock: w.clock.Now}),
		Cluster: cluster, Policy: webhook.Policy{Policy: cfg.Policy}, Budget: 2500 * time.Millisecond,
	}

	w.url, w.client = serveWebhook(tb, ctx, scheme, deps)
	w.sa = admissionReview(tb, "ServiceAccount", "serviceaccounts", serviceAccount())
	w.pod = admissionReview(tb, "Pod", "pods", injectedPod())
	return w
}

// serveWebhook runs controller-runtime's webhook server as serve configures it (TLS 1.2+,
// HTTP/1.1) with irsa-guard's handlers on deps and the allow-all baselines, until ctx ends, and
// returns its URL and a keep-alive HTTPS client that plays the API server.
func serveWebhook(tb testing.TB, ctx context.Context, scheme *runtime.Scheme, deps *webhook.Deps) (string, *http.Client) {
	tb.Helper()
	certDir, pool := servingCert(tb)
	srv := crwebhook.NewServer(crwebhook.Options{
		Host: "127.0.0.1", Port: freePort(tb), CertDir: certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12; c.NextProtos = []string{"http/1.1"} }},
	})
	webhook.Register(srv, scheme, deps, webhook.Fixers{})
	srv.Register(pathAllowAllServiceAccount, admission.WithValidator[*corev1.ServiceAccount](scheme, allowAll[*corev1.ServiceAccount]{}))
	srv.Register(pathAllowAllPod, admission.WithValidator[*corev1.Pod](scheme, allowAll[*corev1.Pod]{}))
	errc := make(chan error, 1)
	go func() { errc <- srv.Start(ctx) }()
	waitStarted(tb, srv, errc)

	addr := net.JoinHostPort(srv.(*crwebhook.DefaultServer).Options.Host, fmt.Sprint(srv.(*crwebhook.DefaultServer).Options.Port))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256, // the API server keeps its webhook connections alive
		MaxConnsPerHost:     maxConns,
	}}
	tb.Cleanup(client.CloseIdleConnections)
	return "https://" + addr, client
}

// facts is the production AWS facts source on the fake: own account from sts:GetCallerIdentity,
// default TTLs, the issuer's chain counted as publicly trusted. The IAM rate limit is lifted so
// the cold benchmarks time the round trips, not the 5 requests/s budget.
func (w *world) facts(tb testing.TB, iss *fakeaws.OIDCIssuer) *awsfacts.SDK {
	return newFacts(tb, w.aws, iss, awsfacts.Options{TTL: cacheTTL, Clock: w.clock.Now, RateLimit: rate.Inf})
}

// newFacts is the production AWS facts source on the fake aws with opts, the issuer's chain
// counted as publicly trusted and its metrics on a registry of its own.
func newFacts(tb testing.TB, aws *fakeaws.Server, iss *fakeaws.OIDCIssuer, opts awsfacts.Options) *awsfacts.SDK {
	tb.Helper()
	block, _ := pem.Decode(iss.RootPEM())
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		tb.Fatalf("parse the fake issuer's root: %v", err)
	}
	cfg := awssdk.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider(fakeaws.CallerAccessKeyID(account), fakeaws.CallerSecretAccessKey, ""),
		BaseEndpoint: awssdk.String(aws.URL()),
	}
	opts.Registerer, opts.PublicRoots = prometheus.NewRegistry(), []*x509.Certificate{root}
	v, err := awsfacts.NewSDK(cfg, opts)
	if err != nil {
		tb.Fatalf("NewSDK: %v", err)
	}
	return v
}

func waitStarted(tb testing.TB, srv crwebhook.Server, errc <-chan error) {
	tb.Helper()
	check := srv.StartedChecker()
	deadline := time.Now().Add(10 * time.Second)
	for check(nil) != nil {
		select {
		case err := <-errc:
			tb.Fatalf("webhook server stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("webhook server not serving after 10s: %v", check(nil))
		}
	}
}

// iamCalls is how many IAM and STS requests reached the fake since the last ResetCalls.
func (w *world) iamCalls() int {
	n := 0
	for _, api := range []string{"GetRole", "GetOpenIDConnectProvider", "ListOpenIDConnectProviders", "GetCallerIdentity", "AssumeRole"} {
		n += w.aws.Calls(api)
	}
	return n
}

// post sends one AdmissionReview and reads the whole answer, as the API server does.
func (w *world) post(path string, body []byte) ([]byte, error) {
	return post(w.client, w.url+path, body)
}

func post(client *http.Client, url string, body []byte) ([]byte, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("POST %s: %s: %s", url, resp.Status, out)
	}
	return out, err
}

type allowAll[T runtime.Object] struct{}

func (allowAll[T]) ValidateCreate(context.Context, T) (admission.Warnings, error)    { return nil, nil }
func (allowAll[T]) ValidateUpdate(context.Context, T, T) (admission.Warnings, error) { return nil, nil }
func (allowAll[T]) ValidateDelete(context.Context, T) (admission.Warnings, error)    { return nil, nil }

func serviceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart", Labels: map[string]string{"app.kubernetes.io/name": "cart"},
			Annotations: map[string]string{validators.AnnotationRoleARN: roleARN, "eks.amazonaws.com/sts-regional-endpoints": "true"}},
	}
}

// injectedPod is a Deployment's pod of shop/cart after pod-identity-webhook injected IRSA into it.
func injectedPod() *corev1.Pod { return injectedPodOf("shop", "cart", roleARN) }

// injectedPodOf is a Deployment's pod of namespace/serviceAccount after pod-identity-webhook
// injected role into it.
func injectedPodOf(namespace, serviceAccount, role string) *corev1.Pod {
	expiry := int64(86400)
	env := []corev1.EnvVar{
		{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "regional"},
		{Name: "AWS_DEFAULT_REGION", Value: "us-west-2"}, {Name: "AWS_REGION", Value: "us-west-2"},
		{Name: "AWS_ROLE_ARN", Value: role},
		{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"},
	}
	mount := corev1.VolumeMount{Name: "aws-iam-token", ReadOnly: true, MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount"}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, GenerateName: serviceAccount + "-7d9c5b8f6-",
			Labels: map[string]string{"app.kubernetes.io/name": serviceAccount, "pod-template-hash": "7d9c5b8f6"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers: []corev1.Container{{
				Name: "cart", Image: "public.ecr.aws/example/cart:1.4.2", Env: env, VolumeMounts: []corev1.VolumeMount{mount},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
			Volumes: []corev1.Volume{{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
					Audience: "sts.amazonaws.com", ExpirationSeconds: &expiry, Path: "token"}}}}}}},
		},
	}
}

// podIdentityWebhook is EKS's pod-identity-webhook configuration, able to inject in shop.
func podIdentityWebhook() *admissionregistrationv1.MutatingWebhookConfiguration {
	url := "https://127.0.0.1:23443/mutate"
	sideEffects, ignore := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Ignore
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "iam-for-pods.amazonaws.com",
			SideEffects:             &sideEffects,
			FailurePolicy:           &ignore,
			AdmissionReviewVersions: []string{"v1beta1"},
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}
}

// servingCert writes a self-signed serving certificate for 127.0.0.1 where the webhook server
// looks for it (tls.crt, tls.key) and returns the pool that trusts it.
func servingCert(tb testing.TB) (string, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "irsa-guard.irsa-guard.svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return dir, pool
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
