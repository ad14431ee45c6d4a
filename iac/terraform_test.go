package iac

import (
	"strings"
	"testing"
)

func TestTerraformPlanOfTheIRSAModule(t *testing.T) {
	set, err := Load("testdata/terraform/plan-irsa-module.json", Params{Account: "111122223333", Partition: "aws"})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Roles) != 2 || len(set.Providers) != 0 {
		t.Fatalf("%d roles, %d providers; want the module's two roles", len(set.Roles), len(set.Providers))
	}
	ca := set.Roles[0]
	if ca.Where.Resource != "module.cluster_autoscaler_irsa.aws_iam_role.this[0]" || ca.Name != known("cluster-autoscaler") ||
		ca.Path != known("/") || !ca.Trust.Known() || ca.Account != known("111122223333") ||
		!strings.Contains(ca.Trust.S, `"system:serviceaccount:kube-system:cluster-autoscaler"`) {
		t.Errorf("role %+v", ca)
	}
}

func TestTerraformPlanOfANewCluster(t *testing.T) {
	set, err := Load("testdata/terraform/plan-new-cluster.json", Params{Partition: "aws"})
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]Role{}
	for _, r := range set.Roles {
		roles[r.Where.Resource] = r
	}
	if p := set.Providers; len(p) != 1 || p[0].URL != known(exampleIssuer) || !p[0].ThumbprintsAtApply ||
		strings.Join(p[0].ClientIDs, ",") != "sts.amazonaws.com" || p[0].Account.Known() ||
		p[0].Account.Unknown != "the account of aws_iam_openid_connect_provider.cluster (give --account)" {
		t.Errorf("providers %+v", p)
	}
	if r := roles["aws_iam_role.autoscaler"]; r.Name != known("cluster-autoscaler") || r.Trust.Known() ||
		r.Trust.Unknown != "aws_iam_role.autoscaler.assume_role_policy (known after apply)" {
		t.Errorf("autoscaler: %+v", r)
	}
	if r := roles["aws_iam_role.prefixed"]; r.Name.Known() || r.Name.Unknown != "aws_iam_role.prefixed.name (known after apply)" || !r.Trust.Known() {
		t.Errorf("prefixed: %+v", r)
	}
	if r := roles["aws_iam_role.legacy"]; !r.Deleted {
		t.Errorf("legacy: %+v, want deleted", r)
	}
	// An existing role: its ARN says where it is.
	if r := roles["aws_iam_role.orders"]; r.Deleted || r.Name != known("shop-orders") || r.Path != known("/workloads/") ||
		r.Account != known("111122223333") || r.Partition != known("aws") {
		t.Errorf("orders: %+v", r)
	}
}

func TestTerraformPlannedValuesOnly(t *testing.T) {
	// A plan with planned_values but no resource_changes: a missing key there is unknown.
	plan := `{"format_version": "1.2", "planned_values": {"root_module": {"child_modules": [{"resources": [
		{"address": "module.m.aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r", "values": {"name": "app", "path": "/"}},
		{"address": "module.m.aws_iam_openid_connect_provider.p", "mode": "managed", "type": "aws_iam_openid_connect_provider", "name": "p",
		 "values": {"url": "oidc.eks.us-west-2.amazonaws.com/id/X", "client_id_list": ["sts.amazonaws.com"], "thumbprint_list": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]}}]}]}}}`
	set, err := Parse([]byte(plan), "plan.json", Params{})
	if err != nil {
		t.Fatal(err)
	}
	if r := set.Roles[0]; r.Name != known("app") || r.Trust.Unknown != "module.m.aws_iam_role.r.assume_role_policy (known after apply)" {
		t.Errorf("role %+v", r)
	}
	if p := set.Providers[0]; p.URL != known("oidc.eks.us-west-2.amazonaws.com/id/X") || p.ThumbprintsAtApply || len(p.Thumbprints) != 1 {
		t.Errorf("provider %+v", p)
	}
}

func TestTerraformBadInput(t *testing.T) {
	tests := map[string]struct{ doc, want string }{
		"not JSON":                   {doc: `{"format_version": "1.2", "resource_changes": [`, want: "plan.json: not a Terraform plan in JSON (terraform show -json PLAN): unexpected EOF"},
		"a list where a string goes": {doc: `{"format_version": "1.2", "resource_changes": [{"address": "aws_iam_openid_connect_provider.p", "mode": "managed", "type": "aws_iam_openid_connect_provider", "change": {"actions": ["create"], "after": {"url": "x", "client_id_list": "sts.amazonaws.com"}}}]}`, want: "plan.json: aws_iam_openid_connect_provider.p.client_id_list: want a list of strings"},
		"a role without trust":       {doc: `{"format_version": "1.2", "resource_changes": [{"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "change": {"actions": ["create"], "after": {"name": "r"}}}]}`, want: "plan.json: aws_iam_role.r: assume_role_policy is empty; a role needs a trust policy"},
		"a change without address":   {doc: `{"format_version": "1.2", "resource_changes": [{"mode": "managed", "type": "aws_iam_role", "change": {"actions": ["create"], "after": {}}}]}`, want: "plan.json: resource_changes[0] has no address"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), "plan.json", Params{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
