package fakeaws

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// CallerAccessKeyPrefix starts every default access key id: CallerAccessKeyPrefix followed by a
// 12-digit account acts as that account (see CallerAccessKeyID). Signatures are not verified.
const CallerAccessKeyPrefix = "AKIAFAKE"

// CallerSecretAccessKey is the secret to pair with CallerAccessKeyID; any value works because
// the fake does not verify signatures, but the SDK insists on one.
const CallerSecretAccessKey = "fake-secret-access-key-not-checked" //nolint:gosec // the fake never checks signatures

// CallerAccessKeyID is the access key id whose requests act as account (an IAM user
// "fake-caller" there). For the state's own credentials use CallerAccessKeyID(state.CallerAccount).
func CallerAccessKeyID(account string) string { return CallerAccessKeyPrefix + account }

// Server is a fake IAM, STS and EKS endpoint on 127.0.0.1. One URL serves all three: Query API
// requests are routed by their Action, EKS by its REST path. It is safe for concurrent use.
type Server struct {
	srv *http.Server
	ln  net.Listener
	url string

	mu       sync.Mutex
	state    *awsstate.State
	faults   []faultState
	calls    map[string]int
	sessions map[string]identity // access key ids issued by AssumeRole and AssumeRoleWithWebIdentity
	serial   int
	done     chan struct{}

	issuerRoots   *x509.CertPool // AssumeRoleWithWebIdentity's trusted CAs; nil is the system roots
	issuerTimeout time.Duration  // 0 is defaultIssuerTimeout
}

// identity is who a request acts as, derived from its access key id.
type identity struct {
	account string
	arn     string
	userID  string
}

// NewServer starts a fake AWS on a free port of 127.0.0.1 serving state. Like httptest.NewServer
// it is meant for tests and panics if it cannot start: no loopback, or an invalid state (states
// from ParseState and LoadState are always valid; use Listen to get an error instead).
func NewServer(state *awsstate.State) *Server {
	s, err := Listen("127.0.0.1:0", state)
	if err != nil {
		panic(fmt.Sprintf("fakeaws: %v", err))
	}
	return s
}

// Listen starts a fake AWS on addr, which must be a loopback address: the fake accepts any
// signature, so it must never be reachable from another machine.
func Listen(addr string, state *awsstate.State) (*Server, error) {
	if state == nil {
		return nil, errors.New("fake AWS needs a state; use ParseState or LoadState")
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	if err := state.Normalize(); err != nil {
		return nil, fmt.Errorf("AWS state: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{
		ln:       ln,
		url:      "http://" + ln.Addr().String(),
		calls:    map[string]int{},
		sessions: map[string]identity{},
		done:     make(chan struct{}),
	}
	s.setStateLocked(state)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// checkLoopback refuses anything but 127.0.0.0/8, ::1 and localhost.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w; use host:port such as 127.0.0.1:0", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen address %q is not loopback: the fake AWS accepts any credentials, so it only listens on 127.0.0.1 or ::1", addr)
}

// URL is the base URL for every service, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// Close stops the server and drops open connections.
func (s *Server) Close() {
	_ = s.srv.Close()
	<-s.done
}

// Shutdown stops accepting requests and waits for in-flight ones until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	return err
}

// Calls is how many requests for api ("GetRole", "AssumeRole", "DescribeCluster", ...) arrived,
// counting those answered by an injected fault and SDK retries.
func (s *Server) Calls(api string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[api]
}

// ResetCalls sets every call counter back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// SetState replaces the AWS world (and its faults) after normalizing it; an invalid state is an
// error and changes nothing. Credentials issued by AssumeRole stay valid. Do not modify a State
// after handing it over: requests read it without a lock.
func (s *Server) SetState(state *awsstate.State) error {
	if state == nil {
		return errors.New("fake AWS needs a state; use ParseState or LoadState")
	}
	if err := state.Normalize(); err != nil {
		return fmt.Errorf("AWS state: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStateLocked(state)
	return nil
}

func (s *Server) setStateLocked(state *awsstate.State) {
	s.state = state
	s.faults = newFaultStates(state.Faults)
}

// snapshot is the state to serve one request from. States are never mutated after SetState, so
// reading it without the lock is safe.
func (s *Server) snapshot() *awsstate.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Server) nextSerial() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	return s.serial
}

// ServeHTTP routes admin, EKS and Query API requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/_fake/"):
		s.serveAdmin(w, r)
	case strings.HasPrefix(r.URL.Path, "/clusters"):
		s.serveEKS(w, r)
	default:
		s.serveQuery(w, r)
	}
}

// accessKeyID extracts the access key id from a SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-west-2/iam/aws4_request, SignedHeaders=..., ...".
// It also returns the credential scope's region and service.
func accessKeyID(r *http.Request) (akid, region, service string) {
	h := r.Header.Get("Authorization")
	_, rest, ok := strings.Cut(h, "Credential=")
	if !ok {
		return "", "", ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) < 5 {
		return parts[0], "", ""
	}
	return parts[0], parts[2], parts[3]
}

// whoami maps a request's access key id to the identity it acts as.
func (s *Server) whoami(st *awsstate.State, akid string) (identity, bool) {
	if acct, ok := strings.CutPrefix(akid, CallerAccessKeyPrefix); ok && awsstate.ValidAccount(acct) {
		return identity{
			account: acct,
			arn:     fmt.Sprintf("arn:%s:iam::%s:user/fake-caller", st.Partition, acct),
			userID:  "AIDAFAKE" + acct,
		}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.sessions[akid]
	return id, ok
}

// requestID is a unique UUID-shaped id, the form AWS uses for x-amzn-RequestId; a serial
// rather than random so logs of a test run are easy to follow.
func (s *Server) requestID() string {
	n := s.nextSerial()
	return fmt.Sprintf("fa4e0000-0000-4000-8000-%012x", n)
}
