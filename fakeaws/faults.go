package fakeaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fault is one injected misbehaviour. Every matching fault adds its latency; then the first
// matching fault with an outcome (Drop, Malformed, Error) answers instead of the real handler.
type Fault struct {
	// API limits the fault to one action ("GetRole", "AssumeRole", "DescribeCluster", ...);
	// empty means every API.
	API string `yaml:"api,omitempty" json:"api,omitempty"`
	// Latency is added before answering, e.g. "1500ms". A cancelled request stops waiting.
	Latency time.Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
	// Error answers with this AWS error code in the API's own wire format: Throttling (400,
	// "Rate exceeded"), AccessDenied (403), InvalidInput (400), NoSuchEntity (404),
	// ServiceFailure (500), ServiceUnavailable (503), InternalFailure (500).
	Error string `yaml:"error,omitempty" json:"error,omitempty"`
	// Malformed answers 200 with a truncated body that no parser accepts.
	Malformed bool `yaml:"malformed,omitempty" json:"malformed,omitempty"`
	// Drop closes the connection without any response.
	Drop bool `yaml:"drop,omitempty" json:"drop,omitempty"`
	// Every applies the fault to every Nth matching request only (the Nth, 2Nth, ...);
	// 0 or 1 means every request.
	Every int `yaml:"every,omitempty" json:"every,omitempty"`
}

// knownFaultErrors are the codes Fault.Error accepts.
var knownFaultErrors = []string{"Throttling", "AccessDenied", "InvalidInput", "NoSuchEntity",
	"ServiceFailure", "ServiceUnavailable", "InternalFailure"}

func (f Fault) validate() error {
	outcomes := 0
	for _, b := range []bool{f.Error != "", f.Malformed, f.Drop} {
		if b {
			outcomes++
		}
	}
	switch {
	case outcomes > 1:
		return errors.New("choose at most one of error, malformed and drop per fault; list two faults to combine them")
	case outcomes == 0 && f.Latency == 0:
		return errors.New("fault does nothing; set latency, error, malformed or drop")
	case f.Latency < 0:
		return fmt.Errorf("latency %s must not be negative", f.Latency)
	case f.Every < 0:
		return fmt.Errorf("every %d must be 0 (always) or a positive N (every Nth request)", f.Every)
	}
	if f.Error != "" {
		ok := false
		for _, k := range knownFaultErrors {
			ok = ok || k == f.Error
		}
		if !ok {
			return fmt.Errorf("error %q is not one of %s", f.Error, strings.Join(knownFaultErrors, ", "))
		}
	}
	return nil
}

// faultState counts the requests a fault matched, for Every.
type faultState struct {
	Fault
	seen int
}

func newFaultStates(fs []Fault) []faultState {
	out := make([]faultState, len(fs))
	for i, f := range fs {
		out[i] = faultState{Fault: f}
	}
	return out
}

// SetFaults replaces the injected faults (nil clears them). An invalid fault is an error and
// changes nothing.
func (s *Server) SetFaults(faults ...Fault) error {
	for i, f := range faults {
		if err := f.validate(); err != nil {
			return fmt.Errorf("fault %d: %w", i, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = newFaultStates(faults)
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
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
func (s *Server) pickFaults(api string) (time.Duration, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var latency time.Duration
	var outcome *Fault
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
		if outcome == nil && (f.Error != "" || f.Malformed || f.Drop) {
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
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler) // net/http closes the connection without a response
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
		Faults []Fault `yaml:"faults" json:"faults"`
	}
	switch {
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodGet:
		writeJSON(http.StatusOK, faultsDoc{Faults: s.Faults()})
	case r.URL.Path == "/_fake/faults" && r.Method == http.MethodDelete:
		_ = s.SetFaults()
		writeJSON(http.StatusOK, faultsDoc{Faults: []Fault{}})
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

// MarshalJSON writes Latency as a Go duration string ("1.5s"), the form POST /_fake/faults reads.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	out := struct {
		plain
		Latency string `json:"latency,omitempty"`
	}{plain: plain(f)}
	if f.Latency != 0 {
		out.Latency = f.Latency.String()
	}
	return json.Marshal(out)
}
