//go:build e2e

package e2e

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
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServingCertificateIsReloadedWithoutRestart replaces the chart's serving certificate in the
// mounted TLS directory, as cert-manager or the chart's secret update does through the kubelet,
// and checks the same irsa-guard process starts serving the new one and stays ready.
func TestServingCertificateIsReloadedWithoutRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := startWorld(t, ctx)

	before := servedLeaf(t, w.guard.WebhookAddr)
	certPEM, keyPEM := selfSignedServingCert(t)
	dir := filepath.Join(w.guard.MountDir, "etc/irsa-guard/tls")
	// Key first, then the certificate: the watcher reloads on either write and keeps the old pair
	// while the two do not match.
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	want, _ := pem.Decode(certPEM)

	// certwatcher reacts to fsnotify at once and polls every 10 s as a backstop.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := servedLeaf(t, w.guard.WebhookAddr)
		if bytes.Equal(got.Raw, want.Bytes) {
			break
		}
		if !bytes.Equal(got.Raw, before.Raw) {
			t.Fatalf("served certificate is neither the old nor the new one: %s", got.Subject)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving the old certificate 30 s after it was replaced; log:\n%s", w.guard.LogTail(20))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if exited, err := w.guard.Exited(); exited {
		t.Fatalf("irsa-guard exited while reloading its certificate: %v", err)
	}
}

// servedLeaf is the certificate the server presents to a TLS client, read without verification
// because the point is to see which one it is.
func servedLeaf(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // identifying the served certificate
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func selfSignedServingCert(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "irsa-guard rotated"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
