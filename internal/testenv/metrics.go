package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"
)

// metricsReader is the ServiceAccount the harness reads irsa-guard's metrics port as: bound to the
// chart's <fullname>-metrics-reader ClusterRole, as a cluster's Prometheus would be.
const metricsReader = "e2e-metrics-reader"

// MetricsGet GETs path ("/metrics", "/audit?namespace=shop") on the metrics port as the metrics
// reader, over HTTPS verified against the chart's CA, and returns the status and body.
func (g *IRSAGuard) MetricsGet(ctx context.Context, path string) (int, []byte, error) {
	if g.reader == "" {
		tok, err := g.readerToken(ctx)
		if err != nil {
			return 0, nil, err
		}
		g.reader = tok
	}
	return g.MetricsGetAs(ctx, path, g.reader)
}

// MetricsGetAs GETs path on the metrics port with token as its bearer token ("" sends none).
func (g *IRSAGuard) MetricsGetAs(ctx context.Context, path, token string) (int, []byte, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(g.MetricsCA()) {
		return 0, nil, errors.New("the chart's TLS Secret has no usable ca.crt")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	url := strings.TrimSuffix(g.MetricsURL, "/metrics") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// MetricsCA is the PEM CA the metrics port's certificate chains to (the chart's TLS Secret).
func (g *IRSAGuard) MetricsCA() []byte { return g.Chart.Files["/etc/irsa-guard/tls/ca.crt"] }

// readerToken binds the metrics reader to the chart's reader ClusterRole and returns a token for it.
func (g *IRSAGuard) readerToken(ctx context.Context) (string, error) {
	role, err := g.Chart.metricsReaderRole()
	if err != nil {
		return "", err
	}
	ns := g.opts.Namespace
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: metricsReader + "-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: metricsReader, Namespace: ns}},
	}
	if _, err := g.env.Clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("bind %s to %s: %w", metricsReader, role, err)
	}
	return g.env.ServiceAccountToken(ctx, ns, metricsReader)
}

// ServiceAccountToken creates the ServiceAccount if it does not exist and returns an hour-long token
// for it (TokenRequest), as a pod of it would mount.
func (e *Env) ServiceAccountToken(ctx context.Context, namespace, name string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := e.Clientset.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create ServiceAccount %s/%s: %w", namespace, name, err)
	}
	tr, err := e.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request a token for %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// metricsReaderRole is the name of the chart's ClusterRole for readers of the metrics port.
func (c *Chart) metricsReaderRole() (string, error) {
	reader := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(c.Objects)))
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return "", errors.New("the chart rendered no <fullname>-metrics-reader ClusterRole")
		}
		if err != nil {
			return "", err
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := sigsyaml.Unmarshal(raw, &meta); err == nil && meta.Kind == "ClusterRole" && strings.HasSuffix(meta.Metadata.Name, "-metrics-reader") {
			return meta.Metadata.Name, nil
		}
	}
}
