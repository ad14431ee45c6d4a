package audit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/validators"
)

// The PolicyReport API the audit writes: wgpolicyk8s.io/v1alpha2, the version Policy Reporter and
// Kyverno read (types: https://github.com/kubernetes-sigs/wg-policy-prototypes/blob/ce1a335d86e92f2026e5521ed5c7f132bde551b1/policy-report/apis/wgpolicyk8s.io/v1alpha2/policyreport_types.go).
var policyReportGVK = schema.GroupVersionKind{Group: "wgpolicyk8s.io", Version: "v1alpha2", Kind: "PolicyReport"}

// The report's identity: one per namespace, named ReportName, labelled as irsa-guard's.
const (
	ReportName    = "irsa-guard"
	reportSource  = "irsa-guard"
	labelManaged  = "app.kubernetes.io/managed-by"
	fieldOwner    = "irsa-guard"
	passRule      = "all-checks"
	reportsPolicy = "irsa-guard"
)

// maxResults bounds one report: an object must stay well under etcd's 1.5 MiB request limit, and a
// result with its message and fix is under 1 KiB. The worst results are kept; the summary still
// counts them all.
const maxResults = 1000

// PolicyReports writes the audit's findings as PolicyReports when the CRD is installed and
// writes nothing, without failing, when it is not. Only the audit's goroutine uses it.
type PolicyReports struct {
	// Client writes (server-side apply, delete); Reader lists the reports irsa-guard wrote,
	// uncached (no informer on every replica for a list once a pass).
	Client    client.Client
	Reader    client.Reader
	Discovery discovery.DiscoveryInterface

	written   map[string]string // namespace -> digest of the content last written there
	installed *bool             // the CRD was there at the last look; nil before the first
}

// write brings the reports in line with the subjects: one per namespace with subjects, rewritten
// only when its content changed, and irsa-guard's reports in namespaces without subjects deleted.
func (r *PolicyReports) write(ctx context.Context, subjects map[string]*Subject) {
	log := logr.FromContextOrDiscard(ctx).WithValues("kind", "PolicyReport")
	if !r.crdInstalled(log) {
		return
	}
	desired := map[string]*unstructured.Unstructured{}
	byNS := map[string][]*Subject{}
	for _, s := range subjects {
		byNS[s.Namespace] = append(byNS[s.Namespace], s)
	}
	for ns, ss := range byNS {
		desired[ns] = report(ns, ss)
	}
	if r.written == nil {
		r.written = map[string]string{}
		r.adoptExisting(ctx, log)
	}
	for ns, u := range desired {
		digest := digestOf(u)
		if r.written[ns] == digest {
			continue
		}
		if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
			log.Error(err, "Cannot write the PolicyReport", "namespace", ns)
			delete(r.written, ns)
			continue
		}
		r.written[ns] = digest
	}
	for ns := range r.written {
		if _, ok := desired[ns]; ok {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(policyReportGVK)
		u.SetNamespace(ns)
		u.SetName(ReportName)
		if err := r.Client.Delete(ctx, u); err != nil && !apierrors.IsNotFound(err) {
			log.Error(err, "Cannot delete the PolicyReport of a namespace without subjects", "namespace", ns)
			continue
		}
		delete(r.written, ns)
	}
}

// adoptExisting learns the reports an earlier leader wrote, so that those of namespaces that no
// longer have subjects are deleted.
func (r *PolicyReports) adoptExisting(ctx context.Context, log logr.Logger) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(policyReportGVK.GroupVersion().WithKind("PolicyReportList"))
	if err := r.Reader.List(ctx, list, client.MatchingLabels{labelManaged: fieldOwner}); err != nil {
		log.Error(err, "Cannot list the PolicyReports irsa-guard wrote before")
		return
	}
	for _, u := range list.Items {
		if u.GetName() == ReportName {
			r.written[u.GetNamespace()] = "" // known, content unknown: rewritten or deleted below
		}
	}
}

