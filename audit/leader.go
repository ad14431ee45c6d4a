package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/uuid"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// The Lease timings controller-runtime's manager uses by default (pkg/manager/manager.go):
// a new leader within about 15 s of a crash, at once after a clean shutdown (the lease is
// released).
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// inClusterNamespacePath holds the pod's namespace, the Lease's default namespace.
const inClusterNamespacePath = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Runner runs audit passes every Interval (from the end of one to the start of the next) while
// this replica holds the Lease, or always without one. It elects itself rather than using the
// manager's leader election: a manager that loses its lease exits the whole process
// (controller-runtime v0.25.2 pkg/manager/internal.go, OnStoppedLeading), which would take this
// replica's webhook down with the audit; a Runner that loses its lease stops auditing, keeps
// serving admission, and campaigns again.
type Runner struct {
	Audit    *Auditor
	Interval time.Duration
	// Lock is the Lease to hold; nil audits on every replica.
	Lock resourcelock.Interface
}

var _ manager.LeaderElectionRunnable = (*Runner)(nil)

// NeedLeaderElection is false: the manager starts the Runner on every replica, and the Runner
// elects itself.
func (r *Runner) NeedLeaderElection() bool { return false }

// Start audits until ctx ends.
func (r *Runner) Start(ctx context.Context) error {
	log := logr.FromContextOrDiscard(ctx).WithName("audit")
	ctx = logr.NewContext(ctx, log)
	if m := r.Audit.o.Metrics; m != nil {
		m.interval.Set(r.Interval.Seconds())
	}
	if r.Lock == nil {
		host, _ := os.Hostname()
		r.Audit.setHolder(host, host)
		r.Audit.setLeader(true)
		r.loop(ctx)
		return nil
	}
	id := r.Lock.Identity()
	r.Audit.setHolder("", id)
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: r.Lock, LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
			ReleaseOnCancel: true, Name: r.Lock.Describe(),
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					log.Info("Leading the audit", "identity", id, "lease", r.Lock.Describe())
					r.Audit.setLeader(true)
					r.loop(ctx)
				},
				OnStoppedLeading: func() {
					log.Info("Stopped leading the audit", "identity", id)
					r.Audit.setLeader(false)
				},
				OnNewLeader: func(holder string) { r.Audit.setHolder(holder, id) },
			},
		})
		if err != nil {
			return fmt.Errorf("audit leader election: %w", err)
		}
		le.Run(ctx) // returns when the lease is lost or ctx ends
	}
	return nil
}

// maxBackoff caps the wait after throttled passes (never below Interval).
const maxBackoff = time.Hour

// loop runs a pass, waits Interval, and again, until ctx ends. After a pass AWS throttled, it waits
// twice as long as after the one before (Interval, 2x, 4x, ... up to an hour), then Interval again
// once a pass gets through.
func (r *Runner) loop(ctx context.Context) {
	throttled := 0
	for {
		p := r.Audit.Run(ctx)
		wait := r.Interval
		if p.Throttled {
			throttled++
			wait = min(r.Interval<<min(throttled, 10), max(r.Interval, maxBackoff))
			logr.FromContextOrDiscard(ctx).Info("Audit backing off: AWS throttled it", "nextPassIn", wait.String(), "throttledPasses", throttled)
		} else {
			throttled = 0
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// NewLease builds the audit's Lease lock as controller-runtime's leaderelection.NewResourceLock
// does (identity: the pod's hostname and a random suffix), without an event recorder: the
// leader's identity is in the Lease, its /audit answer and its log, and recording election Events
// would need RBAC on core Events. namespace "" means the pod's own.
func NewLease(cfg *rest.Config, namespace, name string) (resourcelock.Interface, error) {
	if namespace == "" {
		b, err := os.ReadFile(inClusterNamespacePath)
		if err != nil {
			return nil, errors.New("the audit's Lease namespace is not set and irsa-guard is not running in a pod: set audit.leaderElection.namespace (--audit-leader-election-namespace)")
		}
		namespace = string(b)
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("the audit's leader identity: %w", err)
	}
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "irsa-guard-audit-leader-election")
	cfg.Timeout = renewDeadline / 2 // one hung request must not cost the lease
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	coordination, err := coordinationv1client.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return resourcelock.New(resourcelock.LeasesResourceLock, namespace, name, core, coordination,
		resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())})
}
