package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
	admissionv1 "k8s.io/api/admission/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// webhookLimits bound what one client can hold of the webhook server. controller-runtime's
// DefaultServer (pkg/internal/httpserver at v0.25.2) sets only ReadHeaderTimeout 32s, IdleTimeout
// 90s and MaxHeaderBytes 1 MiB: a body trickled a byte at a time is never cut, and connections are
// not counted. The API server never waits longer than a webhook's timeoutSeconds (at most 30 s,
// https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#timeouts),
// and sends each AdmissionReview in one write, so a request still being read after a few seconds
// is not the API server's.
type webhookLimits struct {
	// ReadHeaderTimeout bounds the TLS handshake and the request headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the whole request, body included, from its first byte.
	ReadTimeout time.Duration
	// WriteTimeout bounds the handler and the answer, from the end of the headers; it must exceed
	// the decision budget (below the webhook timeout).
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request; 90 s as controller-runtime's, the
	// API server's own idle timeout for its webhook clients.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request headers; the API server sends well under 1 KiB.
	MaxHeaderBytes int
	// MaxConns bounds open connections; more wait in the kernel's accept queue until one closes.
	// With the timeouts above, a slot held by an idle or slow client frees within seconds.
	MaxConns int
	// MaxBodyBytes is the largest body accepted. A Content-Length above it is refused before a
	// byte of the body is read; a chunked body is cut by the framework at the same size.
	MaxBodyBytes int64
}

// defaultWebhookLimits are serve's limits. MaxBodyBytes is controller-runtime's own 7 MiB
// (pkg/webhook/admission/http.go: old and new object at 3 MB each plus 1 MB), which a larger
// value could not raise.
var defaultWebhookLimits = webhookLimits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       10 * time.Second,
	WriteTimeout:      10 * time.Second,
	IdleTimeout:       90 * time.Second,
	MaxHeaderBytes:    64 << 10,
	MaxConns:          1024,
	MaxBodyBytes:      7 << 20,
}

// webhookServer is controller-runtime's webhook server (registration, per-path metrics, the mux)
// started on an http.Server with webhookLimits. The certificate is read through certwatcher as
// DefaultServer does, so a rotated Secret is served without a restart.
type webhookServer struct {
	*crwebhook.DefaultServer
	limits  webhookLimits
	started atomic.Bool
}

var _ crwebhook.Server = (*webhookServer)(nil)

func newWebhookServer(o crwebhook.Options, limits webhookLimits) *webhookServer {
	if o.WebhookMux == nil {
		o.WebhookMux = http.NewServeMux()
	}
	return &webhookServer{DefaultServer: crwebhook.NewServer(o).(*crwebhook.DefaultServer), limits: limits}
}

// Start serves until ctx ends, then shuts down gracefully within a minute, as DefaultServer does.
func (s *webhookServer) Start(ctx context.Context) error {
	o := s.Options
	cfg := &tls.Config{NextProtos: []string{"h2"}}
	for _, op := range o.TLSOpts {
		op(cfg)
	}
	if cfg.GetCertificate == nil {
		cert, key := filepath.Join(o.CertDir, or(o.CertName, "tls.crt")), filepath.Join(o.CertDir, or(o.KeyName, "tls.key"))
		watcher, err := certwatcher.New(cert, key)
		if err != nil {
			return err
		}
		cfg.GetCertificate = watcher.GetCertificate
		go func() {
			if err := watcher.Start(ctx); err != nil {
				ctrl.Log.WithName("webhook").Error(err, "Certificate watcher failed")
			}
		}()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return err
	}
	// The limit counts TCP connections, before the TLS handshake a slow client could stall.
	ln = tls.NewListener(netutil.LimitListener(ln, s.limits.MaxConns), cfg)
	l := s.limits
	srv := &http.Server{
		Handler:           limitBody(o.WebhookMux, l.MaxBodyBytes),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			ctrl.Log.WithName("webhook").Error(err, "Shutting down the webhook server")
		}
	}()
	ctrl.Log.WithName("webhook").Info("Serving webhooks", "port", o.Port, "maxConns", l.MaxConns)
	s.started.Store(true)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-done
	return nil
}

// StartedChecker reports healthy once the server completes a TLS handshake: the certificate is
// loaded and the port serves.
func (s *webhookServer) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		if !s.started.Load() {
			return errors.New("webhook server has not been started yet")
		}
		d := &net.Dialer{Timeout: 10 * time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", net.JoinHostPort(s.Options.Host, strconv.Itoa(s.Options.Port)),
			&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a liveness handshake with ourselves, nothing is sent
		if err != nil {
			return fmt.Errorf("webhook server is not reachable: %w", err)
		}
		return conn.Close()
	}
}

// limitBody refuses a declared body over max with 413 before reading it; net/http then closes
// the connection rather than drain more than 256 KiB of it.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			resp := admission.Errored(http.StatusRequestEntityTooLarge,
				fmt.Errorf("request body of %d bytes is over the %d-byte limit", r.ContentLength, max))
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_ = json.NewEncoder(w).Encode(admissionv1.AdmissionReview{Response: &resp.AdmissionResponse})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
