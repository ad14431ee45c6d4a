package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// testCA issues certificates like the chart's genCA/genSignedCert do.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "irsa-guard-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert: cert, key: key, pem: b64PEM(der)}
}

func (ca testCA) issue(t *testing.T, dns []string, ips []net.IP) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "irsa-guard.irsa-guard.svc"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: dns, IPAddresses: ips, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return b64PEM(der)
}

func b64PEM(der []byte) string {
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func render(secretCA, cert, webhookCA string) string {
	return fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: irsa-guard}
---
apiVersion: v1
kind: Secret
metadata: {name: irsa-guard-tls}
data:
  ca.crt: %s
  tls.crt: %s
  tls.key: a2V5
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: irsa-guard}
webhooks:
  - name: serviceaccounts.validate.irsa-guard.io
    clientConfig: {caBundle: %s}
`, secretCA, cert, webhookCA)
}

func TestCheckTLS(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	svc := []string{"irsa-guard.irsa-guard.svc", "irsa-guard.irsa-guard.svc.cluster.local"}
	good := ca.issue(t, svc, []net.IP{net.ParseIP("127.0.0.1")})
	tests := map[string]struct {
		rendered string
		dns, ips []string
		wantErr  string
	}{
		"a certificate from the trusted CA with every name passes": {
			rendered: render(ca.pem, good, ca.pem), dns: svc, ips: []string{"127.0.0.1"},
		},
		"a webhook trusting another CA than the Secret's is caught": {
			rendered: render(ca.pem, good, other.pem), dns: svc,
			wantErr: "caBundle differs from the Secret's ca.crt",
		},
		"a certificate signed by another CA does not verify": {
			rendered: render(ca.pem, other.issue(t, svc, nil), ca.pem), dns: svc,
			wantErr: "tls.crt does not verify against ca.crt",
		},
		"a missing Service DNS name is named": {
			rendered: render(ca.pem, ca.issue(t, svc[:1], nil), ca.pem), dns: svc,
			wantErr: `tls.crt has no DNS name "irsa-guard.irsa-guard.svc.cluster.local"`,
		},
		"a missing IP for webhook.url is named": {
			rendered: render(ca.pem, ca.issue(t, svc, nil), ca.pem), ips: []string{"127.0.0.1"},
			wantErr: "tls.crt has no IP address 127.0.0.1",
		},
		"a render without the Secret (cert-manager) is reported": {
			rendered: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
			wantErr:  "no TLS Secret rendered",
		},
		"a webhook without a caBundle is reported": {
			rendered: render(ca.pem, good, ""),
			wantErr:  "has no caBundle",
		},
		"a ca.crt that is not PEM is reported": {
			rendered: render("bm90IGEgY2VydA==", good, "bm90IGEgY2VydA=="),
			wantErr:  "the Secret's ca.crt is not a PEM certificate",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := checkTLS([]byte(tc.rendered), tc.dns, tc.ips)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkTLS() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkTLS() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
