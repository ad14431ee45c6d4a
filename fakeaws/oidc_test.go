package fakeaws

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
)

// servedThumbprint does what IAM (and irsa-guard's thumbprint check) does: connect, take the
// last certificate the server presented, SHA-1 it. verifyErr says whether pool trusts the chain.
func servedThumbprint(t *testing.T, rawURL string, pool *x509.CertPool) (thumb string, n int, verifyErr error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	// Read the chain unverified, as IAM does for issuers outside its CA library.
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // reading, not trusting
	if err != nil {
		t.Fatalf("TLS to %s: %v", u.Host, err)
	}
	certs := conn.ConnectionState().PeerCertificates
	_ = conn.Close()
	sum := sha1.Sum(certs[len(certs)-1].Raw)
	if c, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}); err != nil {
		verifyErr = err
	} else {
		_ = c.Close()
	}
	return hex.EncodeToString(sum[:]), len(certs), verifyErr
}

func getJSON(t *testing.T, o *OIDCIssuer, rawURL string, v any) {
	t.Helper()
	resp, err := o.Client().Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", rawURL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", rawURL, err)
	}
}

func TestOIDCIssuerServesDiscoveryAndJWKS(t *testing.T) {
	o, err := NewOIDCIssuer(OIDCIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if !strings.HasPrefix(o.URL(), "https://127.0.0.1:") || !strings.Contains(o.URL(), "/id/") {
		t.Errorf("URL = %q, want an EKS-shaped issuer on 127.0.0.1", o.URL())
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
		Algs    []string
	}
	getJSON(t, o, o.URL()+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != o.URL() || disc.JWKSURI != o.URL()+"/keys" {
		t.Errorf("discovery = %+v", disc)
	}
	var jwks struct {
		Keys []struct{ Kty, Alg, Use, Kid, N, E string }
	}
	getJSON(t, o, disc.JWKSURI, &jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS has %d keys", len(jwks.Keys))
	}
	k := jwks.Keys[0]
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	e, _ := base64.RawURLEncoding.DecodeString(k.E)
	pub := o.SigningKey().PublicKey
	if k.Kty != "RSA" || k.Alg != "RS256" || k.Kid != o.KeyID() || new(big.Int).SetBytes(n).Cmp(pub.N) != 0 || new(big.Int).SetBytes(e).Int64() != int64(pub.E) {
		t.Errorf("JWKS key %+v does not match the signing key", k)
	}
	block, _ := pem.Decode(o.RootPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Errorf("RootPEM is not a PEM certificate")
	}
}

func TestOIDCIssuerThumbprints(t *testing.T) {
	tests := map[string]struct {
		opts       OIDCIssuerOptions
		wantCerts  int
		wantVerify bool
	}{
		"the usual chain sends leaf and intermediate; the intermediate is pinned": {
			opts: OIDCIssuerOptions{}, wantCerts: 2, wantVerify: true,
		},
		"a server that omits the intermediate cannot be verified from the root and pins its leaf": {
			opts: OIDCIssuerOptions{OmitIntermediate: true}, wantCerts: 1, wantVerify: false,
		},
		"a server that also sends the root pins the root": {
			opts: OIDCIssuerOptions{IncludeRoot: true}, wantCerts: 3, wantVerify: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o, err := NewOIDCIssuer(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			got, n, verr := servedThumbprint(t, o.URL(), o.RootPool())
			if (verr == nil) != tc.wantVerify {
				t.Errorf("verification error %v, want verified = %v", verr, tc.wantVerify)
			}
			if n != tc.wantCerts || got != o.Thumbprint() || len(got) != 40 {
				t.Errorf("served %d certs with thumbprint %s; want %d certs and Thumbprint() %s", n, got, tc.wantCerts, o.Thumbprint())
			}
			if o.JWKSThumbprint() != o.Thumbprint() {
				t.Errorf("JWKS host is the issuer host, but thumbprints differ")
			}
		})
	}
}

func TestOIDCIssuerSeparateJWKSHost(t *testing.T) {
	o, err := NewOIDCIssuer(OIDCIssuerOptions{SeparateJWKSHost: true, Path: "/tenant/a"})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, o, o.URL()+"/.well-known/openid-configuration", &disc)
	if !strings.HasPrefix(disc.JWKSURI, "https://localhost:") || disc.JWKSURI != o.JWKSURL() {
		t.Fatalf("jwks_uri = %q, want a second host", disc.JWKSURI)
	}
	var jwks struct{ Keys []map[string]string }
	getJSON(t, o, disc.JWKSURI, &jwks)
	got, _, err := servedThumbprint(t, disc.JWKSURI, o.RootPool())
	if err != nil {
		t.Fatal(err)
	}
	if got != o.JWKSThumbprint() || got == o.Thumbprint() {
		t.Errorf("JWKS host thumbprint %s, JWKSThumbprint %s, issuer %s: want the JWKS host's own", got, o.JWKSThumbprint(), o.Thumbprint())
	}
}

func TestOIDCIssuerRotateChangesThumbprintNotTrust(t *testing.T) {
	o, err := NewOIDCIssuer(OIDCIssuerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	before := o.Thumbprint()
	if err := o.Rotate(); err != nil {
		t.Fatal(err)
	}
	got, _, err := servedThumbprint(t, o.URL(), o.RootPool())
	if err != nil {
		t.Fatalf("TLS after rotation: %v", err)
	}
	if got == before || got != o.Thumbprint() {
		t.Errorf("thumbprint before %s, served after %s, Thumbprint() %s", before, got, o.Thumbprint())
	}
}

func TestOIDCIssuerRejectsBadPath(t *testing.T) {
	if _, err := NewOIDCIssuer(OIDCIssuerOptions{Path: "/id/x/"}); err == nil || !strings.Contains(err.Error(), `path "/id/x/" must start with / and not end with one`) {
		t.Errorf("error = %v", err)
	}
}
