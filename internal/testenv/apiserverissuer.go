package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/validators"
)

// StartFakeAWSWithClusterIssuer serves an AWS state document whose first cluster's issuer is
// replaced by the API server's own service-account issuer (Env.Issuer): every mention of the
// issuer's host and path is rewritten, and its providers get the thumbprint of the chain the API
// server serves. Tokens from the TokenRequest API then verify at the fake's
// sts:AssumeRoleWithWebIdentity exactly as EKS tokens verify at STS: the fake reads the API
// server's discovery document and JWKS over HTTPS, anonymously, with the chain pinned by the
// thumbprint (the API server's CA is private). IssuerCAFile holds the API server's CA, for
// irsa-guard's --issuer-ca: trusted to read the issuer, never taken for a public CA (so CAFile,
// which Env would make Go's system roots, stays empty). Close the result when done.
func StartFakeAWSWithClusterIssuer(ctx context.Context, env *Env, stateYAML []byte, dir string) (*FakeAWS, error) {
	orig, err := awsstate.ParseState(stateYAML)
	if err != nil {
		return nil, fmt.Errorf("AWS state: %w", err)
	}
	if len(orig.Clusters) == 0 {
		return nil, fmt.Errorf("AWS state: list the cluster under clusters: with its issuer, so the fake knows which issuer to replace")
	}
	standsFor := orig.Clusters[0].Issuer
	api, err := url.Parse(env.Issuer)
	if err != nil {
		return nil, err
	}
	state, err := awsstate.ParseState(bytes.ReplaceAll(stateYAML, []byte(validators.IssuerHostPath(standsFor)), []byte(api.Host)))
	if err != nil {
		return nil, fmt.Errorf("AWS state with the API server's issuer: %w", err)
	}
	thumbprint, err := env.IssuerThumbprint(ctx)
	if err != nil {
		return nil, err
	}
	for _, acct := range state.Accounts {
		for i := range acct.OIDCProviders {
			if acct.OIDCProviders[i].URL == env.Issuer {
				acct.OIDCProviders[i].Thumbprints = []string{thumbprint}
			}
		}
	}
	caFile := filepath.Join(dir, "apiserver-ca.pem")
	if err := os.WriteFile(caFile, env.Config.CAData, 0o600); err != nil {
		return nil, fmt.Errorf("write the API server's CA: %w", err)
	}
	if err := env.AllowAnonymousIssuerDiscovery(ctx); err != nil {
		return nil, err
	}
	srv, err := fakeaws.Listen("127.0.0.1:0", state)
	if err != nil {
		return nil, err
	}
	return &FakeAWS{Server: srv, IssuerURL: env.Issuer, StandsFor: standsFor, IssuerCAFile: caFile, State: state}, nil
}

// IssuerThumbprint is the thumbprint IAM records for the API server's issuer: the SHA-1 of the
// last certificate of the chain it serves.
func (e *Env) IssuerThumbprint(ctx context.Context) (string, error) {
	u, err := url.Parse(e.Issuer)
	if err != nil {
		return "", err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(e.Config.CAData)
	d := tls.Dialer{Config: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return "", fmt.Errorf("read the API server's TLS chain: %w", err)
	}
	defer conn.Close()
	return fakeaws.Thumbprint(conn.(*tls.Conn).ConnectionState().PeerCertificates), nil
}

// AllowAnonymousIssuerDiscovery binds the system:service-account-issuer-discovery ClusterRole to
// unauthenticated users, as a self-managed cluster must for STS to read its discovery document
// and keys (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#service-account-issuer-discovery).
func (e *Env) AllowAnonymousIssuerDiscovery(ctx context.Context) error {
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "service-account-issuer-discovery-anonymous"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}
	_, err := e.Clientset.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("let STS read the issuer anonymously: %w", err)
	}
	return nil
}
