// Package config is irsa-guard's one configuration, shared by every command: what irsa-guard
// knows about the cluster (issuer, audience, cluster name, how its pod-identity-webhook injects),
// how it reads AWS, what to do with findings, and how `serve` runs. The Helm chart renders it as a
// versioned YAML file (charts/irsa-guard/templates/_config.tpl); `serve`, `lint` and later commands
// read that file with --config, and every setting in it also has a flag that wins over the file.
// There is no package-level state.
package config

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/validators"
)

// The configuration file's version. A file names it in apiVersion and kind; a file for another
// version is refused with a message saying which one this irsa-guard reads.
const (
	APIVersion = "irsa-guard.io/v1alpha1"
	Kind       = "Configuration"
)

// Mode is what the webhook does with findings.
type Mode string

// The modes. "warn" is the default everywhere.
const (
	// ModeEnforce denies on error findings.
	ModeEnforce Mode = "enforce"
	// ModeWarn turns every finding into an admission warning.
	ModeWarn Mode = "warn"
	// ModeOff ignores findings.
	ModeOff Mode = "off"
)

// Labels users put on objects and namespaces to steer irsa-guard; the chart's webhook
// configurations select on them too.
const (
	// LabelMode on a namespace overrides the configured mode for objects in it.
	LabelMode = "irsa-guard.io/mode"
	// LabelSkip "true" on an object (or namespace) opts it out entirely.
	LabelSkip = "irsa-guard.io/skip"
)

// Modes lists the valid modes, for messages.
func Modes() []Mode { return []Mode{ModeEnforce, ModeWarn, ModeOff} }

// WebhookTimeout is the timeoutSeconds of the chart's webhook configurations. The decision
// budget must stay below it so irsa-guard, not the API server's failurePolicy, decides.
const WebhookTimeout = 3 * time.Second

// Configuration is the whole file. Commands use the sections they need: lint reads Cluster, AWS
// and Policy; serve reads everything (Audit in audit.go).
type Configuration struct {
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Cluster    Cluster `json:"cluster,omitempty"`
	AWS        AWS     `json:"aws,omitempty"`
	Policy     Policy  `json:"policy,omitempty"`
	Server     Server  `json:"server,omitempty"`
	Audit      Audit   `json:"audit,omitempty"`
}

// Cluster is what irsa-guard knows about the cluster it checks for.
type Cluster struct {
	// Name is the EKS cluster's name: with it, irsa-guard reads EKS Pod Identity associations
	// (eks:ListPodIdentityAssociations) and, where Issuer is empty, the issuer (eks:DescribeCluster).
	Name string `json:"name,omitempty"`
	// Region is the EKS cluster's region, for those EKS calls; "" means the AWS SDK's default.
	Region string `json:"region,omitempty"`
	// Issuer is the cluster's OIDC issuer URL; "" means discover it.
	Issuer string `json:"issuer,omitempty"`
	// Account and Partition are the cluster's AWS account; "" means irsa-guard's own
	// (sts:GetCallerIdentity). Bare role names are composed with them.
	Account   string `json:"account,omitempty"`
	Partition string `json:"partition,omitempty"`
	// PodIdentityWebhook is how the cluster's pod-identity-webhook is registered and runs.
	PodIdentityWebhook PodIdentityWebhook `json:"podIdentityWebhook,omitempty"`
}

// PodIdentityWebhook describes the cluster's amazon-eks-pod-identity-webhook: how to find its
// MutatingWebhookConfiguration (IRSA050/051) and the flags it runs with, which decide what it
// injects (https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/main.go).
type PodIdentityWebhook struct {
	Configuration string `json:"configuration,omitempty"` // EKS: pod-identity-webhook
	Name          string `json:"name,omitempty"`          // EKS: iam-for-pods.amazonaws.com
	// Audience is its --token-audience: the token audience for ServiceAccounts without
	// eks.amazonaws.com/audience.
	Audience string `json:"audience,omitempty"`
	// ComposeRoleARN is its --compose-role-arn: a bare role name in eks.amazonaws.com/role-arn is
	// expanded to arn:<partition>:iam::<account>:role/<name>, so such values work.
	ComposeRoleARN bool `json:"composeRoleARN,omitempty"`
	// RegionalSTS is its --sts-regional-endpoint: "true" injects AWS_STS_REGIONAL_ENDPOINTS=regional
	// into every pod, "false" only where the ServiceAccount asks, "" not known.
	RegionalSTS string `json:"regionalSTS,omitempty"`
	// DefaultRegion is its --aws-default-region: injected as AWS_REGION and AWS_DEFAULT_REGION.
	DefaultRegion string `json:"defaultRegion,omitempty"`
	// TokenExpiration is its --token-expiration in seconds (default 86400).
	TokenExpiration int64 `json:"tokenExpiration,omitempty"`
}

// AWS is how irsa-guard reads AWS.
type AWS struct {
	// ReaderRoles maps another account ID to a role irsa-guard assumes there to read IAM.
	ReaderRoles map[string]string `json:"readerRoles,omitempty"`
	Cache       CacheOptions      `json:"cache,omitempty"`
	IAM         IAMOptions        `json:"iam,omitempty"`
}

