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

// Validate checks every option and returns all problems at once, each naming the setting
// (as a flag and as a config-file key) and what a valid value looks like.
func (o *Options) Validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf(setting+": "+format, args...))
	}
	if o.CertDir == "" {
		bad("--cert-dir", "must name the directory holding tls.crt and tls.key")
	}
	if o.WebhookPort < 1 || o.WebhookPort > 65535 {
		bad("--webhook-port", "%d is not a TCP port (1-65535)", o.WebhookPort)
	}
	if o.HealthAddr == "" || o.HealthAddr == "0" {
		bad("--health-probe-bind-address", "must be set: the chart's probes call /healthz and /readyz")
	}
	if err := validMode(o.Mode); err != nil {
		bad("--mode (mode)", "%v", err)
	}
	for ns, m := range o.NamespaceModes {
		if err := validMode(Mode(m)); err != nil {
			bad("--namespace-mode (namespaceModes) "+ns, "%v", err)
		}
	}
	for id, m := range o.CheckModes {
		if _, ok := validators.Catalog[validators.CheckID(id)]; !ok {
			bad("--check-mode (checkModes)", "unknown check %q; IDs look like IRSA034 (see docs/checks.md)", id)
		}
		if err := validMode(Mode(m)); err != nil {
			bad("--check-mode (checkModes) "+id, "%v", err)
		}
	}
	if b := o.DecisionBudget.Duration; b <= 0 || b >= WebhookTimeout {
		bad("--decision-budget (decisionBudget)", "%s must be above 0 and below the %s webhook timeout, e.g. 2.5s", b, WebhookTimeout)
	}
	if o.ShutdownDelay.Duration < 0 {
		bad("--shutdown-delay (shutdownDelay)", "%s must not be negative", o.ShutdownDelay.Duration)
	}
	if o.Issuer != "" {
		if err := validators.ValidateIssuer(o.Issuer); err != nil {
			bad("--issuer (issuer)", "%v", err)
		}
	}
	if strings.TrimSpace(o.Audience) == "" || strings.TrimSpace(o.Audience) != o.Audience {
		bad("--audience (audience)", "%q must be a non-empty audience without spaces, normally sts.amazonaws.com", o.Audience)
	}
	if o.Account != "" && !accountPattern.MatchString(o.Account) {
		bad("--account (account)", "%q must be a 12-digit AWS account ID", o.Account)
	}
	if o.Partition != "" {
		if _, ok := validators.LookupPartition(o.Partition); !ok {
			bad("--partition (partition)", "unknown partition %q; use aws, aws-cn, aws-us-gov, ...", o.Partition)
		}
	}
	c := o.Cache
	if c.PositiveTTL.Duration <= 0 || c.NegativeTTL.Duration < 0 || c.StaleTTL.Duration < 0 {
		bad("cache", "TTLs must not be negative and positiveTTL must be above 0 (got %s/%s/%s)", c.PositiveTTL.Duration, c.NegativeTTL.Duration, c.StaleTTL.Duration)
	}
	if o.IAM.QPS <= 0 || o.IAM.Burst < 1 {
		bad("--iam-qps/--iam-burst (iam)", "qps must be above 0 and burst at least 1 (got %g, %d)", o.IAM.QPS, o.IAM.Burst)
	}
	for account, role := range o.ReaderRoles {
		if !accountPattern.MatchString(account) {
			bad("--reader-role (readerRoles)", "key %q must be a 12-digit AWS account ID", account)
			continue
		}
		arn, err := validators.ParseRoleARN(role)
		if err != nil {
			bad("--reader-role (readerRoles) "+account, "%v", err)
		} else if arn.Account != account {
			bad("--reader-role (readerRoles) "+account, "role %s is in account %s; a reader role must be in the account it reads", role, arn.Account)
		}
	}
	if o.Fixers.FSGroup && o.Fixers.FSGroupID < 0 {
		bad("--fs-group-id (fixers.fsGroupID)", "%d must be a group ID >= 0, e.g. 65534", o.Fixers.FSGroupID)
	}
	if o.PodIdentityWebhookConfiguration == "" && o.PodIdentityWebhookName == "" {
		bad("--pod-identity-webhook-configuration/--pod-identity-webhook-name", "set at least one so IRSA050/051 can find pod-identity-webhook")
	}
	if !slices.Contains([]string{"debug", "info", "error"}, o.LogLevel) {
		bad("--log-level", "%q must be debug, info or error", o.LogLevel)
	}
	if o.LogFormat != "json" && o.LogFormat != "console" {
		bad("--log-format", "%q must be json or console", o.LogFormat)
	}
	return errors.Join(errs...)
}

func validMode(m Mode) error {
	switch m {
	case ModeEnforce, ModeWarn, ModeOff:
		return nil
	}
	return fmt.Errorf("%q is not a mode; use enforce, warn or off", string(m))
}
