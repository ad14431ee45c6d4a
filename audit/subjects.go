package audit

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/review"
)

// Lister lists what the audit reviews.
type Lister interface {
	// ServiceAccounts lists every ServiceAccount.
	ServiceAccounts(ctx context.Context) ([]corev1.ServiceAccount, error)
	// Pods calls visit for every pod, page by page.
	Pods(ctx context.Context, visit func(*corev1.Pod)) error
}

// KubeLister lists ServiceAccounts from Cache (serve already watches them) and pods from API in
// pages: watching every pod of the cluster on every replica would cost memory for a pass that
// runs once every few minutes on one of them.
type KubeLister struct {
	Cache client.Reader
	API   client.Reader
	// PageSize is the pods listed per request; default 500.
	PageSize int64
}

var _ Lister = (*KubeLister)(nil)

// ServiceAccounts lists every ServiceAccount from the cache.
func (l *KubeLister) ServiceAccounts(ctx context.Context) ([]corev1.ServiceAccount, error) {
	var list corev1.ServiceAccountList
	if err := l.Cache.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("list ServiceAccounts: %w", err)
	}
	return list.Items, nil
}

// Pods lists every pod from the API server, PageSize at a time.
func (l *KubeLister) Pods(ctx context.Context, visit func(*corev1.Pod)) error {
	size := l.PageSize
	if size <= 0 {
		size = 500
	}
	cont := ""
	for {
		var list corev1.PodList
		if err := l.API.List(ctx, &list, client.Limit(size), client.Continue(cont)); err != nil {
			return fmt.Errorf("list pods: %w", err)
		}
		for i := range list.Items {
			visit(&list.Items[i])
		}
		if cont = list.Continue; cont == "" {
			return nil
		}
	}
}

// target is one object to review this pass.
type target struct {
	sa  *corev1.ServiceAccount
	pod *corev1.Pod
}

// key is the subject's key (Subject.Key) before it is reviewed.
func (t target) key() string {
	if t.sa != nil {
		return "ServiceAccount " + t.sa.Namespace + "/" + t.sa.Name
	}
	return "Pod " + t.pod.Namespace + "/" + t.pod.Name
}

func (t target) object() runtime.Object {
	if t.sa != nil {
		return t.sa
	}
	return t.pod
}

// listSubjects picks the subjects as diagnose cluster does (review.MentionsIRSA, review.Injected),
// leaving out excluded namespaces, objects labelled irsa-guard.io/skip and pods that have ended.
func (a *Auditor) listSubjects(ctx context.Context) ([]target, error) {
	sas, err := a.o.Lister.ServiceAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []target
	irsa := map[string]bool{}
	for i := range sas {
		sa := &sas[i]
		if !review.MentionsIRSA(sa.Annotations) || a.excluded(ctx, sa.Namespace, sa.Labels) {
			continue
		}
		irsa[sa.Namespace+"/"+sa.Name] = true
		out = append(out, target{sa: sa})
	}
	err = a.o.Lister.Pods(ctx, func(pod *corev1.Pod) {
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || a.excluded(ctx, pod.Namespace, pod.Labels) {
			return
		}
		if irsa[pod.Namespace+"/"+review.ServiceAccountName(pod)] || review.Injected(pod) {
			out = append(out, target{pod: pod})
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// excluded reports whether an object is out of the audit's scope: its namespace is excluded, or
// the object or its namespace is labelled irsa-guard.io/skip=true, as the chart's webhook
// selectors leave them out.
func (a *Auditor) excluded(ctx context.Context, namespace string, labels map[string]string) bool {
	if slices.Contains(a.o.ExcludeNamespaces, namespace) || labels[config.LabelSkip] == "true" {
		return true
	}
	if a.o.Cluster != nil {
		if nl, ok := a.o.Cluster.NamespaceLabels(ctx, namespace); ok && nl[config.LabelSkip] == "true" {
			return true
		}
	}
	return false
}

// ownerOf names a pod's controller, "" when it has none.
func ownerOf(pod *corev1.Pod) string {
	if o := metav1.GetControllerOf(pod); o != nil {
		return o.Kind + " " + pod.Namespace + "/" + o.Name
	}
	return ""
}
