package fakeaws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"

	"go.yaml.in/yaml/v3"
)

// faultState counts the requests a fault matched, for Every.
type faultState struct {
	awsstate.Fault
	seen int
}

func newFaultStates(fs []awsstate.Fault) []faultState {
	out := make([]faultState, len(fs))
	for i, f := range fs {
		out[i] = faultState{Fault: f}
	}
	return out
}

// SetFaults replaces the injected faults (nil clears them). An invalid fault is an error and
// changes nothing.
func (s *Server) SetFaults(faults ...awsstate.Fault) error {
	for i, f := range faults {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("fault %d: %w", i, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaultStates(faults)
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() []awsstate.Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]awsstate.Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, f.Fault)
	}
	return out
}

func (s *Server) countCall(api string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[api]++
}

// pickFaults returns the total latency and the outcome fault (nil if none) for one request.
func (s *Server) pickFaults(api string) (time.Duration, *awsstate.Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var latency time.Duration
	var outcome *awsstate.Fault
	for i := range s.faults {
		f := &s.faults[i]
		if f.API != "" && !strings.EqualFold(f.API, api) {
			continue
		}
		f.seen++
		if f.Every > 1 && f.seen%f.Every != 0 {
			continue
		}
		latency += f.Latency
		if outcome == nil && (f.Error != "" || f.Malformed || f.Drop || f.Reset || f.WrongContentType) {
			fc := f.Fault
			outcome = &fc
		}
	}
	return latency, outcome
}

// injectFault applies the faults matching api. It reports whether it answered the request.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, api string, failCode func(string), malformed func()) bool {
	latency, f := s.pickFaults(api)
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true // the client gave up; nobody reads an answer
		}
	}
	switch {
	case f == nil:
		return false
	case f.Drop || f.Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				if tc, ok := conn.(*net.TCPConn); ok && f.Reset {
					_ = tc.SetLinger(0) // close with RST instead of FIN
				}
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
	case f.WrongContentType:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Sign in to continue</title></head><body><form action=\"/login\"></form></body></html>\n")
	case f.Malformed:
		malformed()
	default:
		failCode(f.Error)
	}
	return true
}

// serveAdmin is the control endpoint used by the e2e suite and the CLI:
//
//	GET    /_fake/faults  -> {"faults":[...]}
//	POST   /_fake/faults  <- {"faults":[...]} replaces the faults
//	DELETE /_fake/faults  clears them
//	GET    /_fake/calls   -> {"GetRole":3,...}
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	type faultsDoc struct {
		Faults []awsstate.Fault `yaml:"faults" json:"faults"`
	}
	switch {
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodGet:
		writeJSON(http.StatusOK, faultsDoc{Faults: s.Faults()})
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodDelete:
		_ = s.SetFaults()
		writeJSON(http.StatusOK, faultsDoc{Faults: []awsstate.Fault{}})
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodPost:
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
			writeJSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		// JSON is YAML: one strict decoder gives the same field names and durations ("2s") as the
		// state file's faults section.
		dec := yaml.NewDecoder(&buf)
		dec.KnownFields(true)
		var doc faultsDoc
		if err := dec.Decode(&doc); err != nil {
			writeJSON(http.StatusBadRequest, map[string]string{"error": `body must be {"faults":[{"api":"GetRole","error":"Throttling"}]}: ` + err.Error()})
			return
		}
		if err := s.SetFaults(doc.Faults...); err != nil {
			writeJSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(http.StatusOK, faultsDoc{Faults: s.Faults()})
	case r.URL.Path == "/_fake/calls" && r.Method == http.MethodGet:
		s.mu.Lock()
		calls := make(map[string]int, len(s.calls))
		for k, v := range s.calls {
			calls[k] = v
		}
		s.mu.Unlock()
		writeJSON(http.StatusOK, calls)
	default:
		writeJSON(http.StatusNotFound, map[string]string{"error": "unknown admin endpoint; use /_fake/faults (GET, POST, DELETE) or /_fake/calls (GET)"})
	}
}
