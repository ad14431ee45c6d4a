package fakeaws

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

const (
	// defaultIssuerTimeout bounds the discovery and JWKS fetches of one call. AWS names "latency
	// of more than 5 seconds in API requests from the IdP" as a cause of "Couldn't retrieve
	// verification key" (https://repost.aws/knowledge-center/iam-sts-invalididentitytoken).
	defaultIssuerTimeout = 5 * time.Second
	// maxIssuerDocument bounds each of the two documents; STS's own limit is not published.
	maxIssuerDocument = 128 << 10
)

// SetIssuerRoots sets the CAs that play AWS's "library of trusted root certificate authorities"
// for AssumeRoleWithWebIdentity: an issuer whose TLS chain verifies against them is trusted
// without its thumbprint; any other must present a last certificate whose SHA-1 is in the
// provider's thumbprint list. nil, the default, means the system roots. Test issuers use private
// CAs, so a test that wants a "publicly trusted" issuer passes its OIDCIssuer.RootPool().
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html
func (s *Server) SetIssuerRoots(pool *x509.CertPool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuerRoots = pool
}

// SetIssuerTimeout bounds how long AssumeRoleWithWebIdentity waits for an issuer's discovery
// document and JWKS together; 0 restores the default of 5 seconds.
func (s *Server) SetIssuerTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuerTimeout = d
}

func (s *Server) issuerSettings() (*x509.CertPool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issuerTimeout <= 0 {
		return s.issuerRoots, defaultIssuerTimeout
	}
	return s.issuerRoots, s.issuerTimeout
}

// thumbprintError is a TLS chain that neither verifies against the trusted roots nor ends in a
// certificate the provider pins.
type thumbprintError struct{ host string }

func (e *thumbprintError) Error() string {
	return "the TLS chain of " + e.host + " is not trusted and its last certificate is not a configured thumbprint"
}

// fetchIssuerKeys reads issuer's discovery document and then its jwks_uri, the way STS gets a
// token's verification keys, checking each host's TLS chain (checkChain). Every failure is an
// error; a *thumbprintError says the chain was refused.
func (s *Server) fetchIssuerKeys(ctx context.Context, issuer string, thumbprints []string) ([]jwk, error) {
	roots, timeout := s.issuerSettings()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	disc, err := fetchIssuerDocument(ctx, issuer+"/.well-known/openid-configuration", roots, thumbprints)
	if err != nil {
		return nil, fmt.Errorf("discovery document: %w", err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(disc, &doc); err != nil || doc.JWKSURI == "" {
		return nil, errors.New(`discovery document has no "jwks_uri"`)
	}
	body, err := fetchIssuerDocument(ctx, doc.JWKSURI, roots, thumbprints)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	return parseJWKS(body)
}

// fetchIssuerDocument GETs one https URL on a loopback host (see loopbackOnly) without following
// redirects, reading at most maxIssuerDocument bytes.
func fetchIssuerDocument(ctx context.Context, rawURL string, roots *x509.CertPool, thumbprints []string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an https URL", rawURL)
	}
	host := u.Hostname()
	dialer := &net.Dialer{Control: loopbackOnly}
	client := &http.Client{
		Transport: &http.Transport{
			Proxy: nil, // never through an environment proxy
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				h, _, err := net.SplitHostPort(addr)
				if err != nil || !loopbackName(h) {
					return nil, fmt.Errorf("fake AWS fetches issuers on loopback addresses only, not %s", addr)
				}
				return dialer.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{
				MinVersion: tls.VersionTLS12,
				// The chain is checked below, with a thumbprint fallback that Go's verifier lacks.
				InsecureSkipVerify: true, //nolint:gosec // checkChain verifies or pins every chain
				VerifyConnection: func(cs tls.ConnectionState) error {
					return checkChain(host, cs.PeerCertificates, roots, thumbprints)
				},
			},
			DisableKeepAlives:  true,
			DisableCompression: true, // a small gzip body must not inflate past the limit unread
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u.Redacted(), resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerDocument+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxIssuerDocument {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u.Redacted(), maxIssuerDocument)
	}
	return b, nil
}

// checkChain accepts a chain that verifies for host against roots (the stand-in for AWS's
// trusted CAs; nil is the system roots), and otherwise one whose last certificate's thumbprint
// is pinned: "If your OIDC IdP relies on a certificate that is not signed by one of these trusted
// CAs, only then we secure communication using the thumbprints" (IAM API reference,
// UpdateOpenIDConnectProviderThumbprint). The thumbprint is the SHA-1 of the last certificate the
// server sends (IAM User Guide, "Obtain the thumbprint for an OpenID Connect identity provider").
func checkChain(host string, certs []*x509.Certificate, roots *x509.CertPool, thumbprints []string) error {
	if len(certs) == 0 {
		return &thumbprintError{host: host}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err == nil {
		return nil
	}
	tp := Thumbprint(certs)
	for _, t := range thumbprints {
		if strings.EqualFold(t, tp) {
			return nil
		}
	}
	return &thumbprintError{host: host}
}

// loopbackName reports whether host is localhost or a loopback IP literal. Other names are
// refused before any DNS lookup: the fake must not reach beyond the machine it runs on.
func loopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly refuses a connection whose resolved address is not loopback ("localhost" could
// be mapped elsewhere).
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("fake AWS fetches issuers on loopback addresses only, not %s", address)
	}
	return nil
}
