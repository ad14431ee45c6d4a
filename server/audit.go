package server

import (
	"fmt"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/irsa-guard/irsa-guard/audit"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// addAudit adds the background audit (package audit) to the manager when the configuration turns
// it on: a Runner on every replica that audits while it holds the Lease, and the audit's state on
// the metrics port at audit.Path, behind the same authentication and authorization as /metrics.
func addAudit(mgr ctrl.Manager, cfg *config.Configuration, restCfg *rest.Config, engine *review.Engine, cluster review.Cluster, issuer string) error {
	a := cfg.Audit
	if !a.Enabled {
		return nil
	}
	metrics, err := audit.NewMetrics(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register the audit's metrics: %w", err)
	}
	var reports *audit.PolicyReports
	if a.PolicyReports {
		dc, err := discovery.NewDiscoveryClientForConfig(restCfg)
		if err != nil {
			return fmt.Errorf("audit PolicyReports: %w", err)
		}
		reports = &audit.PolicyReports{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Discovery: dc}
	}
	auditor := audit.New(audit.Options{
		Engine: engine, Cluster: cluster, Policy: webhook.Policy{Policy: cfg.Policy}, ExcludeNamespaces: a.ExcludeNamespaces,
		Lister:  &audit.KubeLister{Cache: mgr.GetClient(), API: mgr.GetAPIReader()},
		Events:  &webhook.RateLimitedRecorder{Inner: mgr.GetEventRecorder("irsa-guard")},
		Reports: reports, Metrics: metrics,
		Context: diagnose.Context{Issuer: issuer, IssuerFrom: "irsa-guard serve", Cluster: cfg.Cluster.Name, AWS: "irsa-guard serve's AWS identity (its audit)"},
	})
	var lock resourcelock.Interface
	if a.LeaderElection.Enabled {
		if lock, err = audit.NewLease(restCfg, a.LeaderElection.Namespace, a.LeaderElection.LeaseName); err != nil {
			return err
		}
	}
	if cfg.Server.MetricsAddr != "0" {
		if err := mgr.AddMetricsServerExtraHandler(audit.Path, auditor); err != nil {
			return fmt.Errorf("serve the audit's state: %w", err)
		}
	}
	return mgr.Add(&audit.Runner{Audit: auditor, Interval: a.Interval.Duration, Lock: lock})
}