// crdInstalled asks discovery whether the API serves PolicyReports, and logs when that changes.
func (r *PolicyReports) crdInstalled(log logr.Logger) bool {
	ok := false
	res, err := r.Discovery.ServerResourcesForGroupVersion(policyReportGVK.GroupVersion().String())
	if err == nil {
		ok = slices.ContainsFunc(res.APIResources, func(a metav1.APIResource) bool { return a.Kind == policyReportGVK.Kind })
	} else if !apierrors.IsNotFound(err) {
		log.Error(err, "Cannot tell whether the PolicyReport CRD is installed")
		return false
	}
	if r.installed == nil || *r.installed != ok {
		if ok {
			log.Info("Writing PolicyReports", "apiVersion", policyReportGVK.GroupVersion().String())
		} else {
			log.Info("Not writing PolicyReports: the CRD is not installed", "apiVersion", policyReportGVK.GroupVersion().String())
		}
		r.installed = &ok
		r.written = nil // the reports may have gone with the CRD: look again
	}
	return ok
}

// report renders a namespace's PolicyReport: a result per subject and finding, or one pass result
// for a subject without findings, worst first when there are more than maxResults.
func report(namespace string, subjects []*Subject) *unstructured.Unstructured {
	var results []map[string]any
	summary := map[Result]int64{}
	for _, s := range subjects {
		ref := map[string]any{"apiVersion": "v1", "kind": s.Kind, "namespace": s.Namespace, "name": s.Name}
		if s.UID != "" {
			ref["uid"] = s.UID
		}
		if len(s.Findings) == 0 {
			summary[ResultPass]++
			results = append(results, map[string]any{
				"source": reportSource, "policy": reportsPolicy, "rule": passRule, "category": "IRSA", "severity": "info",
				"result": string(ResultPass), "scored": true, "timestamp": timestamp(s.cleanSince.Unix()),
				"resources": []any{ref}, "message": "every IRSA check passes or does not apply",
			})
			continue
		}
		for _, f := range s.Findings {
			res := resultOf(f)
			summary[res]++
			props := map[string]any{"object": f.Object.String()}
			if f.Object.Field != "" {
				props["field"] = f.Object.Field
			}
			if f.PredictedError != "" {
				props["predictedError"] = f.PredictedError
			}
			if f.Fix != "" {
				props["fix"] = f.Fix
			}
			if s.Inconclusive {
				props["lastVerified"] = s.CheckedAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			results = append(results, map[string]any{
				"source": reportSource, "policy": reportsPolicy, "rule": string(f.Check), "category": "IRSA",
				"severity": severityOf(f.Severity), "result": string(res), "scored": true,
				"timestamp": timestamp(s.Since[findingKey(f)].Unix()), "resources": []any{ref},
				"message": f.Message, "properties": props,
			})
		}
	}
	slices.SortStableFunc(results, func(a, b map[string]any) int {
		return cmp.Or(cmp.Compare(Result(b["result"].(string)).rank(), Result(a["result"].(string)).rank()),
			cmp.Compare(resourceKey(a), resourceKey(b)), cmp.Compare(a["rule"].(string), b["rule"].(string)))
	})
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetGroupVersionKind(policyReportGVK)
	u.SetNamespace(namespace)
	u.SetName(ReportName)
	u.SetLabels(map[string]string{labelManaged: fieldOwner})
	if len(results) > maxResults {
		u.SetAnnotations(map[string]string{"irsa-guard.io/results-omitted": strconv.Itoa(len(results) - maxResults)})
		results = results[:maxResults]
	}
	items := make([]any, len(results))
	for i, r := range results {
		items[i] = r
	}
	u.Object["results"] = items
	u.Object["summary"] = map[string]any{"pass": summary[ResultPass], "fail": summary[ResultFail], "warn": summary[ResultWarn],
		"error": summary[ResultError], "skip": summary[ResultSkip]}
	return u
}

// severityOf maps a finding's severity to the API's (critical, high, medium, low, info).
func severityOf(s validators.Severity) string {
	switch s {
	case validators.SeverityError:
		return "high"
	case validators.SeverityWarning:
		return "medium"
	}
	return "info"
}

func timestamp(seconds int64) map[string]any {
	return map[string]any{"seconds": seconds, "nanos": int64(0)}
}

func resourceKey(r map[string]any) string {
	ref := r["resources"].([]any)[0].(map[string]any)
	return ref["kind"].(string) + "/" + ref["name"].(string)
}

// digestOf fingerprints a report's content, to skip writes that would change nothing.
func digestOf(u *unstructured.Unstructured) string {
	b, _ := json.Marshal(u.Object) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
