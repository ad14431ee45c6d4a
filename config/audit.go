package config

import (
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Audit is the background audit `serve` runs (docs/audit.md): every Interval the elected replica
// re-checks every ServiceAccount with IRSA annotations and every pod that uses one through the
// same engine and AWS facts cache as admission, and reports findings that appear or clear as
// Events, metrics, its /audit endpoint and, optionally, PolicyReports. It never denies anything.
type Audit struct {
	Enabled  bool            `json:"enabled"`
	Interval metav1.Duration `json:"interval,omitempty"`
	// IAMShare is the most of aws.iam's rate and burst the audit may use (0 < share < 1); it never
	// takes the tokens admissions need.
	IAMShare       float64        `json:"iamShare,omitempty"`
	LeaderElection LeaderElection `json:"leaderElection,omitempty"`
	// PolicyReports writes a wgpolicyk8s.io/v1alpha2 PolicyReport per namespace when that CRD is
	// installed.
	PolicyReports bool `json:"policyReports,omitempty"`
	// ExcludeNamespaces are never audited, like the webhook's excluded namespaces; namespaces and
	// objects labelled irsa-guard.io/skip=true and namespaces in mode off are left out too.
	ExcludeNamespaces []string `json:"excludeNamespaces,omitempty"`
}

// LeaderElection elects the one replica that audits, with a Lease; the webhook serves on every
// replica either way.
type LeaderElection struct {
	Enabled bool `json:"enabled"`
	// Namespace holds the Lease; "" means the pod's own namespace.
	Namespace string `json:"namespace,omitempty"`
	LeaseName string `json:"leaseName,omitempty"`
}

// defaultAudit is the audit's defaults: on, every ten minutes, a fifth of the IAM rate limit,
// leader-elected, no PolicyReports.
func defaultAudit() Audit {
	return Audit{
		Enabled: true, Interval: metav1.Duration{Duration: 10 * time.Minute}, IAMShare: 0.2,
		LeaderElection:    LeaderElection{Enabled: true, LeaseName: "irsa-guard-audit"},
		ExcludeNamespaces: []string{"kube-system", "kube-node-lease", "kube-public"},
	}
}

func bindAudit(fs *pflag.FlagSet, a *Audit) {
	fs.BoolVar(&a.Enabled, "audit", a.Enabled, "run the background audit of ServiceAccounts and running pods")
	fs.DurationVar(&a.Interval.Duration, "audit-interval", a.Interval.Duration, "time between the end of one audit pass and the start of the next")
	fs.Float64Var(&a.IAMShare, "audit-iam-share", a.IAMShare, "share of --iam-qps and --iam-burst the audit may use (0 < share < 1); admissions always come first")
	fs.BoolVar(&a.LeaderElection.Enabled, "audit-leader-election", a.LeaderElection.Enabled, "elect one replica to audit with a Lease (otherwise every replica audits)")
	fs.StringVar(&a.LeaderElection.Namespace, "audit-leader-election-namespace", a.LeaderElection.Namespace, "namespace of the audit's Lease (default: the pod's own)")
	fs.StringVar(&a.LeaderElection.LeaseName, "audit-lease-name", a.LeaderElection.LeaseName, "name of the audit's Lease")
	fs.BoolVar(&a.PolicyReports, "audit-policy-reports", a.PolicyReports, "write a wgpolicyk8s.io/v1alpha2 PolicyReport per namespace when the CRD is installed")
	fs.Var(&listValue{list: &a.ExcludeNamespaces}, "audit-exclude-namespace", "namespace never audited, in addition to the file's (repeatable)")
}

// listValue is a repeatable flag that adds to a list (the defaults' or the file's), as the map
// flags add to maps; a value already there is not added twice.
type listValue struct{ list *[]string }

func (v *listValue) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" && !slices.Contains(*v.list, item) {
			*v.list = append(*v.list, item)
		}
	}
	return nil
}

func (v *listValue) String() string {
	if v.list == nil {
		return ""
	}
	return strings.Join(*v.list, ",")
}

func (v *listValue) Type() string { return "strings" }

func (a *Audit) validate(bad badFunc) {
	if !a.Enabled {
		return
	}
	if a.Interval.Duration < time.Second {
		bad("--audit-interval (audit.interval)", "%s must be at least 1s, e.g. 10m", a.Interval.Duration)
	}
	if a.IAMShare <= 0 || a.IAMShare >= 1 {
		bad("--audit-iam-share (audit.iamShare)", "%g must be above 0 and below 1, e.g. 0.2 for a fifth of the IAM rate limit", a.IAMShare)
	}
	le := a.LeaderElection
	if le.Enabled {
		if errs := validation.IsDNS1123Subdomain(le.LeaseName); len(errs) > 0 {
			bad("--audit-lease-name (audit.leaderElection.leaseName)", "%q is not a Lease name: %s", le.LeaseName, errs[0])
		}
		if le.Namespace != "" {
			if errs := validation.IsDNS1123Label(le.Namespace); len(errs) > 0 {
				bad("--audit-leader-election-namespace (audit.leaderElection.namespace)", "%q is not a namespace: %s", le.Namespace, errs[0])
			}
		}
	}
}
