// Package testenv is irsa-guard's test environment: a real kube-apiserver, etcd and kubectl built by
// hack/controlplane.sh, the irsa-guard binary started exactly as the Helm chart deploys it, a fake AWS
// (package fakeaws) standing in for the cluster's IAM and OIDC issuer, and pod-identity-webhook. It
// starts and stops them and never leaks processes however a run ends. The end-to-end tests (package
// e2e, behind the e2e build tag: `make e2e`) and the demo (hack/demo) use it; it is never linked into
// the irsa-guard binary.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ErrNoAssets is returned when KUBEBUILDER_ASSETS does not name the built control plane.
var ErrNoAssets = errors.New("KUBEBUILDER_ASSETS must name the folder holding kube-apiserver, etcd and kubectl: " +
	"run `make e2e`, or `export KUBEBUILDER_ASSETS=$(hack/controlplane.sh | tail -1)`")

// Env is a running control plane. Config authenticates as a cluster admin (system:masters).
type Env struct {
	Config    *rest.Config
	Client    client.Client
	Clientset kubernetes.Interface
	// Kubeconfig is a file the real kubectl (and an irsa-guard server) can use to reach the API server.
	Kubeconfig string
	// AssetsDir holds kube-apiserver, etcd and kubectl.
	AssetsDir string
	// Webhook is where the API server expects a local webhook server; see InstallWebhooks.
	Webhook WebhookServing
	// Issuer is the API server's own service-account issuer, https://127.0.0.1:<port>, which serves
	// its discovery document and JWKS at the paths AWS STS reads (/.well-known/openid-configuration,
	// /openid/v1/jwks): a cluster issuer STS can verify tokens against, as it verifies EKS's.
	Issuer string

	testEnv *envtest.Environment
}

// WebhookServing describes the local webhook endpoint envtest prepared: the serving certificate
// (tls.crt and tls.key in CertDir, valid for Host and localhost) and the address the API server calls.
// An irsa-guard server under test must listen on Host:Port with the certificates from CertDir.
type WebhookServing struct {
	Host    string
	Port    int
	CertDir string
	// CAData is the PEM CA that signed the serving certificate; InstallWebhooks sets it as caBundle.
	CAData []byte
}

// Start starts etcd and kube-apiserver from assetsDir, waits for the default namespace, and writes a
// kubeconfig. Prefer RunSuite, which adds orphan reaping and signal handling around it.
func Start(assetsDir string) (*Env, error) {
	if assetsDir == "" {
		return nil, ErrNoAssets
	}
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assetsDir, bin)); err != nil {
			return nil, fmt.Errorf("%w (%s is missing %s)", ErrNoAssets, assetsDir, bin)
		}
	}
	testEnv := &envtest.Environment{
		BinaryAssetsDirectory: assetsDir,
		// Start prepares a CA, a serving certificate and a free port even with no webhooks to install,
		// so tests can install webhook configurations later (the chart's own, rendered by helm).
		WebhookInstallOptions: envtest.WebhookInstallOptions{LocalServingHost: "127.0.0.1"},
	}
	issuer, err := pinIssuer(testEnv)
	if err != nil {
		return nil, err
	}
	cfg, err := testEnv.Start()
	if err != nil {
		_ = testEnv.Stop()
		return nil, fmt.Errorf("start the control plane from %s: %w", assetsDir, err)
	}
	e := &Env{Config: cfg, AssetsDir: assetsDir, Issuer: issuer, testEnv: testEnv}
	if err := e.connect(); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// pinIssuer picks the API server's secure port before it starts, so its service-account issuer can
// be https://127.0.0.1:<port> exactly: envtest's default ends in a slash, and STS reads
// <issuer>/.well-known/openid-configuration. The jwks_uri is pinned to the same host
// (https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/, flags
// --service-account-issuer and --service-account-jwks-uri).
func pinIssuer(testEnv *envtest.Environment) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pick the API server's port: %w", err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	if err := l.Close(); err != nil {
		return "", err
	}
	api := testEnv.ControlPlane.GetAPIServer()
	api.SecureServing.Address, api.SecureServing.Port = "127.0.0.1", port //nolint:staticcheck // the secure port, as envtest names it
	issuer := "https://127.0.0.1:" + port
	api.Configure().Set("service-account-issuer", issuer).Set("service-account-jwks-uri", issuer+"/openid/v1/jwks")
	return issuer, nil
}

// connect builds the clients and the kubeconfig for an admin user.
func (e *Env) connect() error {
	var err error
	if e.Client, err = client.New(e.Config, client.Options{}); err != nil {
		return fmt.Errorf("build a controller-runtime client: %w", err)
	}
	if e.Clientset, err = kubernetes.NewForConfig(e.Config); err != nil {
		return fmt.Errorf("build a client-go clientset: %w", err)
	}
	admin, err := e.testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add the e2e admin user: %w", err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		return fmt.Errorf("render the admin kubeconfig: %w", err)
	}
	// The API server's cert dir is private to this run and removed by Stop (and by the reaper).
	e.Kubeconfig = filepath.Join(e.testEnv.ControlPlane.APIServer.CertDir, "e2e-admin.kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	w := e.testEnv.WebhookInstallOptions
	e.Webhook = WebhookServing{Host: w.LocalServingHost, Port: w.LocalServingPort, CertDir: w.LocalServingCertDir, CAData: w.LocalServingCAData}
	return nil
}

// Stop stops kube-apiserver and etcd and removes their directories. Safe to call more than once.
func (e *Env) Stop() error {
	if e == nil || e.testEnv == nil {
		return nil
	}
	err := e.testEnv.Stop()
	e.testEnv = nil
	if err != nil {
		return fmt.Errorf("stop the control plane: %w", err)
	}
	return nil
}

// InstallWebhooks creates (or updates) webhook configurations that point at the local webhook server:
// every webhook's clientConfig.service is replaced by the URL https://Host:Port/<service.path> and its
// caBundle by Webhook.CAData, exactly as envtest does for its own install. Pass the configurations the
// chart renders (see DecodeWebhookConfigurations) so the suite checks the chart and binary agree on paths.
// It waits until the API server lists them. Webhooks with a url clientConfig keep their URL.
func (e *Env) InstallWebhooks(ctx context.Context, mutating []*admissionregistrationv1.MutatingWebhookConfiguration, validating []*admissionregistrationv1.ValidatingWebhookConfiguration) error {
	if e.testEnv == nil {
		return errors.New("install webhooks: the control plane is stopped")
	}
	opts := envtest.WebhookInstallOptions{
		MutatingWebhooks:    mutating,
		ValidatingWebhooks:  validating,
		LocalServingHost:    e.Webhook.Host,
		LocalServingPort:    e.Webhook.Port,
		LocalServingCertDir: e.Webhook.CertDir,
		LocalServingCAData:  e.Webhook.CAData,
	}
	if err := opts.ModifyWebhookDefinitions(); err != nil {
		return fmt.Errorf("point webhook configurations at %s:%d: %w", e.Webhook.Host, e.Webhook.Port, err)
	}
	// Install skips certificate generation because LocalServingCAData is set; it creates or updates
	// each configuration and polls until the API server serves them.
	done := make(chan error, 1)
	go func() { done <- opts.Install(e.Config) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("install webhook configurations: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("install webhook configurations: %w", ctx.Err())
	}
}
