package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/irsa-guard/irsa-guard/validators"
)

// Section names a part of the Configuration whose flags a command takes.
type Section int

// The sections, in the file's order.
const (
	SectionCluster Section = iota
	SectionAWS
	SectionPolicy
	SectionServer
	SectionAudit
)

// Flags binds a Configuration's settings to a command's flag set and loads --config under them:
// defaults, then the file, then the flags given on the command line, replayed from their raw
// text in the order given (never from the values' String forms), so a flag always wins.
type Flags struct {
	cfg      *Configuration
	file     string
	sections []Section
	given    []givenFlag
}

// givenFlag is one flag as the command line gave it.
type givenFlag struct {
	value pflag.Value
	raw   string
}

// Bind registers --config and the flags of the given sections on fs, bound to cfg.
func Bind(fs *pflag.FlagSet, cfg *Configuration, sections ...Section) *Flags {
	f := &Flags{cfg: cfg, sections: sections}
	fs.StringVar(&f.file, "config", "", "configuration file (the Helm chart's config.yaml, apiVersion "+APIVersion+"); flags override it")
	for _, s := range sections {
		switch s {
		case SectionCluster:
			bindCluster(fs, &cfg.Cluster)
		case SectionAWS:
			bindAWS(fs, &cfg.AWS)
		case SectionPolicy:
			bindPolicy(fs, &cfg.Policy)
		case SectionServer:
			bindServer(fs, &cfg.Server)
		case SectionAudit:
			bindAudit(fs, &cfg.Audit)
		}
	}
	// Record every Set the command line makes, to replay it over the file.
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "config" {
			fl.Value = &recorder{Value: fl.Value, flags: f}
		}
	})
	return f
}

// Load reads the --config file, if one was given, over the defaults and replays the flags given
// on the command line over it, then validates the bound sections. The error names the file, the
// key or flag, and the fix.
func (f *Flags) Load() error {
	if f.file != "" {
		given := f.given
		if err := f.cfg.load(f.file); err != nil {
			return err
		}
		for _, g := range given {
			if err := g.value.Set(g.raw); err != nil {
				return fmt.Errorf("re-apply a flag over %s: %w", f.file, err)
			}
		}
	}
	return f.cfg.Validate(f.sections...)
}

// recorder remembers the raw text of every Set before passing it on.
type recorder struct {
	pflag.Value
	flags *Flags
}

func (r *recorder) Set(s string) error {
	if err := r.Value.Set(s); err != nil {
		return err
	}
	r.flags.given = append(r.flags.given, givenFlag{value: r.Value, raw: s})
	return nil
}

func bindCluster(fs *pflag.FlagSet, c *Cluster) {
	fs.StringVar(&c.Name, "cluster", c.Name, "EKS cluster name: read EKS Pod Identity associations, and the issuer when --issuer is not set")
	fs.StringVar(&c.Region, "region", c.Region, "the EKS cluster's AWS region (default: the AWS SDK's)")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "the cluster's OIDC issuer URL, e.g. https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E")
	fs.StringVar(&c.Account, "account", c.Account, "the cluster's AWS account, for composing bare role names (default: from sts:GetCallerIdentity)")
	fs.StringVar(&c.Partition, "partition", c.Partition, "the cluster's AWS partition, for composing bare role names (default: from sts:GetCallerIdentity)")
	p := &c.PodIdentityWebhook
	fs.StringVar(&p.Configuration, "pod-identity-webhook-configuration", p.Configuration, "name of pod-identity-webhook's MutatingWebhookConfiguration")
	fs.StringVar(&p.Name, "pod-identity-webhook-name", p.Name, "name of the webhook inside it")
	fs.StringVar(&p.Audience, "audience", p.Audience, "token audience pod-identity-webhook uses when a ServiceAccount has no eks.amazonaws.com/audience (its --token-audience)")
	fs.BoolVar(&p.ComposeRoleARN, "compose-role-arn", p.ComposeRoleARN, "the cluster's pod-identity-webhook runs with --compose-role-arn: bare role names in eks.amazonaws.com/role-arn work")
	fs.StringVar(&p.RegionalSTS, "regional-sts", p.RegionalSTS, `the cluster's pod-identity-webhook --sts-regional-endpoint: "true", "false", or "" when not known`)
	fs.StringVar(&p.DefaultRegion, "default-region", p.DefaultRegion, "the cluster's pod-identity-webhook --aws-default-region (injected as AWS_REGION)")
	fs.Int64Var(&p.TokenExpiration, "token-expiration", p.TokenExpiration, "the cluster's pod-identity-webhook --token-expiration in seconds")
}

