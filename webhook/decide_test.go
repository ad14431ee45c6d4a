package webhook

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/validators"
)

var saObj = validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "cart"}

func finding(id validators.CheckID, msg string) validators.Finding {
	return validators.NewFinding(id, saObj, msg)
}

func TestDecide(t *testing.T) {
	roleMissing := finding(validators.CheckRoleNotFound, `role "arn:aws:iam::111122223333:role/cart" does not exist`)
	tooBroad := finding(validators.CheckTrustTooBroad, "any ServiceAccount of the cluster can assume the role")
	throttled := finding(validators.CheckCouldNotVerify, "IAM throttled the GetRole call; role not verified")
	staleNote := finding(validators.CheckCouldNotVerify, "used role data cached 14m0s ago: refresh failed (throttled)")
	staleNote.Stale = true
	many := []validators.Finding{roleMissing, tooBroad, throttled,
		finding(validators.CheckProviderAudience, "provider lacks audience sts.amazonaws.com"),
		finding(validators.CheckTrustConditions, "sub condition is for namespace shopp"),
		finding(validators.CheckPodHostNetwork, "hostNetwork pod can reach IMDS"),
		finding(validators.CheckPodStaticCredentials, `container "app" sets AWS_PROFILE`)}
	tests := map[string]struct {
		policy       Policy
		subject      Subject
		findings     []validators.Finding
		wantAllowed  bool
		wantWarnings []string
		wantDenial   []string
	}{
		"warn mode (the default) allows and warns, worst first": {
			policy: Policy{}, findings: []validators.Finding{tooBroad, roleMissing}, wantAllowed: true,
			wantWarnings: []string{roleMissing.String(), tooBroad.String()},
		},
		"no findings is a silent allow": {policy: Policy{config.Policy{Mode: config.ModeEnforce}}, wantAllowed: true},
		"enforce denies on an error and still warns": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce}}, findings: []validators.Finding{tooBroad, roleMissing},
			wantAllowed: false, wantWarnings: []string{roleMissing.String(), tooBroad.String()},
			wantDenial: []string{"irsa-guard found 1 problem", "- " + roleMissing.String(), "Fix: Create the role"},
		},
		"enforce never denies on warnings alone": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce}}, findings: []validators.Finding{tooBroad},
			wantAllowed: true, wantWarnings: []string{tooBroad.String()},
		},
		"could not verify only warns in enforce mode": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce}}, findings: []validators.Finding{throttled},
			wantAllowed: true, wantWarnings: []string{throttled.String()},
		},
		"could not verify denies when fail-closed": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce, FailClosed: true}}, findings: []validators.Finding{throttled},
			wantAllowed: false, wantWarnings: []string{throttled.String()}, wantDenial: []string{throttled.String()},
		},
		"fail-closed does not deny on an answer served from cache after a failed refresh": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce, FailClosed: true}}, findings: []validators.Finding{staleNote},
			wantAllowed: true, wantWarnings: []string{staleNote.String()},
		},
		"fail-closed does nothing in warn mode": {
			policy: Policy{config.Policy{Mode: config.ModeWarn, FailClosed: true}}, findings: []validators.Finding{throttled},
			wantAllowed: true, wantWarnings: []string{throttled.String()},
		},
		"off mode says nothing": {
			policy: Policy{config.Policy{Mode: config.ModeOff}}, findings: []validators.Finding{roleMissing}, wantAllowed: true,
		},
		"the namespace label beats the configured namespace mode and the global mode": {
			policy:   Policy{config.Policy{Mode: config.ModeWarn, NamespaceModes: map[string]config.Mode{"shop": config.ModeOff}}},
			subject:  Subject{Namespace: "shop", NamespaceLabels: map[string]string{config.LabelMode: "enforce"}, NamespaceKnown: true},
			findings: []validators.Finding{roleMissing}, wantAllowed: false,
			wantWarnings: []string{roleMissing.String()}, wantDenial: []string{roleMissing.String()},
		},
		"a configured namespace mode beats the global mode": {
			policy:   Policy{config.Policy{Mode: config.ModeEnforce, NamespaceModes: map[string]config.Mode{"shop": config.ModeWarn}}},
			subject:  Subject{Namespace: "shop"},
			findings: []validators.Finding{roleMissing}, wantAllowed: true, wantWarnings: []string{roleMissing.String()},
		},
		"a typo in the namespace label keeps the configured mode and says so": {
			policy:   Policy{config.Policy{Mode: config.ModeEnforce}},
			subject:  Subject{Namespace: "shop", NamespaceLabels: map[string]string{config.LabelMode: "Warn\n"}, NamespaceKnown: true},
			findings: []validators.Finding{roleMissing}, wantAllowed: false,
			wantWarnings: []string{`irsa-guard: namespace label irsa-guard.io/mode="Warn\n" is not enforce, warn or off; using enforce`, roleMissing.String()},
			wantDenial:   []string{roleMissing.String()},
		},
		"a per-check off silences one check": {
			policy:   Policy{config.Policy{Mode: config.ModeWarn, CheckModes: map[validators.CheckID]config.Mode{validators.CheckTrustTooBroad: config.ModeOff}}},
			findings: []validators.Finding{tooBroad, roleMissing}, wantAllowed: true, wantWarnings: []string{roleMissing.String()},
		},
		"a per-check enforce denies in a warn cluster": {
			policy:   Policy{config.Policy{Mode: config.ModeWarn, CheckModes: map[validators.CheckID]config.Mode{validators.CheckRoleNotFound: config.ModeEnforce}}},
			findings: []validators.Finding{tooBroad, roleMissing}, wantAllowed: false,
			wantWarnings: []string{roleMissing.String(), tooBroad.String()}, wantDenial: []string{roleMissing.String()},
		},
		"a per-check enforce does not revive a namespace that is off": {
			policy:   Policy{config.Policy{Mode: config.ModeWarn, CheckModes: map[validators.CheckID]config.Mode{validators.CheckRoleNotFound: config.ModeEnforce}}},
			subject:  Subject{Namespace: "legacy", NamespaceLabels: map[string]string{config.LabelMode: "off"}, NamespaceKnown: true},
			findings: []validators.Finding{roleMissing}, wantAllowed: true,
		},
		"the skip label on the object opts out even in enforce mode": {
			policy:   Policy{config.Policy{Mode: config.ModeEnforce}},
			subject:  Subject{ObjectLabels: map[string]string{config.LabelSkip: "true"}},
			findings: []validators.Finding{roleMissing}, wantAllowed: true,
		},
		"more than five findings end with a count": {
			policy: Policy{config.Policy{Mode: config.ModeWarn}}, findings: many, wantAllowed: true,
			wantWarnings: []string{many[0].String(), many[3].String(), many[4].String(), many[1].String(), many[6].String(),
				"and 1 more; run irsa-guard lint on the object for all findings"},
		},
		"an info finding is reported, not sent to kubectl": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce}}, findings: []validators.Finding{many[5]}, wantAllowed: true,
		},
		"a denial lists every error, beyond the warning cap": {
			policy: Policy{config.Policy{Mode: config.ModeEnforce}}, findings: many, wantAllowed: false,
			wantDenial: []string{"irsa-guard found 3 problems", many[0].String(), many[3].String(), many[4].String(), "(pods would get: InvalidIdentityToken: Incorrect token audience)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := tc.policy.Decide(tc.subject, tc.findings)
			if d.Allowed != tc.wantAllowed {
				t.Errorf("Allowed = %v, want %v (denial %q)", d.Allowed, tc.wantAllowed, d.Denial)
			}
			if tc.wantWarnings != nil && !slices.Equal(d.Warnings, tc.wantWarnings) {
				t.Errorf("Warnings:\n got %q\nwant %q", d.Warnings, tc.wantWarnings)
			}
			if tc.wantWarnings == nil && tc.wantDenial == nil && len(d.Warnings) != 0 {
				t.Errorf("want no warnings, got %q", d.Warnings)
			}
			for _, w := range d.Warnings {
				if n := len([]rune(w)); n > validators.MaxMessageRunes || strings.IndexFunc(w, unicode.IsControl) >= 0 || strings.HasPrefix(w, "Warning:") {
					t.Errorf("warning %q breaks the rules (%d runes)", w, n)
				}
			}
			if len(d.Warnings) > MaxWarnings+1 {
				t.Errorf("%d warnings, want at most %d", len(d.Warnings), MaxWarnings+1)
			}
			if (d.Denial != "") == d.Allowed {
				t.Errorf("denial %q with Allowed = %v", d.Denial, d.Allowed)
			}
			for _, s := range tc.wantDenial {
				if !strings.Contains(d.Denial, s) {
					t.Errorf("denial %q lacks %q", d.Denial, s)
				}
			}
		})
	}
}
