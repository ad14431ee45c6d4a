package fakeaws

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// OIDCIssuerOptions shapes the fake issuer for the thumbprint checks' edge cases.
type OIDCIssuerOptions struct {
	// Path is the issuer URL's path; default "/id/" + 32 upper-case hex characters like EKS.
	Path string
	// OmitIntermediate serves only the leaf certificate, as a misconfigured server does; the last
	// certificate served, and so the thumbprint IAM computes, is then the leaf.
	OmitIntermediate bool
	// IncludeRoot also sends the root CA, so the thumbprint is the root's.
	IncludeRoot bool
	// SeparateJWKSHost serves the JWKS from a second TLS server (https://localhost:PORT) with its
	// own chain under the same root, like issuers whose keys live on a CDN.
	SeparateJWKSHost bool
	// Wrap, when set, wraps the issuer's handlers (both hosts), so a test can make the issuer
	// misbehave: answer slowly, serve a huge or broken document, fail.
	Wrap func(http.Handler) http.Handler
}

// OIDCIssuer is an HTTPS OpenID Connect issuer on 127.0.0.1 serving a discovery document and a
// JWKS with a real RSA key, behind a generated root -> intermediate -> leaf chain.
type OIDCIssuer struct {
	opts     OIDCIssuerOptions
	issuer   *tlsServer
	jwks     *tlsServer // same as issuer unless SeparateJWKSHost
	url      string
	jwksURL  string
	key      *rsa.PrivateKey
	keyID    string
	rootPool *x509.CertPool
	rootPEM  []byte
}

// tlsServer is one HTTPS listener whose chain can be rotated.
type tlsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}

	mu     sync.Mutex
	chain  *chain
	served []*x509.Certificate
	cert   tls.Certificate
}

// NewOIDCIssuer starts the issuer. Close it when done.
func NewOIDCIssuer(opts OIDCIssuerOptions) (*OIDCIssuer, error) {
	if opts.Path == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		opts.Path = "/id/" + strings.ToUpper(hex.EncodeToString(b))
	}
	if !strings.HasPrefix(opts.Path, "/") || strings.HasSuffix(opts.Path, "/") {
		return nil, fmt.Errorf("OIDC issuer path %q must start with / and not end with one", opts.Path)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate OIDC signing key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode OIDC signing key: %w", err)
	}
	sum := sha256.Sum256(der)
	o := &OIDCIssuer{opts: opts, key: key, keyID: base64.RawURLEncoding.EncodeToString(sum[:])}

	ch, err := newChain("fakeaws OIDC")
	if err != nil {
		return nil, err
	}
	o.rootPool = x509.NewCertPool()
	o.rootPool.AddCert(ch.root)
	o.rootPEM = certPEM(ch.root)

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+opts.Path+"/.well-known/openid-configuration", o.serveDiscovery)
	if o.issuer, err = startTLS(ch, opts, wrap(opts, mux)); err != nil {
		return nil, err
	}
	o.url = "https://" + o.issuer.ln.Addr().String() + opts.Path
	o.jwks, o.jwksURL = o.issuer, o.url+"/keys"
	if opts.SeparateJWKSHost {
		second, err := ch.reissue()
		if err != nil {
			o.issuer.close()
			return nil, err
		}
		jmux := http.NewServeMux()
		jmux.HandleFunc("GET /keys", o.serveJWKS)
		if o.jwks, err = startTLS(second, opts, wrap(opts, jmux)); err != nil {
			o.issuer.close()
			return nil, err
		}
		_, port, _ := net.SplitHostPort(o.jwks.ln.Addr().String())
		o.jwksURL = "https://localhost:" + port + "/keys"
	} else {
		mux.HandleFunc("GET "+opts.Path+"/keys", o.serveJWKS)
	}
	return o, nil
}

func wrap(opts OIDCIssuerOptions, h http.Handler) http.Handler {
	if opts.Wrap == nil {
		return h
	}
	return opts.Wrap(h)
}

func startTLS(ch *chain, opts OIDCIssuerOptions, h http.Handler) (*tlsServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the OIDC issuer: %w", err)
	}
	s := &tlsServer{ln: ln, done: make(chan struct{})}
	s.setChain(ch, opts)
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		// Handshake failures are what some tests provoke; they are not worth a log line.
		ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				s.mu.Lock()
				defer s.mu.Unlock()
				c := s.cert
				return &c, nil
			},
		},
	}
	go func() {
		defer close(s.done)
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

func (s *tlsServer) setChain(ch *chain, opts OIDCIssuerOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chain = ch
	s.served = ch.served(opts.OmitIntermediate, opts.IncludeRoot)
	s.cert = tlsCertificate(s.served, ch.leafKey)
}

func (s *tlsServer) thumbprint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Thumbprint(s.served)
}

func (s *tlsServer) close() {
	_ = s.srv.Close()
	<-s.done
}

