package audit

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
)

// Path is where serve exposes the audit's state on its metrics port, behind the same
// authentication and authorization as /metrics.
const Path = "/audit"

// Snapshot is the /audit endpoint's answer: whether this replica audits, the last pass and every
// subject it left, worst first. Its JSON shape is a contract (`irsa-guard diagnose cluster
// --from-audit` reads it); fields are only ever added.
type Snapshot struct {
	Leader bool `json:"leader"`
	// Identity is this replica's leader-election identity (pod name and a random suffix);
	// LeaderIdentity the leader's as last observed.
	Identity       string     `json:"identity,omitempty"`
	LeaderIdentity string     `json:"leaderIdentity,omitempty"`
	LastPass       *Pass      `json:"lastPass"`
	Subjects       []*Subject `json:"subjects"`
	// Message says why there is nothing to show: not the leader, or no pass finished yet.
	Message string `json:"message,omitempty"`
}

// Snapshot returns the current state, of one namespace when namespace is not "".
func (a *Auditor) Snapshot(namespace string) Snapshot {
	a.mu.RLock()
	defer a.mu.RUnlock()
	s := Snapshot{Leader: a.leader, Identity: a.identity, LeaderIdentity: a.holder, Subjects: []*Subject{}}
	if a.last != nil {
		p := *a.last
		s.LastPass = &p
	}
	switch {
	case !a.leader:
		s.Message = "this replica does not run the audit; the leader does"
		if a.holder != "" {
			s.Message += " (" + a.holder + ")"
		}
		return s
	case a.last == nil:
		s.Message = "the first audit pass has not finished yet"
	}
	for _, sub := range a.subjects {
		if namespace == "" || sub.Namespace == namespace {
			s.Subjects = append(s.Subjects, sub)
		}
	}
	slices.SortFunc(s.Subjects, func(x, y *Subject) int {
		return cmp.Or(cmp.Compare(y.Result.rank(), x.Result.rank()), cmp.Compare(x.Key(), y.Key()))
	})
	return s
}

// ServeHTTP answers GET /audit[?namespace=NS] with the Snapshot as JSON: 200 on the leader, 503
// on another replica (its message names the leader).
func (a *Auditor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "only GET", http.StatusMethodNotAllowed)
		return
	}
	s := a.Snapshot(r.URL.Query().Get("namespace"))
	w.Header().Set("Content-Type", "application/json")
	if !s.Leader {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
}