// CacheOptions are the AWS facts cache's lifetimes.
type CacheOptions struct {
	PositiveTTL metav1.Duration `json:"positiveTTL,omitempty"`
	NegativeTTL metav1.Duration `json:"negativeTTL,omitempty"`
	StaleTTL    metav1.Duration `json:"staleTTL,omitempty"`
	// PrewarmDeadline bounds how long serve stays unready while it fills the cache from the
	// cluster's ServiceAccounts; it keeps warming in the background after it. 0: ready at once.
	PrewarmDeadline metav1.Duration `json:"prewarmDeadline,omitempty"`
}

// IAMOptions is the client-side rate limit shared by every AWS read of one process.
type IAMOptions struct {
	QPS   float64 `json:"qps,omitempty"`
	Burst int     `json:"burst,omitempty"`
}

// Policy is what to do with findings. Decide (package webhook) applies modes; severities apply
// wherever findings are made, so every command reports a check the same way.
type Policy struct {
	Mode           Mode                                       `json:"mode,omitempty"`
	NamespaceModes map[string]Mode                            `json:"namespaceModes,omitempty"` // the label irsa-guard.io/mode wins
	CheckModes     map[validators.CheckID]Mode                `json:"checkModes,omitempty"`
	CheckSeverity  map[validators.CheckID]validators.Severity `json:"checkSeverities,omitempty"`
	FailClosed     bool                                       `json:"failClosed,omitempty"`
}

// Server is how `irsa-guard serve` runs.
type Server struct {
	CertDir        string          `json:"certDir,omitempty"`
	WebhookPort    int             `json:"webhookPort,omitempty"`
	MetricsAddr    string          `json:"metricsBindAddress,omitempty"`
	HealthAddr     string          `json:"healthProbeBindAddress,omitempty"`
	DecisionBudget metav1.Duration `json:"decisionBudget,omitempty"`
	ShutdownDelay  metav1.Duration `json:"shutdownDelay,omitempty"`
	Fixers         FixerOptions    `json:"fixers,omitempty"`
	LogLevel       string          `json:"logLevel,omitempty"`
	LogFormat      string          `json:"logFormat,omitempty"`
}

// FixerOptions turns on the opt-in mutations; each is off by default.
type FixerOptions struct {
	ComposeRoleARN bool  `json:"composeRoleARN,omitempty"`
	FSGroup        bool  `json:"fsGroup,omitempty"`
	FSGroupID      int64 `json:"fsGroupID,omitempty"`
}

// Default returns the defaults: warn mode, fail open, a 2.5 s budget of the 3 s timeout, and
// pod-identity-webhook as EKS registers and runs it.
func Default() *Configuration {
	return &Configuration{
		APIVersion: APIVersion,
		Kind:       Kind,
		Cluster: Cluster{
			PodIdentityWebhook: PodIdentityWebhook{
				Configuration:   validators.DefaultPodIdentityWebhookConfiguration,
				Name:            validators.DefaultPodIdentityWebhookName,
				Audience:        validators.DefaultAudience,
				TokenExpiration: validators.DefaultTokenExpirationSeconds,
			},
		},
		AWS: AWS{
			Cache: CacheOptions{
				PositiveTTL:     metav1.Duration{Duration: 10 * time.Minute},
				NegativeTTL:     metav1.Duration{Duration: 30 * time.Second},
				StaleTTL:        metav1.Duration{Duration: time.Hour},
				PrewarmDeadline: metav1.Duration{Duration: time.Minute},
			},
			IAM: IAMOptions{QPS: 5, Burst: 20},
		},
		Policy: Policy{Mode: ModeWarn},
		Server: Server{
			CertDir:        "/etc/irsa-guard/tls",
			WebhookPort:    9443,
			MetricsAddr:    ":8080",
			HealthAddr:     ":8081",
			DecisionBudget: metav1.Duration{Duration: 2500 * time.Millisecond},
			ShutdownDelay:  metav1.Duration{Duration: 5 * time.Second},
			Fixers:         FixerOptions{FSGroupID: 65534},
			LogLevel:       "info",
			LogFormat:      "json",
		},
		Audit: defaultAudit(),
	}
}

// NamespaceMode is the configured mode of objects in a namespace: its entry in NamespaceModes,
// else Mode (warn when unset). The webhook lets the namespace label irsa-guard.io/mode win over it.
func (p Policy) NamespaceMode(namespace string) Mode {
	if m, ok := p.NamespaceModes[namespace]; ok {
		return m
	}
	if p.Mode == "" {
		return ModeWarn
	}
	return p.Mode
}

// CheckMode is the mode of one check for an object whose mode is objectMode: the per-check mode
// overrides it, except that an object in mode off is not checked at all.
func (p Policy) CheckMode(objectMode Mode, id validators.CheckID) Mode {
	if objectMode == ModeOff {
		return ModeOff
	}
	if m, ok := p.CheckModes[id]; ok {
		return m
	}
	return objectMode
}