// reissue makes a new intermediate and leaf under the same root: the root still verifies the
// server, but the thumbprint of the chain changes.
func (c *chain) reissue() (*chain, error) {
	now := time.Now()
	midKey, mid, err := newCert("fakeaws OIDC intermediate CA", c.root, c.rootKey, now, true)
	if err != nil {
		return nil, err
	}
	leafKey, leaf, err := newCert("localhost", mid, midKey, now, false)
	if err != nil {
		return nil, err
	}
	return &chain{root: c.root, rootKey: c.rootKey, intermediate: mid, leaf: leaf, leafKey: leafKey}, nil
}

// Rotate reissues the intermediate and leaf of the issuer host (and of the JWKS host), keeping
// the root: TLS still verifies, but the thumbprint IAM pinned no longer matches, as when a CA
// rotates its intermediates.
func (o *OIDCIssuer) Rotate() error {
	for _, s := range uniqueServers(o.issuer, o.jwks) {
		s.mu.Lock()
		ch := s.chain
		s.mu.Unlock()
		next, err := ch.reissue()
		if err != nil {
			return fmt.Errorf("rotate OIDC issuer chain: %w", err)
		}
		s.setChain(next, o.opts)
	}
	return nil
}

func uniqueServers(a, b *tlsServer) []*tlsServer {
	if a == b {
		return []*tlsServer{a}
	}
	return []*tlsServer{a, b}
}

// URL is the issuer URL (https://127.0.0.1:PORT/id/...), the value of the tokens' iss claim.
func (o *OIDCIssuer) URL() string { return o.url }

// JWKSURL is the discovery document's jwks_uri.
func (o *OIDCIssuer) JWKSURL() string { return o.jwksURL }

// RootPool trusts the issuer's root CA (both hosts), for an http.Client's RootCAs.
func (o *OIDCIssuer) RootPool() *x509.CertPool { return o.rootPool }

// RootPEM is the root CA certificate in PEM, for tools that read a CA file.
func (o *OIDCIssuer) RootPEM() []byte { return o.rootPEM }

// Thumbprint is the thumbprint IAM computes for the issuer host: SHA-1 hex of the last
// certificate it serves.
func (o *OIDCIssuer) Thumbprint() string { return o.issuer.thumbprint() }

// JWKSThumbprint is the thumbprint of the jwks_uri host; equal to Thumbprint unless
// SeparateJWKSHost is set.
func (o *OIDCIssuer) JWKSThumbprint() string { return o.jwks.thumbprint() }

// KeyID is the kid of the JWKS's only key.
func (o *OIDCIssuer) KeyID() string { return o.keyID }

// SigningKey is the private key behind the JWKS, for tests that mint tokens.
func (o *OIDCIssuer) SigningKey() *rsa.PrivateKey { return o.key }

// Client is an HTTP client that trusts the issuer's root.
func (o *OIDCIssuer) Client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.rootPool, MinVersion: tls.VersionTLS12}}}
}

// Close stops the issuer's servers.
func (o *OIDCIssuer) Close() {
	for _, s := range uniqueServers(o.issuer, o.jwks) {
		s.close()
	}
}

// serveDiscovery answers with the document EKS's issuers serve.
func (o *OIDCIssuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSONBody(w, map[string]any{
		"issuer":                                o.url,
		"jwks_uri":                              o.jwksURL,
		"authorization_endpoint":                "urn:kubernetes:programmatic_authorization",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"claims_supported":                      []string{"sub", "iss"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (o *OIDCIssuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	pub := o.key.PublicKey
	writeJSONBody(w, map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": o.keyID,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func writeJSONBody(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// SignToken signs claims, exactly as given, into an RS256 JWT with the JWKS key and its kid in the
// header, as a Kubernetes API server signs ServiceAccount tokens. Use ServiceAccountToken for a
// token shaped like the TokenRequest API's.
func (o *OIDCIssuer) SignToken(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": o.keyID})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// ServiceAccountToken is a token for ServiceAccount namespace/name like the one the TokenRequest
// API issues: iss is URL(), sub system:serviceaccount:NAMESPACE:NAME, aud the audiences (a list,
// as Kubernetes writes it), iat and nbf now, exp now+ttl, and the kubernetes.io claim.
func (o *OIDCIssuer) ServiceAccountToken(namespace, name string, ttl time.Duration, audiences ...string) (string, error) {
	now := time.Now()
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	uid := hex.EncodeToString(sum[:16])
	return o.SignToken(map[string]any{
		"iss": o.url,
		"sub": "system:serviceaccount:" + namespace + ":" + name,
		"aud": audiences,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      namespace,
			"serviceaccount": map[string]string{"name": name, "uid": uid[0:8] + "-" + uid[8:12] + "-" + uid[12:16] + "-" + uid[16:20] + "-" + uid[20:32]},
		},
	})
}
