// Package config holds `irsa-guard serve`'s options: flags, an optional YAML file in the shape
// the Helm chart renders (charts/irsa-guard/templates/_config.tpl), and validation that says
// which setting is wrong and how to fix it. There is no package-level state.
package config

import (
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode is what the webhook does with findings.
type Mode string

const (
	// ModeEnforce denies on error findings.
	ModeEnforce Mode = "enforce"
	// ModeWarn turns every finding into an admission warning (the default).
	ModeWarn Mode = "warn"
	// ModeOff ignores findings.
	ModeOff Mode = "off"
)

// WebhookTimeout is the timeoutSeconds of the chart's webhook configurations. The decision
// budget must stay below it so irsa-guard, not the API server's failurePolicy, decides.
const WebhookTimeout = 3 * time.Second

// Options is everything `irsa-guard serve` can be told. JSON names are the config file's keys.
type Options struct {
	ConfigFile  string `json:"-"`
	CertDir     string `json:"certDir,omitempty"`
	WebhookPort int    `json:"webhookPort,omitempty"`
	MetricsAddr string `json:"metricsBindAddress,omitempty"`
	HealthAddr  string `json:"healthProbeBindAddress,omitempty"`

	Mode           Mode              `json:"mode,omitempty"`
	NamespaceModes map[string]string `json:"namespaceModes,omitempty"` // namespace -> mode; the label irsa-guard.io/mode wins
	CheckModes     map[string]string `json:"checkModes,omitempty"`     // check ID -> mode
	FailClosed     bool              `json:"failClosed,omitempty"`
	DecisionBudget metav1.Duration   `json:"decisionBudget,omitempty"`
	ShutdownDelay  metav1.Duration   `json:"shutdownDelay,omitempty"`

	Issuer    string `json:"issuer,omitempty"`
	Audience  string `json:"audience,omitempty"`
	Account   string `json:"account,omitempty"`   // the cluster's AWS account; "" means sts:GetCallerIdentity
	Partition string `json:"partition,omitempty"` // "" means the partition of the caller identity

	Cache       CacheOptions      `json:"cache,omitempty"`
	IAM         IAMOptions        `json:"iam,omitempty"`
	ReaderRoles map[string]string `json:"readerRoles,omitempty"` // account -> reader role ARN
	Fixers      FixerOptions      `json:"fixers,omitempty"`

	PodIdentityWebhookConfiguration string `json:"podIdentityWebhookConfiguration,omitempty"`
	PodIdentityWebhookName          string `json:"podIdentityWebhookName,omitempty"`

	LogLevel  string `json:"logLevel,omitempty"`
	LogFormat string `json:"logFormat,omitempty"`
}

// CacheOptions are the AWS facts cache's lifetimes.
type CacheOptions struct {
	PositiveTTL metav1.Duration `json:"positiveTTL,omitempty"`
	NegativeTTL metav1.Duration `json:"negativeTTL,omitempty"`
	StaleTTL    metav1.Duration `json:"staleTTL,omitempty"`
}

// IAMOptions is the client-side IAM rate limit shared by every lookup of one replica.
type IAMOptions struct {
	QPS   float64 `json:"qps,omitempty"`
	Burst int     `json:"burst,omitempty"`
}

// FixerOptions turns on the opt-in mutations; each is off by default.
type FixerOptions struct {
	ComposeRoleARN bool  `json:"composeRoleARN,omitempty"`
	FSGroup        bool  `json:"fsGroup,omitempty"`
	FSGroupID      int64 `json:"fsGroupID,omitempty"`
}

// NewOptions returns the defaults: warn mode, fail open, a 2.5 s budget of the 3 s timeout.
func NewOptions() *Options {
	return &Options{
		CertDir:        "/etc/irsa-guard/tls",
		WebhookPort:    9443,
		MetricsAddr:    ":8080",
		HealthAddr:     ":8081",
		Mode:           ModeWarn,
		DecisionBudget: metav1.Duration{Duration: 2500 * time.Millisecond},
		ShutdownDelay:  metav1.Duration{Duration: 5 * time.Second},
		Audience:       "sts.amazonaws.com",
		Cache: CacheOptions{
			PositiveTTL: metav1.Duration{Duration: 10 * time.Minute},
			NegativeTTL: metav1.Duration{Duration: 30 * time.Second},
			StaleTTL:    metav1.Duration{Duration: time.Hour},
		},
		IAM:                             IAMOptions{QPS: 5, Burst: 20},
		Fixers:                          FixerOptions{FSGroupID: 65534},
		PodIdentityWebhookConfiguration: "pod-identity-webhook",
		PodIdentityWebhookName:          "iam-for-pods.amazonaws.com",
		LogLevel:                        "info",
		LogFormat:                       "json",
	}
}

// BindFlags registers every option on fs. Flags given on the command line win over the file.
func (o *Options) BindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ConfigFile, "config", o.ConfigFile, "YAML configuration file (the Helm chart's config.yaml); flags override it")
	fs.StringVar(&o.CertDir, "cert-dir", o.CertDir, "directory with tls.crt and tls.key; reloaded when they change")
	fs.IntVar(&o.WebhookPort, "webhook-port", o.WebhookPort, "port of the HTTPS webhook server")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, `address of the Prometheus /metrics endpoint ("0" disables it)`)
	fs.StringVar(&o.HealthAddr, "health-probe-bind-address", o.HealthAddr, "address of /healthz and /readyz")
	fs.StringVar((*string)(&o.Mode), "mode", string(o.Mode), "what to do with findings: enforce (deny on errors), warn or off")
	fs.StringToStringVar(&o.NamespaceModes, "namespace-mode", o.NamespaceModes, "per-namespace mode, e.g. payments=enforce (the namespace label irsa-guard.io/mode wins)")
	fs.StringToStringVar(&o.CheckModes, "check-mode", o.CheckModes, "per-check mode, e.g. IRSA034=off")
	fs.BoolVar(&o.FailClosed, "fail-closed", o.FailClosed, "deny when AWS cannot be checked (IRSA090) in enforce mode")
	fs.DurationVar(&o.DecisionBudget.Duration, "decision-budget", o.DecisionBudget.Duration, "time one admission decision may take; must be below the 3s webhook timeout")
	fs.DurationVar(&o.ShutdownDelay.Duration, "shutdown-delay", o.ShutdownDelay.Duration, "keep serving this long after SIGTERM so endpoints drain")
	fs.StringVar(&o.Issuer, "issuer", o.Issuer, "cluster OIDC issuer URL; default: the iss of irsa-guard's own token, else the API server's discovery")
	fs.StringVar(&o.Audience, "audience", o.Audience, "default token audience when a ServiceAccount has no eks.amazonaws.com/audience")
	fs.StringVar(&o.Account, "account", o.Account, "the cluster's AWS account for the compose fixer; default from sts:GetCallerIdentity")
	fs.StringVar(&o.Partition, "partition", o.Partition, "AWS partition for the compose fixer; default from sts:GetCallerIdentity")
	fs.DurationVar(&o.Cache.PositiveTTL.Duration, "cache-positive-ttl", o.Cache.PositiveTTL.Duration, "how long found roles and providers are cached")
	fs.DurationVar(&o.Cache.NegativeTTL.Duration, "cache-negative-ttl", o.Cache.NegativeTTL.Duration, "how long not-found answers are cached")
	fs.DurationVar(&o.Cache.StaleTTL.Duration, "cache-stale-ttl", o.Cache.StaleTTL.Duration, "how long a stale answer may be served while IAM fails")
	fs.Float64Var(&o.IAM.QPS, "iam-qps", o.IAM.QPS, "IAM requests per second of this replica")
	fs.IntVar(&o.IAM.Burst, "iam-burst", o.IAM.Burst, "IAM request burst of this replica")
	fs.StringToStringVar(&o.ReaderRoles, "reader-role", o.ReaderRoles, "role to assume to read IAM in another account, e.g. 444455556666=arn:aws:iam::444455556666:role/irsa-guard-reader")
	fs.BoolVar(&o.Fixers.ComposeRoleARN, "fix-compose-role-arn", o.Fixers.ComposeRoleARN, "expand a bare role name in eks.amazonaws.com/role-arn to a full ARN")
	fs.BoolVar(&o.Fixers.FSGroup, "fix-fs-group", o.Fixers.FSGroup, "set spec.securityContext.fsGroup when containers could not read the token (IRSA042)")
	fs.Int64Var(&o.Fixers.FSGroupID, "fs-group-id", o.Fixers.FSGroupID, "the fsGroup the fsGroup fixer sets")
	fs.StringVar(&o.PodIdentityWebhookConfiguration, "pod-identity-webhook-configuration", o.PodIdentityWebhookConfiguration, "name of pod-identity-webhook's MutatingWebhookConfiguration")
	fs.StringVar(&o.PodIdentityWebhookName, "pod-identity-webhook-name", o.PodIdentityWebhookName, "name of the webhook inside it")
	fs.StringVar(&o.LogLevel, "log-level", o.LogLevel, "debug, info or error")
	fs.StringVar(&o.LogFormat, "log-format", o.LogFormat, "json or console")
}
