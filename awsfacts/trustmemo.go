package awsfacts

import (
	"slices"
	"sync"

	"github.com/irsa-guard/irsa-guard/validators"
)

// maxTrustAnswers bounds the trust memo: ServiceAccounts and role annotations are user input.
// A cluster has far fewer (ServiceAccount, role) pairs than this; when it fills up, the memo
// starts over rather than tracking recency on the hot path.
const maxTrustAnswers = 4096

// trustKey is everything CheckTrust's answer depends on. The policy text and its parse come
// from one role-cache entry, so a changed trust policy is a new key, never a stale answer.
type trustKey struct {
	obj validators.Object
	in  validators.TrustInput
}

// trustMemo remembers validators.CheckTrust's findings. Evaluating the policy for the
// ServiceAccount, and probing it with other identities for IRSA034, was most of a warm
// admission's own CPU time (docs/performance.md); the answer only changes with its inputs.
type trustMemo struct {
	mu      sync.Mutex
	answers map[trustKey][]validators.Finding
}

func newTrustMemo() *trustMemo {
	return &trustMemo{answers: map[trustKey][]validators.Finding{}}
}

// check is validators.CheckTrust, remembered. It returns a copy: callers adjust findings in
// place (the propagation window downgrades errors).
func (m *trustMemo) check(obj validators.Object, in validators.TrustInput) []validators.Finding {
	key := trustKey{obj: obj, in: in}
	m.mu.Lock()
	fs, ok := m.answers[key]
	m.mu.Unlock()
	if !ok {
		fs = validators.CheckTrust(obj, in)
		m.mu.Lock()
		if len(m.answers) >= maxTrustAnswers {
			clear(m.answers)
		}
		m.answers[key] = fs
		m.mu.Unlock()
	}
	return slices.Clone(fs)
}
