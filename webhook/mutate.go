package webhook

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

// AccountSource says which partition and account a bare role name is composed with: the
// configured cluster account, else irsa-guard's own (sts:GetCallerIdentity through awsfacts, with
// its cache, rate limit and the caller's deadline). awsfacts.Source is one.
type AccountSource interface {
	CallerAccount(ctx context.Context) (partition, account string, err error)
}

// AccountFunc adapts a function to AccountSource.
type AccountFunc func(ctx context.Context) (partition, account string, err error)

// CallerAccount calls f.
func (f AccountFunc) CallerAccount(ctx context.Context) (string, string, error) { return f(ctx) }

// ServiceAccountDefaulter is the opt-in compose fixer: it expands a bare role name in
// eks.amazonaws.com/role-arn ("my-app" or "team/my-app") to the full ARN in the cluster's
// account, as pod-identity-webhook's --compose-role-arn does, and says so in a warning.
type ServiceAccountDefaulter struct {
	Compose  bool
	Accounts AccountSource
}

var _ admission.Defaulter[*corev1.ServiceAccount] = (*ServiceAccountDefaulter)(nil)

// Default rewrites the annotation. It never fails the request: if the account is unknown it
// leaves the object alone and warns, and the validating webhook then reports IRSA001.
func (m *ServiceAccountDefaulter) Default(ctx context.Context, sa *corev1.ServiceAccount) error {
	role := sa.Annotations[validators.AnnotationRoleARN]
	if !m.Compose || sa.Labels[config.LabelSkip] == "true" || role == "" || strings.HasPrefix(role, "arn:") || strings.ContainsAny(role, ": ") {
		return nil
	}
	partition, account, err := m.Accounts.CallerAccount(ctx)
	if err != nil {
		warn(ctx, "irsa-guard: cannot expand role name "+validators.Quote(role, 40)+": account unknown")
		return nil //nolint:nilerr // a fixer never fails the request: admit unchanged and let IRSA001 explain
	}
	name := strings.TrimPrefix(role, "/")
	arn := "arn:" + partition + ":iam::" + account + ":role/" + name
	if _, err := validators.ParseRoleARN(arn); err != nil {
		return nil //nolint:nilerr // not a role name after all; IRSA001 explains
	}
	sa.Annotations[validators.AnnotationRoleARN] = arn
	warn(ctx, "irsa-guard: expanded role-arn "+validators.Quote(role, 30)+" to "+arn)
	return nil
}

// PodDefaulter is the opt-in fsGroup fixer: it sets spec.securityContext.fsGroup when some
// container could not read the projected token (IRSA042), and says so in a warning. It is
// idempotent: once fsGroup is set IRSA042 no longer fires.
type PodDefaulter struct {
	FSGroup bool
	GroupID int64
}

var _ admission.Defaulter[*corev1.Pod] = (*PodDefaulter)(nil)

// Default sets the fsGroup where needed.
func (m *PodDefaulter) Default(ctx context.Context, pod *corev1.Pod) error {
	if !m.FSGroup || pod.Labels[config.LabelSkip] == "true" || !validators.PodNeedsFSGroup(pod) {
		return nil
	}
	if pod.Spec.SecurityContext == nil {
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	pod.Spec.SecurityContext.FSGroup = &m.GroupID
	warn(ctx, "irsa-guard: set spec.securityContext.fsGroup="+strconv.FormatInt(m.GroupID, 10)+" so every container can read the AWS token")
	return nil
}

// MutatingWebhook wraps a framework-built defaulter so it can warn, within budget: the one
// deadline of the mutating path, from the request's arrival (a defaulter that asks AWS, as the
// compose fixer may, waits no longer). controller-runtime's Defaulter has no warnings channel; the
// patch is still computed by the framework from the mutated object (admission.WithDefaulter), and
// the warnings a defaulter adds to the request's context are attached to that response.
func MutatingWebhook[T runtime.Object](scheme *runtime.Scheme, d admission.Defaulter[T], budget time.Duration) *admission.Webhook {
	inner := admission.WithDefaulter(scheme, d).Handler
	return &admission.Webhook{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		if budget > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, budget)
			defer cancel()
		}
		sink := &warningSink{}
		resp := inner.Handle(context.WithValue(ctx, warningSinkKey{}, sink), req)
		return resp.WithWarnings(sink.list()...)
	})}
}

type warningSinkKey struct{}

type warningSink struct {
	mu sync.Mutex
	w  []string
}

func (s *warningSink) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

// warn adds a warning to the current mutating response, sanitised like every other warning.
func warn(ctx context.Context, msg string) {
	if s, ok := ctx.Value(warningSinkKey{}).(*warningSink); ok {
		s.mu.Lock()
		s.w = append(s.w, validators.SanitizeMessage(msg, validators.MaxMessageRunes))
		s.mu.Unlock()
	}
}
