package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/irsa-guard/irsa-guard/validators"
)

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		change func(*Configuration)
		want   []string // substrings of the error, one per problem
	}{
		"the defaults are valid": {change: func(*Configuration) {}},
		"a typo in the mode names the flag, the key and the choices": {
			change: func(c *Configuration) { c.Policy.Mode = "enfroce" },
			want:   []string{`--mode (policy.mode): "enfroce" is not a mode; use enforce, warn or off`},
		},
		"a budget at the webhook timeout would let the API server decide": {
			change: func(c *Configuration) { c.Server.DecisionBudget.Duration = 3 * time.Second },
			want:   []string{"--decision-budget (server.decisionBudget): 3s must be above 0 and below the 3s webhook timeout"},
		},
		"an unknown check ID in the per-check modes and severities": {
			change: func(c *Configuration) {
				c.Policy.CheckModes = map[validators.CheckID]Mode{"IRSA999": ModeOff, "IRSA034": "loud"}
				c.Policy.CheckSeverity = map[validators.CheckID]validators.Severity{"IRSA043": "fatal"}
			},
			want: []string{`unknown check "IRSA999"`, `--check-mode (policy.checkModes) IRSA034: "loud" is not a mode`,
				`--check-severity (policy.checkSeverities) IRSA043: "fatal" is not a severity`},
		},
		"a namespace mode must be a mode": {
			change: func(c *Configuration) { c.Policy.NamespaceModes = map[string]Mode{"payments": "deny"} },
			want:   []string{`--namespace-mode (policy.namespaceModes) payments: "deny" is not a mode`},
		},
		"an http issuer": {
			change: func(c *Configuration) { c.Cluster.Issuer = "http://oidc.eks.us-west-2.amazonaws.com/id/ABC" },
			want:   []string{"--issuer (cluster.issuer): issuer \"http://oidc.eks.us-west-2.amazonaws.com/id/ABC\" must start with https://"},
		},
		"a reader role in the wrong account": {
			change: func(c *Configuration) {
				c.AWS.ReaderRoles = map[string]string{"444455556666": "arn:aws:iam::111122223333:role/reader", "4444": "arn:aws:iam::444400000000:role/r"}
			},
			want: []string{"role arn:aws:iam::111122223333:role/reader is in account 111122223333", `key "4444" must be a 12-digit AWS account ID`},
		},
		"every problem is reported at once": {
			change: func(c *Configuration) {
				c.Server.WebhookPort = 0
				c.Server.LogFormat = "xml"
				c.AWS.IAM.QPS = 0
				c.Cluster.Account = "12345"
				c.Cluster.PodIdentityWebhook.RegionalSTS = "regional"
			},
			want: []string{"--webhook-port (server.webhookPort): 0 is not a TCP port", `--log-format (server.logFormat): "xml" must be json or console`,
				"--iam-qps/--iam-burst (aws.iam)", `--account (cluster.account): "12345"`, `--regional-sts (cluster.podIdentityWebhook.regionalSTS): "regional" must be`},
		},
		"no way to find pod-identity-webhook": {
			change: func(c *Configuration) {
				c.Cluster.PodIdentityWebhook.Configuration, c.Cluster.PodIdentityWebhook.Name = "", ""
			},
			want: []string{"set at least one so IRSA050/051 can find pod-identity-webhook"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Default()
			tc.change(c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			if lines := strings.Count(err.Error(), "\n") + 1; lines != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", lines, len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateOnlyTheSectionsACommandUses(t *testing.T) {
	c := Default()
	c.Server.WebhookPort = 0 // a server setting lint never reads
	if err := c.Validate(SectionCluster, SectionAWS, SectionPolicy); err != nil {
		t.Fatalf("lint's sections: %v", err)
	}
	if err := c.Validate(); err == nil {
		t.Fatal("all sections: want the webhook port reported")
	}
}

// chartConfig is what charts/irsa-guard/templates/_config.tpl renders with a few values set.
const chartConfig = `apiVersion: irsa-guard.io/v1alpha1
kind: Configuration
cluster:
  name: prod
  podIdentityWebhook:
    configuration: "pod-identity-webhook"
    name: "iam-for-pods.amazonaws.com"
    audience: "sts.amazonaws.com"
    composeRoleARN: true
aws:
  cache:
    positiveTTL: 10m
    negativeTTL: 30s
    staleTTL: 1h
  iam:
    qps: 5
    burst: 20
  readerRoles:
    "444455556666": "arn:aws:iam::444455556666:role/irsa-guard-reader"
policy:
  mode: enforce
  namespaceModes:
    legacy: "off"
  checkModes:
    IRSA034: "off"
  checkSeverities:
    IRSA043: warning
  failClosed: false
server:
  decisionBudget: 2500ms
  fixers:
    composeRoleARN: true
    fsGroup: false
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func load(t *testing.T, args []string, sections ...Section) (*Configuration, error) {
	t.Helper()
	c := Default()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	flags := Bind(fs, c, sections...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c, flags.Load()
}

func TestLoadTheChartsFileWithFlagsWinning(t *testing.T) {
	path := writeFile(t, chartConfig)
	// Flags before and after --config, a map flag given twice: all win over the file.
	c, err := load(t, []string{"--mode=warn", "--config=" + path, "--check-mode=IRSA020=enforce", "--check-mode", "IRSA034=warn",
		"--webhook-port=10250", "--compose-role-arn=false", "--reader-role=777788889999=arn:aws:iam::777788889999:role/r"},
		SectionCluster, SectionAWS, SectionPolicy, SectionServer)
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.Mode != ModeWarn || c.Server.WebhookPort != 10250 || c.Cluster.PodIdentityWebhook.ComposeRoleARN {
		t.Errorf("flags must win: mode %q port %d compose %v", c.Policy.Mode, c.Server.WebhookPort, c.Cluster.PodIdentityWebhook.ComposeRoleARN)
	}
	if c.Policy.CheckModes["IRSA034"] != ModeWarn || c.Policy.CheckModes["IRSA020"] != ModeEnforce {
		t.Errorf("check modes: the file's and the flags' should merge with the flags winning, got %v", c.Policy.CheckModes)
	}
	if c.Policy.NamespaceModes["legacy"] != ModeOff || !c.Server.Fixers.ComposeRoleARN || c.AWS.Cache.PositiveTTL.Duration != 10*time.Minute ||
		c.Cluster.Name != "prod" || c.Policy.CheckSeverity["IRSA043"] != validators.SeverityWarning {
		t.Errorf("file values not applied: %+v", c)
	}
	if len(c.AWS.ReaderRoles) != 2 || c.AWS.ReaderRoles["444455556666"] != "arn:aws:iam::444455556666:role/irsa-guard-reader" {
		t.Errorf("reader roles = %v", c.AWS.ReaderRoles)
	}
	if c.Server.LogLevel != "info" || c.Cluster.PodIdentityWebhook.TokenExpiration != 86400 {
		t.Errorf("defaults the file does not set must stay: %+v", c)
	}
}

func TestLoadWithoutAFileValidatesTheFlags(t *testing.T) {
	if _, err := load(t, []string{"--issuer=http://x"}, SectionCluster); err == nil || !strings.Contains(err.Error(), "--issuer (cluster.issuer)") {
		t.Fatalf("Load() = %v, want the issuer rejected", err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := map[string]struct{ file, want string }{
		"an unknown key": {
			"apiVersion: irsa-guard.io/v1alpha1\nkind: Configuration\npolicy:\n  mode: warn\n  failOpen: true\n",
			`unknown key "policy.failOpen"`,
		},
		"an unversioned file from an older chart": {
			"mode: warn\nfailClosed: false\n",
			"apiVersion and kind are missing; start the file with apiVersion: irsa-guard.io/v1alpha1 and kind: Configuration",
		},
		"a version this irsa-guard does not read": {
			"apiVersion: irsa-guard.io/v2\nkind: Configuration\n",
			`apiVersion "irsa-guard.io/v2" is not one this irsa-guard reads; use irsa-guard.io/v1alpha1`,
		},
		"another kind": {
			"apiVersion: irsa-guard.io/v1alpha1\nkind: ConfigMap\n",
			`kind "ConfigMap" is not a configuration; use kind: Configuration`,
		},
		"a value of the wrong type": {
			"apiVersion: irsa-guard.io/v1alpha1\nkind: Configuration\naws:\n  iam:\n    qps: fast\n",
			"aws.iam.qps",
		},
		"a file that is not YAML": {"\t{", "not a YAML object"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := writeFile(t, tc.file)
			_, err := load(t, []string{"--config", path}, SectionCluster, SectionAWS, SectionPolicy, SectionServer)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load() = %v, want an error naming %s and containing %q", err, path, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(chartConfig))
	f.Add([]byte("apiVersion: irsa-guard.io/v1alpha1\nkind: Configuration\npolicy: {mode: [1, 2]}\naws: {cache: {positiveTTL: forever}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if c.Decode(data) == nil {
			_ = c.Validate()
		}
	})
}
