// Package server runs `irsa-guard serve`: a controller-runtime manager with the HTTPS webhook
// server, informers for what the checks read from the cluster, the AWS facts source, the review
// engine and the admission handlers, readiness that waits for certificates and caches, and a
// drain delay before shutdown. cmd/irsa-guard parses the configuration and calls Run.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// Run serves admission until ctx ends, then keeps /readyz false for the shutdown delay so
// endpoints drain before the port closes. restCfg reaches the API server; the AWS SDK's default
// credential chain and AWS_ENDPOINT_URL_* overrides apply.
func Run(ctx context.Context, cfg *config.Configuration, restCfg *rest.Config) error {
	log := ctrl.Log.WithName("serve")
	if limit := setMemoryLimit("/"); limit > 0 {
		log.Info("Holding the Go heap to the container's memory limit", "goMemLimitBytes", limit)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := newManager(cfg, restCfg, scheme)
	if err != nil {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	facts, err := awsfacts.NewSDK(awsCfg, awsOptions(cfg))
	if err != nil {
		return err
	}
	issuer, err := clusterIssuer(ctx, cfg, restCfg, facts)
	if err != nil {
		return err
	}
	log.Info("Using OIDC issuer", "issuer", issuer)
	cluster, err := NewCluster(ctx, mgr.GetCache(), mgr.GetAPIReader(), cfg)
	if err != nil {
		return err
	}
	engine := review.New(cfg, review.Options{Facts: facts, Cluster: cluster, Issuer: issuer})
	deps := &webhook.Deps{
		Engine:  engine,
		Cluster: cluster, Policy: webhook.Policy{Policy: cfg.Policy}, Budget: cfg.Server.DecisionBudget.Duration,
		Events:  &webhook.RateLimitedRecorder{Inner: mgr.GetEventRecorder("irsa-guard")},
		Observe: newDecisionMetrics(crmetrics.Registry).observe,
	}
	webhook.Register(mgr.GetWebhookServer(), scheme, deps, webhook.Fixers{
		ComposeRoleARN: cfg.Server.Fixers.ComposeRoleARN, Accounts: facts,
		FSGroup: cfg.Server.Fixers.FSGroup, FSGroupID: cfg.Server.Fixers.FSGroupID,
	})
	if err := addPrewarm(mgr, deps.Engine, cfg.AWS.Cache.PrewarmDeadline.Duration); err != nil {
		return err
	}
	if err := addAudit(mgr, cfg, restCfg, engine, cluster, issuer); err != nil {
		return err
	}
	var stopping atomic.Bool
	if err := addProbes(mgr, &stopping); err != nil {
		return err
	}
	drain := cfg.Server.ShutdownDelay.Duration
	mgrCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
			stopping.Store(true)
			log.Info("Draining before shutdown", "delay", drain.String())
			time.Sleep(drain)
			stop()
		case <-mgrCtx.Done():
		}
	}()
	log.Info("Starting", "mode", string(cfg.Policy.Mode), "webhookPort", cfg.Server.WebhookPort)
	return mgr.Start(mgrCtx)
}

// newManager builds the controller-runtime manager: TLS 1.2+ without HTTP/2 (Rapid Reset,
// GHSA-qppj-fm5r-hxr3) on the webhook and metrics servers, the webhook server's timeouts and
// connection and body limits (webhookLimits), managed fields stripped from cached objects, and the
// drain delay as the graceful shutdown timeout. The metrics port serves HTTPS with the webhook's
// certificate and lets in only callers the API server authenticates (TokenReview) and authorizes
// for the path (SubjectAccessReview), as kubebuilder scaffolds it: the audit's findings there
// name roles, accounts and namespaces.
func newManager(cfg *config.Configuration, restCfg *rest.Config, scheme *runtime.Scheme) (ctrl.Manager, error) {
	drain := cfg.Server.ShutdownDelay.Duration
	metrics := metricsserver.Options{
		BindAddress: cfg.Server.MetricsAddr, SecureServing: true, CertDir: cfg.Server.CertDir,
		FilterProvider: filters.WithAuthenticationAndAuthorization, TLSOpts: []func(*tls.Config){hardenTLS},
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metrics,
		HealthProbeBindAddress:  cfg.Server.HealthAddr,
		WebhookServer:           newWebhookServer(crwebhook.Options{Port: cfg.Server.WebhookPort, CertDir: cfg.Server.CertDir, TLSOpts: []func(*tls.Config){hardenTLS}}, defaultWebhookLimits),
		Cache:                   CacheOptions(scheme),
		GracefulShutdownTimeout: &drain,
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// hardenTLS is the webhook and metrics servers' TLS: 1.2 or later, HTTP/1.1 only.
func hardenTLS(c *tls.Config) {
	c.MinVersion = tls.VersionTLS12
	c.NextProtos = []string{"http/1.1"}
}

// awsOptions are the AWS facts source's settings from the configuration.
func awsOptions(cfg *config.Configuration) awsfacts.Options {
	a := cfg.AWS
	return awsfacts.Options{
		Account: cfg.Cluster.Account, Partition: cfg.Cluster.Partition, ClusterRegion: cfg.Cluster.Region, ReaderRoles: a.ReaderRoles,
		TTL: a.Cache.PositiveTTL.Duration, NegativeTTL: a.Cache.NegativeTTL.Duration, StaleFor: a.Cache.StaleTTL.Duration,
		LookupTimeout: cfg.Server.DecisionBudget.Duration, RateLimit: rate.Limit(a.IAM.QPS), Burst: a.IAM.Burst,
		BackgroundShare: cfg.Audit.IAMShare,
		Registerer:      crmetrics.Registry,
	}
}

// clusterIssuer is the configured issuer, else the one of the configured EKS cluster
// (eks:DescribeCluster), else the one Kubernetes names (the server's own token, the API server's
// discovery document).
func clusterIssuer(ctx context.Context, cfg *config.Configuration, restCfg *rest.Config, facts awsfacts.Source) (string, error) {
	switch {
	case cfg.Cluster.Issuer != "":
		return cfg.Cluster.Issuer, nil
	case cfg.Cluster.Name != "":
		iss, err := facts.ClusterIssuer(ctx, cfg.Cluster.Name)
		if err == nil {
			return iss, nil
		}
		ctrl.Log.WithName("serve").Info("Cannot read the issuer from EKS; asking Kubernetes", "cluster", cfg.Cluster.Name, "err", err.Error())
	}
	return kubefacts.DiscoverIssuer(ctx, restCfg, kubefacts.OwnTokenPath)
}

// addProbes adds readiness (certificates loaded and serving, informers synced, not shutting
// down) and liveness checks.
func addProbes(mgr ctrl.Manager, stopping *atomic.Bool) error {
	checks := map[string]healthz.Checker{
		"webhook": mgr.GetWebhookServer().StartedChecker(), // TLS handshake: certs loaded and serving
		"caches": func(r *http.Request) error {
			c, cancel := context.WithTimeout(r.Context(), time.Second)
			defer cancel()
			if !mgr.GetCache().WaitForCacheSync(c) {
				return errors.New("informer caches not synced")
			}
			return nil
		},
		"shutdown": func(*http.Request) error {
			if stopping.Load() {
				return errors.New("shutting down")
			}
			return nil
		},
	}
	for name, check := range checks {
		if err := mgr.AddReadyzCheck(name, check); err != nil {
			return err
		}
	}
	return mgr.AddHealthzCheck("ping", healthz.Ping)
}
