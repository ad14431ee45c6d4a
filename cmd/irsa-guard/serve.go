package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// ownTokenPath is where Kubernetes mounts irsa-guard's own ServiceAccount token.
const ownTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token" //nolint:gosec // a path, not a credential

func newServeCommand() *cobra.Command {
	opts := config.NewOptions()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Load(cmd.Flags()); err != nil {
				return usageErrorf("%v", err)
			}
			if err := opts.Validate(); err != nil {
				return usageErrorf("invalid configuration:\n%v", err)
			}
			return runServe(cmd.Context(), opts)
		},
	}
	opts.BindFlags(cmd.Flags())
	return cmd
}

// runServe wires the manager, the AWS verifier and the four webhooks, then serves until ctx
// ends, keeping /readyz false for ShutdownDelay first so endpoints drain before the port closes.
func runServe(ctx context.Context, opts *config.Options) error {
	ctrl.SetLogger(newLogger(opts))
	log := ctrl.Log.WithName("serve")
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubernetes client config: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	tlsOpts := func(c *tls.Config) {
		c.MinVersion = tls.VersionTLS12
		c.NextProtos = []string{"http/1.1"} // HTTP/2 off: Rapid Reset (GHSA-qppj-fm5r-hxr3)
	}
	drain := opts.ShutdownDelay.Duration
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: opts.MetricsAddr, TLSOpts: []func(*tls.Config){tlsOpts}},
		HealthProbeBindAddress:  opts.HealthAddr,
		WebhookServer:           crwebhook.NewServer(crwebhook.Options{Port: opts.WebhookPort, CertDir: opts.CertDir, TLSOpts: []func(*tls.Config){tlsOpts}}),
		Cache:                   cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		GracefulShutdownTimeout: &drain,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	issuer, err := clusterIssuer(ctx, opts.Issuer, restCfg)
	if err != nil {
		return err
	}
	log.Info("Using OIDC issuer", "issuer", issuer)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	verifier, err := awsfacts.NewVerifier(awsCfg, awsfacts.Options{
		Account: opts.Account, ReaderRoles: opts.ReaderRoles,
		TTL: opts.Cache.PositiveTTL.Duration, NegativeTTL: opts.Cache.NegativeTTL.Duration, StaleFor: opts.Cache.StaleTTL.Duration,
		LookupTimeout: opts.DecisionBudget.Duration, RateLimit: rate.Limit(opts.IAM.QPS), Burst: opts.IAM.Burst,
		Registerer: crmetrics.Registry,
	})
	if err != nil {
		return err
	}
	deps := &webhook.Deps{
		Policy: webhook.PolicyFromOptions(opts), Reader: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Verifier: verifier, Issuer: issuer, Audience: opts.Audience, Budget: opts.DecisionBudget.Duration,
		PodIdentityWebhook: validators.PodIdentityWebhookNames{Configuration: opts.PodIdentityWebhookConfiguration, Webhook: opts.PodIdentityWebhookName},
		Events:             &webhook.RateLimitedRecorder{Inner: mgr.GetEventRecorder("irsa-guard")},
	}
	account := webhook.StaticAccount(opts.Partition, opts.Account)
	if opts.Account == "" {
		account = callerAccount(sts.NewFromConfig(awsCfg), opts.Partition)
	}
	webhook.Register(mgr.GetWebhookServer(), scheme, deps, webhook.Fixers{
		ComposeRoleARN: opts.Fixers.ComposeRoleARN, Account: account, FSGroup: opts.Fixers.FSGroup, FSGroupID: opts.Fixers.FSGroupID})
	// Start the informers with the manager, not on the first request: the webhook configurations
	// are watched, never fetched per request.
	for _, obj := range []client.Object{&corev1.ServiceAccount{}, &corev1.Namespace{}, &admissionregistrationv1.MutatingWebhookConfiguration{}} {
		if _, err := mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("watch %T: %w", obj, err)
		}
	}
	var stopping atomic.Bool
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
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
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
	log.Info("Starting", "mode", string(opts.Mode), "webhookPort", opts.WebhookPort)
	return mgr.Start(mgrCtx)
}

func newLogger(opts *config.Options) logr.Logger {
	level := map[string]zapcore.Level{"debug": zapcore.DebugLevel, "info": zapcore.InfoLevel, "error": zapcore.ErrorLevel}[opts.LogLevel]
	enc := zap.JSONEncoder()
	if opts.LogFormat == "console" {
		enc = zap.ConsoleEncoder()
	}
	return zap.New(enc, zap.Level(level), zap.WriteTo(os.Stderr))
}

// clusterIssuer picks the cluster's OIDC issuer: the flag, else the iss claim of irsa-guard's
// own projected token (it is issued by the same issuer as every pod's), else the API server's
// discovery document.
func clusterIssuer(ctx context.Context, flag string, cfg *rest.Config) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if token, err := os.ReadFile(ownTokenPath); err == nil {
		if iss := jwtIssuer(string(token)); validators.ValidateIssuer(iss) == nil {
			return iss, nil
		}
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return "", fmt.Errorf("discover the OIDC issuer: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cfg.Host, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discover the OIDC issuer: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("discover the OIDC issuer (set --issuer): %w", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discover the OIDC issuer: API server answered %s (set --issuer)", resp.Status)
	}
	if err := validators.ValidateIssuer(doc.Issuer); err != nil {
		return "", fmt.Errorf("API server's discovery document: %w (set --issuer)", err)
	}
	return doc.Issuer, nil
}

// jwtIssuer reads the iss claim of a JWT without verifying it: irsa-guard only needs to know
// which issuer its own cluster uses. The token itself is never logged.
func jwtIssuer(token string) string {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Iss
}

// callerAccount asks sts:GetCallerIdentity once for the compose fixer, remembering success.
func callerAccount(client *sts.Client, partition string) webhook.AccountFunc {
	var mu sync.Mutex
	var account, part string
	return func(ctx context.Context) (string, string, error) {
		mu.Lock()
		defer mu.Unlock()
		if account != "" {
			return part, account, nil
		}
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", "", fmt.Errorf("sts:GetCallerIdentity: %w", err)
		}
		arn := ""
		if out.Arn != nil {
			arn = *out.Arn
		}
		part = partition
		if p := strings.Split(arn, ":"); part == "" && len(p) > 1 {
			part = p[1]
		}
		if out.Account != nil {
			account = *out.Account
		}
		return part, account, nil
	}
}
