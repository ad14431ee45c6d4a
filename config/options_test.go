package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestValidate(t *testing.T) {
	tests := map[string]struct {
		change func(*Options)
		want   []string // substrings of the error, "" for none
	}{
		"the defaults are valid": {change: func(*Options) {}},
		"a typo in the mode names the flag and the choices": {
			change: func(o *Options) { o.Mode = "enfroce" },
			want:   []string{`--mode (mode): "enfroce" is not a mode; use enforce, warn or off`},
		},
		"a budget at the webhook timeout would let the API server decide": {
			change: func(o *Options) { o.DecisionBudget.Duration = 3 * time.Second },
			want:   []string{"--decision-budget (decisionBudget): 3s must be above 0 and below the 3s webhook timeout"},
		},
		"an unknown check ID in the per-check modes": {
			change: func(o *Options) { o.CheckModes = map[string]string{"IRSA999": "off", "IRSA034": "loud"} },
			want:   []string{`unknown check "IRSA999"`, `--check-mode (checkModes) IRSA034: "loud" is not a mode`},
		},
		"a namespace mode must be a mode": {
			change: func(o *Options) { o.NamespaceModes = map[string]string{"payments": "deny"} },
			want:   []string{`--namespace-mode (namespaceModes) payments: "deny" is not a mode`},
		},
		"an http issuer": {
			change: func(o *Options) { o.Issuer = "http://oidc.eks.us-west-2.amazonaws.com/id/ABC" },
			want:   []string{"--issuer (issuer): issuer \"http://oidc.eks.us-west-2.amazonaws.com/id/ABC\" must start with https://"},
		},
		"a reader role in the wrong account": {
			change: func(o *Options) {
				o.ReaderRoles = map[string]string{"444455556666": "arn:aws:iam::111122223333:role/reader", "4444": "arn:aws:iam::444400000000:role/r"}
			},
			want: []string{"role arn:aws:iam::111122223333:role/reader is in account 111122223333", `key "4444" must be a 12-digit AWS account ID`},
		},
		"every problem is reported at once": {
			change: func(o *Options) { o.WebhookPort = 0; o.LogFormat = "xml"; o.IAM.QPS = 0; o.Account = "12345" },
			want:   []string{"--webhook-port: 0 is not a TCP port", `--log-format: "xml" must be json or console`, "--iam-qps/--iam-burst (iam)", `--account (account): "12345"`},
		},
		"no way to find pod-identity-webhook": {
			change: func(o *Options) { o.PodIdentityWebhookConfiguration, o.PodIdentityWebhookName = "", "" },
			want:   []string{"set at least one so IRSA050/051 can find pod-identity-webhook"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := NewOptions()
			tc.change(o)
			err := o.Validate()
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

// chartConfig is what charts/irsa-guard/templates/_config.tpl renders with a few values set.
const chartConfig = `mode: enforce
namespaceModes:
  legacy: "off"
checkModes:
  IRSA034: "off"
failClosed: false
audience: "sts.amazonaws.com"
fixers:
  composeRoleARN: true
  fsGroup: false
cache:
  positiveTTL: 10m
  negativeTTL: 30s
  staleTTL: 1h
iam:
  qps: 5
  burst: 20
readerRoles:
  "444455556666": "arn:aws:iam::444455556666:role/irsa-guard-reader"
`

func TestLoadChartConfigWithFlagsWinning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(chartConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse([]string{"--config=" + path, "--mode=warn", "--check-mode=IRSA020=enforce", "--webhook-port=10250"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Load(fs); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Mode != ModeWarn || o.WebhookPort != 10250 {
		t.Errorf("flags must win: mode %q port %d", o.Mode, o.WebhookPort)
	}
	if o.CheckModes["IRSA034"] != "off" || o.CheckModes["IRSA020"] != "enforce" {
		t.Errorf("check modes from file and flag should merge, got %v", o.CheckModes)
	}
	if o.NamespaceModes["legacy"] != "off" || !o.Fixers.ComposeRoleARN || o.Cache.PositiveTTL.Duration != 10*time.Minute {
		t.Errorf("file values not applied: %+v", o)
	}
	if o.ReaderRoles["444455556666"] != "arn:aws:iam::444455556666:role/irsa-guard-reader" {
		t.Errorf("reader roles = %v", o.ReaderRoles)
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("mode: warn\nfailOpen: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	err := o.Load(fs)
	if err == nil || !strings.Contains(err.Error(), `unknown field "failOpen"`) {
		t.Fatalf("Load() = %v, want an unknown field error", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(chartConfig))
	f.Add([]byte("mode: [1, 2]\ncache: {positiveTTL: forever}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		o := NewOptions()
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		o.BindFlags(fs)
		o.ConfigFile = path
		if o.Load(fs) == nil {
			_ = o.Validate()
		}
	})
}
