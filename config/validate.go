package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/irsa-guard/irsa-guard/validators"
)

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// Validate checks the given sections (all of them when none is given) and returns every problem
// at once, each naming the setting as a flag and as a file key, and what a valid value looks like.
func (c *Configuration) Validate(sections ...Section) error {
	if len(sections) == 0 {
		sections = []Section{SectionCluster, SectionAWS, SectionPolicy, SectionServer, SectionAudit}
	}
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf(setting+": "+format, args...))
	}
	for _, s := range sections {
		switch s {
		case SectionCluster:
			c.Cluster.validate(bad)
		case SectionAWS:
			c.AWS.validate(bad)
		case SectionPolicy:
			c.Policy.validate(bad)
		case SectionServer:
			c.Server.validate(bad)
		case SectionAudit:
			c.Audit.validate(bad)
		}
	}
	return errors.Join(errs...)
}

type badFunc func(setting, format string, args ...any)

func (c *Cluster) validate(bad badFunc) {
	if c.Issuer != "" {
		if err := validators.ValidateIssuer(c.Issuer); err != nil {
			bad("--issuer (cluster.issuer)", "%v", err)
		}
	}
	if c.Account != "" && !accountPattern.MatchString(c.Account) {
		bad("--account (cluster.account)", "%q must be a 12-digit AWS account ID", c.Account)
	}
	if c.Partition != "" {
		if _, ok := validators.LookupPartition(c.Partition); !ok {
			bad("--partition (cluster.partition)", "unknown partition %q; use aws, aws-cn, aws-us-gov, ...", c.Partition)
		}
	}
	p := c.PodIdentityWebhook
	if p.Configuration == "" && p.Name == "" {
		bad("--pod-identity-webhook-configuration/--pod-identity-webhook-name (cluster.podIdentityWebhook)", "set at least one so IRSA050/051 can find pod-identity-webhook")
	}
	if a := p.Audience; strings.TrimSpace(a) == "" || strings.TrimSpace(a) != a {
		bad("--audience (cluster.podIdentityWebhook.audience)", "%q must be a non-empty audience without spaces, normally sts.amazonaws.com", a)
	}
	if err := parseBoolOrEmpty(p.RegionalSTS); err != nil {
		bad("--regional-sts (cluster.podIdentityWebhook.regionalSTS)", "%q must be \"true\", \"false\" or empty (not known)", p.RegionalSTS)
	}
	if p.TokenExpiration < validators.MinTokenExpirationSeconds {
		bad("--token-expiration (cluster.podIdentityWebhook.tokenExpiration)", "%d is below pod-identity-webhook's minimum of %d seconds", p.TokenExpiration, validators.MinTokenExpirationSeconds)
	}
}

func (a *AWS) validate(bad badFunc) {
	for account, role := range a.ReaderRoles {
		if !accountPattern.MatchString(account) {
			bad("--reader-role (aws.readerRoles)", "key %q must be a 12-digit AWS account ID", account)
			continue
		}
		arn, err := validators.ParseRoleARN(role)
		if err != nil {
			bad("--reader-role (aws.readerRoles) "+account, "%v", err)
		} else if arn.Account != account {
			bad("--reader-role (aws.readerRoles) "+account, "role %s is in account %s; a reader role must be in the account it reads", role, arn.Account)
		}
	}
	c := a.Cache
	if c.PositiveTTL.Duration <= 0 || c.NegativeTTL.Duration < 0 || c.StaleTTL.Duration < 0 {
		bad("--cache-* (aws.cache)", "TTLs must not be negative and positiveTTL must be above 0 (got %s/%s/%s)", c.PositiveTTL.Duration, c.NegativeTTL.Duration, c.StaleTTL.Duration)
	}
	if c.PrewarmDeadline.Duration < 0 {
		bad("--cache-prewarm-deadline (aws.cache.prewarmDeadline)", "must not be negative (got %s); 0 makes serve ready without waiting", c.PrewarmDeadline.Duration)
	}
	if a.IAM.QPS <= 0 || a.IAM.Burst < 1 {
		bad("--iam-qps/--iam-burst (aws.iam)", "qps must be above 0 and burst at least 1 (got %g, %d)", a.IAM.QPS, a.IAM.Burst)
	}
}

func (p *Policy) validate(bad badFunc) {
	if err := validMode(p.Mode); err != nil {
		bad("--mode (policy.mode)", "%v", err)
	}
	for ns, m := range p.NamespaceModes {
		if err := validMode(m); err != nil {
			bad("--namespace-mode (policy.namespaceModes) "+ns, "%v", err)
		}
	}
	for id, m := range p.CheckModes {
		if _, ok := validators.LookupCheck(id); !ok {
			bad("--check-mode (policy.checkModes)", "unknown check %q; IDs look like IRSA034 (see docs/checks.md)", string(id))
		}
		if err := validMode(m); err != nil {
			bad("--check-mode (policy.checkModes) "+string(id), "%v", err)
		}
	}
	for id, s := range p.CheckSeverity {
		if _, ok := validators.LookupCheck(id); !ok {
			bad("--check-severity (policy.checkSeverities)", "unknown check %q; IDs look like IRSA043 (see docs/checks.md)", string(id))
		}
		if !validSeverity(s) {
			bad("--check-severity (policy.checkSeverities) "+string(id), "%q is not a severity; use error, warning or info", string(s))
		}
	}
}

func (s *Server) validate(bad badFunc) {
	if s.CertDir == "" {
		bad("--cert-dir (server.certDir)", "must name the directory holding tls.crt and tls.key")
	}
	if s.WebhookPort < 1 || s.WebhookPort > 65535 {
		bad("--webhook-port (server.webhookPort)", "%d is not a TCP port (1-65535)", s.WebhookPort)
	}
	if s.HealthAddr == "" || s.HealthAddr == "0" {
		bad("--health-probe-bind-address (server.healthProbeBindAddress)", "must be set: the chart's probes call /healthz and /readyz")
	}
	if b := s.DecisionBudget.Duration; b <= 0 || b >= WebhookTimeout {
		bad("--decision-budget (server.decisionBudget)", "%s must be above 0 and below the %s webhook timeout, e.g. 2.5s", b, WebhookTimeout)
	}
	if s.ShutdownDelay.Duration < 0 {
		bad("--shutdown-delay (server.shutdownDelay)", "%s must not be negative", s.ShutdownDelay.Duration)
	}
	if s.Fixers.FSGroup && s.Fixers.FSGroupID < 0 {
		bad("--fs-group-id (server.fixers.fsGroupID)", "%d must be a group ID >= 0, e.g. 65534", s.Fixers.FSGroupID)
	}
	if !slices.Contains([]string{"debug", "info", "error"}, s.LogLevel) {
		bad("--log-level (server.logLevel)", "%q must be debug, info or error", s.LogLevel)
	}
	if s.LogFormat != "json" && s.LogFormat != "console" {
		bad("--log-format (server.logFormat)", "%q must be json or console", s.LogFormat)
	}
}

func validMode(m Mode) error {
	if slices.Contains(Modes(), m) {
		return nil
	}
	return fmt.Errorf("%q is not a mode; use enforce, warn or off", string(m))
}
