package main

import (
	"fmt"
	"strings"
	"testing"
)

// chartRender is the Deployment and ConfigMap part of a render, with the pieces a test varies.
type chartRender struct {
	args        []string
	config      string
	webhookPort int
	tlsMount    string
}

func (r chartRender) String() string {
	var args strings.Builder
	for _, a := range r.args {
		fmt.Fprintf(&args, "            - %q\n", a)
	}
	var cfg strings.Builder
	for _, l := range strings.Split(r.config, "\n") {
		fmt.Fprintf(&cfg, "    %s\n", l)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: irsa-guard}
data:
  config.yaml: |
%s---
apiVersion: apps/v1
kind: Deployment
metadata: {name: irsa-guard}
spec:
  template:
    spec:
      containers:
        - name: irsa-guard
          args:
%s          ports:
            - {name: webhook, containerPort: %d}
            - {name: metrics, containerPort: 8080}
            - {name: health, containerPort: 8081}
          volumeMounts:
            - {name: tls, mountPath: %s}
            - {name: config, mountPath: /etc/irsa-guard/config}
`, cfg.String(), args.String(), r.webhookPort, r.tlsMount)
}

func goodRender() chartRender {
	return chartRender{
		args: []string{"serve", "--config=/etc/irsa-guard/config/config.yaml", "--cert-dir=/etc/irsa-guard/tls",
			"--webhook-port=9443", "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
			"--log-level=info", "--log-format=json"},
		config:      "apiVersion: irsa-guard.io/v1alpha1\nkind: Configuration\npolicy:\n  mode: warn\n  failClosed: false\naws:\n  cache:\n    positiveTTL: 10m\n",
		webhookPort: 9443,
		tlsMount:    "/etc/irsa-guard/tls",
	}
}

func TestCheckServer(t *testing.T) {
	tests := map[string]struct {
		edit    func(*chartRender)
		wantErr string
	}{
		"the chart's args and config are accepted": {edit: func(*chartRender) {}},
		"a flag the server does not have is caught": {
			edit:    func(r *chartRender) { r.args = append(r.args, "--zap-log-level=info") },
			wantErr: "the server rejects the chart's args",
		},
		"a config key the server does not know is caught": {
			edit:    func(r *chartRender) { r.config += "fixer:\n  fsGroup: true\n" },
			wantErr: "the server rejects the chart's config.yaml",
		},
		"a value the server's validation refuses is caught": {
			edit: func(r *chartRender) {
				r.config = "apiVersion: irsa-guard.io/v1alpha1\nkind: Configuration\npolicy:\n  mode: audit\n"
			},
			wantErr: `--mode (policy.mode): "audit" is not a mode`,
		},
		"a container port that differs from --webhook-port is caught": {
			edit:    func(r *chartRender) { r.webhookPort = 8443 },
			wantErr: "containerPort webhook 8443 differs from the server's webhook port 9443",
		},
		"a TLS mount the server does not read is caught": {
			edit:    func(r *chartRender) { r.tlsMount = "/tmp/k8s-webhook-server/serving-certs" },
			wantErr: `the TLS Secret is mounted at "/tmp/k8s-webhook-server/serving-certs"`,
		},
		"args that forget the serve subcommand are caught": {
			edit:    func(r *chartRender) { r.args = r.args[1:] },
			wantErr: "do not start with the serve subcommand",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := goodRender()
			tc.edit(&r)
			err := checkServer([]byte(r.String()))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkServer() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkServer() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
