package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// testLimits are webhookLimits shrunk so that a test waits fractions of a second for a timeout;
// MaxBodyBytes stays the production value, the framework's own limit.
var testLimits = webhookLimits{
	ReadHeaderTimeout: 400 * time.Millisecond, ReadTimeout: 1200 * time.Millisecond, WriteTimeout: 5 * time.Second,
	IdleTimeout: 600 * time.Millisecond, MaxHeaderBytes: 16 << 10, MaxConns: 4, MaxBodyBytes: defaultWebhookLimits.MaxBodyBytes,
}

// goodReview is a ServiceAccount AdmissionReview irsa-guard allows without asking anything.
const goodReview = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",` +
	`"kind":{"version":"v1","kind":"ServiceAccount"},"resource":{"version":"v1","resource":"serviceaccounts"},` +
	`"namespace":"shop","operation":"CREATE","object":{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"cart","namespace":"shop"}}}}`

// servedWebhook is a webhookServer with irsa-guard's handlers, on loopback over TLS.
type servedWebhook struct {
	addr string
	tls  *tls.Config // trusts the server's certificate
}

func startWebhookServer(t *testing.T, limits webhookLimits) *servedWebhook {
	t.Helper()
	dir := t.TempDir()
	pool := writeServingCert(t, dir)
	port := freePort(t)
	s := newWebhookServer(newWebhookOptions(port, dir), limits)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	deps := &webhook.Deps{Engine: review.New(cfg, review.Options{}), Policy: webhook.Policy{Policy: cfg.Policy}, Budget: 500 * time.Millisecond}
	webhook.Register(s, scheme, deps, webhook.Fixers{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("webhook server: %v", err)
		}
	})
	check := s.StartedChecker()
	for deadline := time.Now().Add(10 * time.Second); check(nil) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("webhook server not started: %v", check(nil))
		}
	}
	return &servedWebhook{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), tls: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
}

// dial opens a TLS connection, handshake done.
func (w *servedWebhook) dial(t *testing.T) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", w.addr, w.tls)
	if err != nil {
		t.Fatalf("dial %s: %v", w.addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reads from c until the server closes it (or answers and closes), failing if that
// takes longer than limit. It returns what the server sent.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	got, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for more than %s; it sent %q", limit, got)
	}
	return string(got)
}

func TestWebhookServerAnswersAReviewOverTLS(t *testing.T) {
	w := startWebhookServer(t, testLimits)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: w.tls}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Post("https://"+w.addr+webhook.PathValidateServiceAccount, "application/json", strings.NewReader(goodReview))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil || !out.Response.Allowed || out.Response.UID != "u-1" {
		t.Fatalf("HTTP %d, review %+v, err %v: want allowed for uid u-1", resp.StatusCode, out.Response, err)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("served %s; HTTP/2 must stay off (Rapid Reset)", resp.Proto)
	}
}

// TestOversizedBodyIsRefusedUnread declares a 100 MiB body and sends only its first KiB: the
// server answers 413 at once and closes, never waiting for the rest.
func TestOversizedBodyIsRefusedUnread(t *testing.T) {
	w := startWebhookServer(t, testLimits)
	c := w.dial(t)
	start := time.Now()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		webhook.PathValidateServiceAccount, 100<<20, strings.Repeat(" ", 1024))
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a 100 MiB declaration: %v", err)
	}
	took := time.Since(start)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "over the 7340032-byte limit") || !strings.Contains(string(body), `"code":413`) {
		t.Fatalf("want a 413 review naming the limit, got HTTP %d %q", resp.StatusCode, body)
	}
	if took > time.Second {
		t.Errorf("refusal took %s: the server read the body", took)
	}
	if !resp.Close {
		t.Error("the server kept the connection open after refusing the body")
	}
	closedWithin(t, c, 2*time.Second)
}

