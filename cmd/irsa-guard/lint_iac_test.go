package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irsa-guard/irsa-guard/internal/nodetools"
)

// helmTemplate renders a chart with the helm the project builds (hack/helm.sh), from the
// repository root.
func helmTemplate(t *testing.T, args ...string) string {
	t.Helper()
	script := `eval "$(hack/helm.sh)" && exec helm template "$@"`
	cmd := exec.Command("bash", append([]string{"-c", script, "bash"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestLintIaC is the change a pull request makes: charts rendered with helm template and
// hand-written ServiceAccounts, linted together with the CloudFormation the CDK synthesizes for
// their roles (iac/testdata/cdk/app.js), offline. The charts name their ServiceAccounts the way
// cluster-autoscaler's and velero's do, and the roles trust the hand-written names: IRSA080 says
// "did you mean", IRSA032 that the trust refuses the chart's name. What the CDK leaves to deploy
// time (a generated role name, an imported issuer) is IRSA090, never an error.
func TestLintIaC(t *testing.T) {
	template := nodetools.Synth(t, filepath.Join("..", "..", "iac", "testdata", "cdk", "app.js"), "IrsaRoles")
	t.Chdir("../..")
	rel, err := filepath.Rel(".", template)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = template
	}
	manifests := helmTemplate(t, "cluster-autoscaler", "cmd/irsa-guard/testdata/charts/cluster-autoscaler", "--namespace", "kube-system",
		"--set", `rbac.serviceAccount.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::111122223333:role/cluster-autoscaler`) +
		helmTemplate(t, "velero", "cmd/irsa-guard/testdata/charts/velero", "--namespace", "velero",
			"--set", `serviceAccount.server.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::111122223333:role/velero`)
	args := []string{"lint", "-f", "-", "-f", "cmd/irsa-guard/testdata/iac/shop.yaml", "--offline", "--iac", rel,
		"--account", "111122223333", "--partition", "aws", "--issuer", exampleIssuer, "--iac-param", "BillingNamespace=finance"}
	stable := func(s string) string { return strings.ReplaceAll(s, rel, "cdk.out/IrsaRoles.template.json") }

	out, code, msg := execCLI(t, manifests, args...)
	if code != 1 {
		t.Errorf("exit code = %d (%s), want 1: the autoscaler's ServiceAccount is certain to be refused", code, msg)
	}
	golden(t, "lint-iac-cdk.txt", stable(out))

	sarif, _, _ := execCLI(t, manifests, append(args, "-o", "sarif")...)
	validateSARIFSchema(t, []byte(sarif))
	gh, _, _ := execCLI(t, manifests, append(args, "-o", "github")...)
	if !strings.Contains(gh, "::error file=-,") && !strings.Contains(gh, "title=IRSA080 ServiceAccount kube-system/cluster-autoscaler-aws-cluster-autoscaler::") {
		t.Errorf("no IRSA080 annotation:\n%s", gh)
	}
}

// TestLintIaCTerraform lays a Terraform plan (the IRSA module's roles) over the demo's AWS state
// (which has the cluster's OIDC provider): the plan's roles win, the state answers for the provider.
func TestLintIaCTerraform(t *testing.T) {
	t.Chdir("../..")
	manifests := helmTemplate(t, "velero", "cmd/irsa-guard/testdata/charts/velero", "--namespace", "velero",
		"--set", `serviceAccount.server.annotations.eks\.amazonaws\.com/role-arn=arn:aws:iam::111122223333:role/velero`)
	out, code, msg := execCLI(t, manifests, "lint", "-f", "-", "--iac", "iac/testdata/terraform/plan-irsa-module.json",
		"--aws-state", "examples/demo/aws-state.yaml", "--issuer", exampleIssuer, "--account", "111122223333", "--partition", "aws")
	if code != 1 {
		t.Errorf("exit code = %d (%s), want 1", code, msg)
	}
	golden(t, "lint-iac-terraform.txt", out)
}

func TestLintIaCBadInput(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"a file that does not exist": {
			args: []string{"lint", "-f", "examples/good", "--offline", "--iac", "nope.json"},
			want: "--iac nope.json: open nope.json: no such file or directory",
		},
		"a file that is neither": {
			args: []string{"lint", "-f", "examples/good", "--offline", "--iac", "examples/good/orders-api.yaml"},
			want: "--iac examples/good/orders-api.yaml: examples/good/orders-api.yaml: not a CloudFormation template (no Resources mapping) nor a Terraform plan (terraform show -json PLAN)",
		},
		"a parameter without a value": {
			args: []string{"lint", "-f", "examples/good", "--offline", "--iac", "iac/testdata/terraform/plan-irsa-module.json", "--iac-param", "Cluster"},
			want: `--iac-param "Cluster": use KEY=VALUE, e.g. --iac-param ClusterName=prod`,
		},
		"a parameter without --iac": {
			args: []string{"lint", "-f", "examples/good", "--offline", "--iac-param", "Cluster=prod"},
			want: "--iac-param sets a value for the --iac files; give them with --iac FILE",
		},
		"with --trust-policy": {
			args: []string{"lint", "-f", "examples/good", "--iac", "iac/testdata/terraform/plan-irsa-module.json", "--trust-policy", "examples/trust/good/trust-policy.json", "--issuer", exampleIssuer},
			want: "--trust-policy checks one given policy; use --iac or --trust-policy, not both",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, code, msg := runCLI(t, "", tc.args...)
			if code != 2 || msg != tc.want {
				t.Fatalf("exit %d, message:\n%s\nwant exit 2 and:\n%s", code, msg, tc.want)
			}
		})
	}
}
