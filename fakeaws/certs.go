package fakeaws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // IAM OIDC thumbprints are SHA-1 by definition
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// chain is a generated PKI: root CA -> intermediate CA -> leaf for 127.0.0.1, ::1 and localhost.
type chain struct {
	root, intermediate, leaf *x509.Certificate
	rootKey, leafKey         crypto.Signer
}

// newChain generates a fresh chain. The root signs only the intermediate, as public CAs do, so
// the intermediate is what IAM's thumbprint pins when the server sends it.
func newChain(name string) (*chain, error) {
	now := time.Now()
	rootKey, rootCert, err := newCert(name+" root CA", nil, nil, now, true)
	if err != nil {
		return nil, err
	}
	midKey, midCert, err := newCert(name+" intermediate CA", rootCert, rootKey, now, true)
	if err != nil {
		return nil, err
	}
	leafKey, leafCert, err := newCert("localhost", midCert, midKey, now, false)
	if err != nil {
		return nil, err
	}
	return &chain{root: rootCert, intermediate: midCert, leaf: leafCert, rootKey: rootKey, leafKey: leafKey}, nil
}

// newCert makes an ECDSA P-256 certificate signed by parent (self-signed when parent is nil).
func newCert(cn string, parent *x509.Certificate, parentKey crypto.Signer, now time.Time, isCA bool) (crypto.Signer, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key for %s: %w", cn, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("serial for %s: %w", cn, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"irsa-guard fakeaws"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate %s: %w", cn, err)
	}
	return key, cert, nil
}

// served is the certificate list the TLS server sends for this chain.
func (c *chain) served(omitIntermediate, includeRoot bool) []*x509.Certificate {
	out := []*x509.Certificate{c.leaf}
	if !omitIntermediate {
		out = append(out, c.intermediate)
	}
	if includeRoot {
		out = append(out, c.root)
	}
	return out
}

func tlsCertificate(certs []*x509.Certificate, key crypto.Signer) tls.Certificate {
	tc := tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, c := range certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

// Thumbprint is what IAM pins for a served chain: the lower-case hex SHA-1 of the last
// certificate the server sends (the "top intermediate" in AWS's documentation).
func Thumbprint(served []*x509.Certificate) string {
	if len(served) == 0 {
		return ""
	}
	sum := sha1.Sum(served[len(served)-1].Raw) //nolint:gosec // IAM defines the thumbprint as SHA-1
	return hex.EncodeToString(sum[:])
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