// TestChunkedOversizedBodyIsCut streams a chunked body with no declared length: the framework
// stops at 7 MiB with 413, and the server closes the connection instead of draining the rest.
func TestChunkedOversizedBodyIsCut(t *testing.T) {
	w := startWebhookServer(t, testLimits)
	c := w.dial(t)
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", webhook.PathValidateServiceAccount)
	const total = 64 << 20
	written := make(chan int, 1)
	go func() {
		chunk := fmt.Appendf(nil, "%x\r\n%s\r\n", 64<<10, strings.Repeat("a", 64<<10))
		n := 0
		for n < total {
			if _, err := c.Write(chunk); err != nil {
				break
			}
			n += 64 << 10
		}
		written <- n
	}()
	got := closedWithin(t, c, 5*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.Contains(got, `"code":413`) || !strings.Contains(got, "request entity is too large") {
		t.Fatalf("want the framework's 413 review, got %q", got)
	}
	_ = c.Close()
	if n := <-written; n >= 16<<20 {
		t.Errorf("the client wrote %d MiB before the server cut it; want the 7 MiB limit plus buffers", n>>20)
	}
}

// TestSlowHeadersAreCut trickles the request line and headers: the server closes the connection
// at ReadHeaderTimeout without an answer. A client that never finishes the TLS handshake is cut
// the same way.
func TestSlowHeadersAreCut(t *testing.T) {
	w := startWebhookServer(t, testLimits)
	c := w.dial(t)
	start := time.Now()
	go func() {
		for _, b := range []byte("POST " + webhook.PathValidateServiceAccount + " HTTP/1.1\r\nHost: x\r\nX-Slow: ") {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if got := closedWithin(t, c, 3*time.Second); strings.Contains(got, " 200 ") {
		t.Fatalf("a trickled request was answered: %q", got)
	}
	if took := time.Since(start); took < testLimits.ReadHeaderTimeout/2 {
		t.Errorf("cut after %s, before the %s header timeout", took, testLimits.ReadHeaderTimeout)
	}

	raw, err := net.Dial("tcp", w.addr) // TCP only: the TLS handshake never starts
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	closedWithin(t, raw, 3*time.Second)
}

// TestSlowBodyIsCut sends the headers at once and the body a byte at a time: the server stops
// reading at ReadTimeout and never answers allowed.
func TestSlowBodyIsCut(t *testing.T) {
	w := startWebhookServer(t, testLimits)
	c := w.dial(t)
	start := time.Now()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		webhook.PathValidateServiceAccount, len(goodReview))
	go func() {
		for _, b := range []byte(goodReview) {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	got := closedWithin(t, c, 4*time.Second)
	if strings.Contains(got, `"allowed":true`) || !strings.Contains(got, `"code":400`) || !strings.Contains(got, "i/o timeout") {
		t.Fatalf("a body trickled for %s: want the framework's 400 for a body it could not read, got %q", time.Since(start), got)
	}
	if took := time.Since(start); took < testLimits.ReadTimeout/2 {
		t.Errorf("cut after %s, before the %s read timeout", took, testLimits.ReadTimeout)
	}
}

// TestIdleConnectionsAreBounded fills every connection slot with clients that say nothing: a real
// request then waits until the header timeout frees a slot, and succeeds. An idle keep-alive
// connection is closed at IdleTimeout.
func TestIdleConnectionsAreBounded(t *testing.T) {
	w := startWebhookServer(t, testLimits)
	var idle []net.Conn
	for range testLimits.MaxConns + 4 {
		c, err := net.Dial("tcp", w.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	time.Sleep(50 * time.Millisecond) // let the server accept its MaxConns of them
	start := time.Now()
	c := w.dial(t) // waits for a slot: the handshake cannot start before one frees
	waited := time.Since(start)
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		webhook.PathValidateServiceAccount, len(goodReview), goodReview)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("request after the idle clients: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if waited < testLimits.ReadHeaderTimeout/2 {
		t.Errorf("handshake done after %s with %d idle connections open: the %d-connection limit did not hold",
			waited, len(idle), testLimits.MaxConns)
	}
	// The keep-alive connection that just answered is closed once idle for IdleTimeout.
	start = time.Now()
	closedWithin(t, c, 3*time.Second)
	if took := time.Since(start); took < testLimits.IdleTimeout/2 {
		t.Errorf("idle keep-alive closed after %s, before the %s idle timeout", took, testLimits.IdleTimeout)
	}
	for _, c := range idle {
		closedWithin(t, c, 5*time.Second) // every silent client is cut, queued ones too
	}
}

func TestServeUsesTheWebhookLimits(t *testing.T) {
	cfg := config.Default()
	mgr, err := newManager(cfg, &rest.Config{Host: "https://127.0.0.1:1"}, runtime.NewScheme())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := mgr.GetWebhookServer().(*webhookServer)
	if !ok || s.limits != defaultWebhookLimits {
		t.Fatalf("webhook server %T with limits %+v, want %+v", mgr.GetWebhookServer(), s, defaultWebhookLimits)
	}
	l := defaultWebhookLimits
	if l.WriteTimeout <= config.WebhookTimeout || l.ReadTimeout <= l.ReadHeaderTimeout || l.MaxConns <= 0 {
		t.Errorf("limits %+v: the handler must fit in WriteTimeout and the body in ReadTimeout", l)
	}
}

// newWebhookOptions are serve's webhook server options on another port and certificate.
func newWebhookOptions(port int, certDir string) crwebhook.Options {
	return crwebhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir, TLSOpts: []func(*tls.Config){hardenTLS}}
}

// writeServingCert writes a self-signed certificate for 127.0.0.1 as tls.crt and tls.key in dir
// and returns a pool that trusts it.
func writeServingCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "irsa-guard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tls.crt", "CERTIFICATE", der)
	write("tls.key", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
