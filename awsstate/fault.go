package awsstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Fault is one injected misbehaviour. Every matching fault adds its latency; then the first
// matching fault with an outcome (Drop, Reset, Malformed, WrongContentType, Error) answers instead of the real handler.
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
	// Reset aborts the connection with a TCP RST (connection reset by peer), as a middlebox or a
	// restarting load balancer does.
	Reset bool `yaml:"reset,omitempty" json:"reset,omitempty"`
	// WrongContentType answers 200 with an HTML page (text/html), as a captive proxy or a
	// misrouted endpoint does.
	WrongContentType bool `yaml:"wrongContentType,omitempty" json:"wrongContentType,omitempty"`
	// Every applies the fault to every Nth matching request only (the Nth, 2Nth, ...);
	// 0 or 1 means every request.
	Every int `yaml:"every,omitempty" json:"every,omitempty"`
}

// knownFaultErrors are the codes Fault.Error accepts.
var knownFaultErrors = []string{"Throttling", "AccessDenied", "InvalidInput", "NoSuchEntity",
	"ServiceFailure", "ServiceUnavailable", "InternalFailure"}

// Validate reports a fault that does nothing or combines outcomes.
func (f Fault) Validate() error {
	outcomes := 0
	for _, b := range []bool{f.Error != "", f.Malformed, f.Drop, f.Reset, f.WrongContentType} {
		if b {
			outcomes++
		}
	}
	switch {
	case outcomes > 1:
		return errors.New("choose at most one of error, malformed, drop, reset and wrongContentType per fault; list two faults to combine them")
	case outcomes == 0 && f.Latency == 0:
		return errors.New("fault does nothing; set latency, error, malformed, drop, reset or wrongContentType")
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
