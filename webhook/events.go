package webhook

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/validators"
)

// EventRecorder is the part of k8s.io/client-go/tools/events.EventRecorder the webhook uses.
type EventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// recordEvents puts warn-mode findings on the ServiceAccount as Warning events, so they stay
// visible (kubectl describe) after the warning scrolled away. Never on dry-run requests: the
// webhooks are declared sideEffects: None.
func (d *Deps) recordEvents(ctx context.Context, sa *corev1.ServiceAccount, fs []validators.Finding) {
	if d.Events == nil || len(fs) == 0 {
		return
	}
	if req, err := admission.RequestFromContext(ctx); err != nil || (req.DryRun != nil && *req.DryRun) {
		return
	}
	for i, f := range fs {
		if i == MaxWarnings {
			break
		}
		d.Events.Eventf(sa, nil, corev1.EventTypeWarning, string(f.Check), "Admission", "%s", f.String()+" Fix: "+f.Fix)
	}
}

// RateLimitedRecorder drops events for one object and reason repeated within Interval, the
// way client-go's old recorder spam filter did, so a controller re-applying a broken
// ServiceAccount cannot flood etcd with events.
type RateLimitedRecorder struct {
	Inner    EventRecorder
	Interval time.Duration // default 5 minutes
	Now      func() time.Time

	mu   sync.Mutex
	last map[string]time.Time
}

var _ EventRecorder = (*RateLimitedRecorder)(nil)

// Eventf forwards the event unless the same object got the same reason within Interval.
func (r *RateLimitedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	now, interval := time.Now, r.Interval
	if r.Now != nil {
		now = r.Now
	}
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	key := reason
	if o, ok := regarding.(interface {
		GetNamespace() string
		GetName() string
	}); ok {
		key = o.GetNamespace() + "/" + o.GetName() + "/" + reason
	}
	r.mu.Lock()
	if r.last == nil {
		r.last = map[string]time.Time{}
	}
	t := now()
	if prev, ok := r.last[key]; ok && t.Sub(prev) < interval {
		r.mu.Unlock()
		return
	}
	r.last[key] = t
	if len(r.last) > 10000 { // bounded memory: forget everything older than the interval
		for k, v := range r.last {
			if t.Sub(v) >= interval {
				delete(r.last, k)
			}
		}
	}
	r.mu.Unlock()
	r.Inner.Eventf(regarding, related, eventtype, reason, action, note, args...)
}
