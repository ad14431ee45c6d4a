package awsfacts

import (
	"context"
	"crypto/sha1" //nolint:gosec // IAM thumbprints are SHA-1 by definition; nothing is secured with it here.
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators"
)

// maxDiscoveryBytes bounds the discovery document read from an issuer.
const maxDiscoveryBytes = 1 << 20

// chainFetcher reads what STS reads: the issuer's discovery document, then the TLS chain of
// its jwks_uri host: the thumbprint is of that host, not the issuer's
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc_verify-thumbprint.html).
type chainFetcher struct {
	client *http.Client   // trusts the system roots, Options.PublicRoots and Options.IssuerRoots
	public *x509.CertPool // the CAs AWS is taken to trust; nil means the system roots
}

func newChainFetcher(public, issuerRoots []*x509.Certificate) *chainFetcher {
	trusted, err := x509.SystemCertPool()
	if err != nil {
		trusted = x509.NewCertPool()
	}
	var publicPool *x509.CertPool
	if public != nil {
		publicPool = x509.NewCertPool()
	}
	for _, c := range public {
		publicPool.AddCert(c)
		trusted.AddCert(c)
	}
	for _, c := range issuerRoots {
		trusted.AddCert(c)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: trusted}
	return &chainFetcher{client: &http.Client{Transport: tr}, public: publicPool}
}

func verifyChain(certs []*x509.Certificate, host string, roots *x509.CertPool) error {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err
}

// fetch returns the jwks_uri host's chain facts for issuer.
func (f *chainFetcher) fetch(ctx context.Context, issuer string) (*validators.ChainFacts, error) {
	discovery := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discovery, nil)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery %q: %w", discovery, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery %q: %w", discovery, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("OIDC discovery %q: HTTP %d", discovery, resp.StatusCode)
	}
	u, err := parseDiscovery(io.LimitReader(resp.Body, maxDiscoveryBytes))
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery %q: %w", discovery, err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	certs, err := peerChain(ctx, host, u.Hostname())
	if err != nil {
		return nil, fmt.Errorf("read TLS chain of jwks_uri host %s: %w", u.Host, err)
	}
	sum := sha1.Sum(certs[len(certs)-1].Raw) //nolint:gosec // see import
	return &validators.ChainFacts{
		Host:            u.Host,
		Thumbprint:      hex.EncodeToString(sum[:]),
		PubliclyTrusted: verifyChain(certs, u.Hostname(), f.public) == nil,
	}, nil
}

// peerChain completes a TLS handshake only to read the certificates the host serves. It must
// not verify them: an untrusted chain is exactly what the thumbprint check is about, and no
// data is sent over this connection.
func peerChain(ctx context.Context, addr, serverName string) ([]*x509.Certificate, error) {
	d := tls.Dialer{Config: &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // see doc comment
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("server sent no certificate")
	}
	return certs, nil
}

// parseDiscovery reads an OpenID discovery document (untrusted input from the network) and
// returns its jwks_uri, which must be an https URL with a host.
func parseDiscovery(r io.Reader) (*url.URL, error) {
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON discovery document: %w", err)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("jwks_uri %s is not an https URL", validators.Quote(doc.JWKSURI, 80))
	}
	return u, nil
}