func bindAWS(fs *pflag.FlagSet, a *AWS) {
	fs.Var(newMapValue(&a.ReaderRoles), "reader-role", "role to assume to read IAM in another account, e.g. 444455556666=arn:aws:iam::444455556666:role/irsa-guard-reader (repeatable)")
	fs.DurationVar(&a.Cache.PositiveTTL.Duration, "cache-positive-ttl", a.Cache.PositiveTTL.Duration, "how long found roles and providers are cached")
	fs.DurationVar(&a.Cache.NegativeTTL.Duration, "cache-negative-ttl", a.Cache.NegativeTTL.Duration, "how long not-found answers are cached")
	fs.DurationVar(&a.Cache.StaleTTL.Duration, "cache-stale-ttl", a.Cache.StaleTTL.Duration, "how long a stale answer may be served while AWS fails")
	fs.DurationVar(&a.Cache.PrewarmDeadline.Duration, "cache-prewarm-deadline", a.Cache.PrewarmDeadline.Duration, "serve: how long to stay unready while caching the roles of the cluster's ServiceAccounts (0: ready at once; warming goes on)")
	fs.Float64Var(&a.IAM.QPS, "iam-qps", a.IAM.QPS, "AWS requests per second of this process (raise it for one-shot runs)")
	fs.IntVar(&a.IAM.Burst, "iam-burst", a.IAM.Burst, "AWS request burst of this process")
}

func bindPolicy(fs *pflag.FlagSet, p *Policy) {
	fs.StringVar((*string)(&p.Mode), "mode", string(p.Mode), "what to do with findings: enforce (deny on errors), warn or off")
	fs.Var(newMapValue(&p.NamespaceModes), "namespace-mode", "per-namespace mode, e.g. payments=enforce (the namespace label irsa-guard.io/mode wins; repeatable)")
	fs.Var(newMapValue(&p.CheckModes), "check-mode", "per-check mode, e.g. IRSA034=off (repeatable)")
	fs.Var(newMapValue(&p.CheckSeverity), "check-severity", "per-check severity, e.g. IRSA043=warning (error, warning or info; repeatable)")
	fs.BoolVar(&p.FailClosed, "fail-closed", p.FailClosed, "deny when AWS cannot be checked (IRSA090) in enforce mode")
}

func bindServer(fs *pflag.FlagSet, s *Server) {
	fs.StringVar(&s.CertDir, "cert-dir", s.CertDir, "directory with tls.crt and tls.key; reloaded when they change")
	fs.IntVar(&s.WebhookPort, "webhook-port", s.WebhookPort, "port of the HTTPS webhook server")
	fs.StringVar(&s.MetricsAddr, "metrics-bind-address", s.MetricsAddr, `address of the Prometheus /metrics endpoint ("0" disables it)`)
	fs.StringVar(&s.HealthAddr, "health-probe-bind-address", s.HealthAddr, "address of /healthz and /readyz")
	fs.DurationVar(&s.DecisionBudget.Duration, "decision-budget", s.DecisionBudget.Duration, "time one admission decision may take; must be below the 3s webhook timeout")
	fs.DurationVar(&s.ShutdownDelay.Duration, "shutdown-delay", s.ShutdownDelay.Duration, "keep serving this long after SIGTERM so endpoints drain")
	fs.BoolVar(&s.Fixers.ComposeRoleARN, "fix-compose-role-arn", s.Fixers.ComposeRoleARN, "mutating fixer: expand a bare role name in eks.amazonaws.com/role-arn to a full ARN")
	fs.BoolVar(&s.Fixers.FSGroup, "fix-fs-group", s.Fixers.FSGroup, "mutating fixer: set spec.securityContext.fsGroup when containers could not read the token (IRSA042)")
	fs.Int64Var(&s.Fixers.FSGroupID, "fs-group-id", s.Fixers.FSGroupID, "the fsGroup the fsGroup fixer sets")
	fs.StringVar(&s.LogLevel, "log-level", s.LogLevel, "debug, info or error")
	fs.StringVar(&s.LogFormat, "log-format", s.LogFormat, "json or console")
}

// mapValue is a repeatable KEY=VALUE flag for a map with string-like keys and values (check IDs,
// modes, severities). Each Set adds to the map, so a flag adds to or overrides the file's entries.
type mapValue[K, V ~string] struct{ m *map[K]V }

func newMapValue[K, V ~string](m *map[K]V) *mapValue[K, V] { return &mapValue[K, V]{m: m} }

func (v *mapValue[K, V]) Set(s string) error {
	if *v.m == nil {
		*v.m = map[K]V{}
	}
	for _, pair := range strings.Split(s, ",") {
		k, val, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not KEY=VALUE", pair)
		}
		(*v.m)[K(strings.TrimSpace(k))] = V(strings.TrimSpace(val))
	}
	return nil
}

func (v *mapValue[K, V]) String() string {
	if v.m == nil || len(*v.m) == 0 {
		return ""
	}
	pairs := make([]string, 0, len(*v.m))
	for k, val := range *v.m {
		pairs = append(pairs, string(k)+"="+string(val))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

func (v *mapValue[K, V]) Type() string { return "key=value" }

// validSeverity reports whether s names a severity.
func validSeverity(s validators.Severity) bool {
	switch s {
	case validators.SeverityError, validators.SeverityWarning, validators.SeverityInfo:
		return true
	}
	return false
}

// parseBoolOrEmpty accepts "", "true" and "false" (and strconv's other spellings).
func parseBoolOrEmpty(s string) error {
	if s == "" {
		return nil
	}
	_, err := strconv.ParseBool(s)
	return err
}
