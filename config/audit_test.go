package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidateAudit(t *testing.T) {
	tests := map[string]struct {
		change func(*Audit)
		want   []string
	}{
		"the defaults are valid": {change: func(*Audit) {}},
		"a share of the whole rate limit would let the audit take the admissions' tokens": {
			change: func(a *Audit) { a.IAMShare = 1 },
			want:   []string{"--audit-iam-share (audit.iamShare): 1 must be above 0 and below 1"},
		},
		"a zero interval would audit in a loop": {
			change: func(a *Audit) { a.Interval.Duration = 0 },
			want:   []string{"--audit-interval (audit.interval): 0s must be at least 1s"},
		},
		"a Lease name and namespace must be valid names": {
			change: func(a *Audit) { a.LeaderElection.LeaseName = "Audit_Lease"; a.LeaderElection.Namespace = "irsa guard" },
			want:   []string{`--audit-lease-name (audit.leaderElection.leaseName): "Audit_Lease" is not a Lease name`, `--audit-leader-election-namespace (audit.leaderElection.namespace): "irsa guard" is not a namespace`},
		},
		"a disabled audit is not checked": {
			change: func(a *Audit) { a.Enabled = false; a.IAMShare = 7 },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Default()
			tc.change(&c.Audit)
			err := c.Validate(SectionAudit)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadTheChartsAuditSectionWithFlagsWinning(t *testing.T) {
	path := writeFile(t, `apiVersion: irsa-guard.io/v1alpha1
kind: Configuration
audit:
  enabled: true
  interval: 5m
  iamShare: 0.3
  leaderElection:
    enabled: true
    namespace: irsa-guard
    leaseName: irsa-guard-audit
  policyReports: true
  excludeNamespaces: [kube-system, kube-node-lease, kube-public, irsa-guard]
`)
	c, err := load(t, []string{"--config=" + path, "--audit-interval=2s"}, SectionAudit)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Audit
	if a.Interval.Duration != 2*time.Second || a.IAMShare != 0.3 || !a.PolicyReports || a.LeaderElection.Namespace != "irsa-guard" ||
		!slices.Equal(a.ExcludeNamespaces, []string{"kube-system", "kube-node-lease", "kube-public", "irsa-guard"}) {
		t.Errorf("audit section = %+v", a)
	}
	c, err = load(t, []string{"--config=" + path, "--audit=false", "--audit-exclude-namespace=tools"}, SectionAudit)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit.Enabled || !slices.Equal(c.Audit.ExcludeNamespaces, []string{"kube-system", "kube-node-lease", "kube-public", "irsa-guard", "tools"}) {
		t.Errorf("flags must win over the file, and an excluded namespace adds to its list: %+v", c.Audit)
	}
	if c, _ := load(t, []string{"--audit-exclude-namespace=tools,kube-system"}, SectionAudit); !slices.Equal(c.Audit.ExcludeNamespaces,
		[]string{"kube-system", "kube-node-lease", "kube-public", "tools"}) {
		t.Errorf("an excluded namespace must add to the defaults, never drop kube-system: %v", c.Audit.ExcludeNamespaces)
	}
	if _, err := load(t, []string{"--config=" + writeFile(t, "apiVersion: irsa-guard.io/v1alpha1\nkind: Configuration\naudit:\n  intervall: 5m\n")}, SectionAudit); err == nil ||
		!strings.Contains(err.Error(), `unknown key "audit.intervall"`) {
		t.Errorf("a typo in the audit section: %v", err)
	}
}
