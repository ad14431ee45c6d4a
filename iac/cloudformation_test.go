package iac

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestCloudFormationYAMLWithShortForms(t *testing.T) {
	params := Params{Account: "111122223333", Partition: "aws", Region: "us-west-2",
		Values: map[string]string{"OidcProviderId": "EXAMPLED539D4633E53DE1B716D3041E", "Cluster": "prod"}}
	set, err := Load("testdata/cloudformation/irsa-roles.yaml", params)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Providers) != 1 || set.Providers[0].URL != known(exampleIssuer) ||
		strings.Join(set.Providers[0].Thumbprints, ",") != "9e99a48a9960b14926bb7f3b02e22da2b0ab7280" {
		t.Fatalf("providers %+v", set.Providers)
	}
	if w := set.Providers[0].Where; w.Line != 23 || w.Resource != "AWS::IAM::OIDCProvider ClusterOidcProvider" {
		t.Errorf("provider at %v, want line 23", w)
	}
	roles := map[string]Role{}
	for _, r := range set.Roles {
		roles[strings.TrimPrefix(r.Where.Resource, "AWS::IAM::Role ")] = r
	}
	orders := roles["OrdersRole"]
	if orders.Name != known("prod-orders") || orders.Path != known("/workloads/") || !orders.Trust.Known() {
		t.Fatalf("OrdersRole %+v", orders)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(orders.Trust.S), &doc); err != nil {
		t.Fatalf("trust is not JSON: %v\n%s", err, orders.Trust.S)
	}
	for _, want := range []string{
		`"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"`,
		`"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E:sub": "system:serviceaccount:shop:orders"`,
	} {
		if !strings.Contains(orders.Trust.S, want) {
			t.Errorf("OrdersRole trust lacks %s:\n%s", want, orders.Trust.S)
		}
	}
	exporter := roles["ExporterRole"]
	if exporter.Name.Known() || exporter.Name.Unknown != generatedNameUnknown || !exporter.Trust.Known() ||
		!strings.Contains(exporter.Trust.S, `"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2`) {
		t.Errorf("ExporterRole %+v", exporter)
	}
	prod := roles["ProdOnlyRole"]
	if prod.Condition != "IsProd" || prod.Trust.Known() ||
		prod.Trust.Unknown != "Fn::If IsProd, Fn::ImportValue SharedOidcProviderArn (give --iac-param Fn::ImportValue:SharedOidcProviderArn=VALUE)" {
		t.Errorf("ProdOnlyRole condition %q, trust unknown %q", prod.Condition, prod.Trust.Unknown)
	}
}

// TestResolve is the intrinsic functions one at a time, each as a role's RoleName.
func TestResolve(t *testing.T) {
	params := Params{Account: "111122223333", Partition: "aws-cn", Values: map[string]string{"Given": "prod", "AWS::StackName": "apps", "Fn::ImportValue:Exported": "from-export"}}
	tests := map[string]struct {
		expr        string
		want        string
		wantUnknown string
	}{
		"a literal":                                     {expr: `"app"`, want: "app"},
		"Ref to a parameter given":                      {expr: `{"Ref": "Given"}`, want: "prod"},
		"Ref to a parameter not given":                  {expr: `{"Ref": "NotGiven"}`, wantUnknown: "parameter NotGiven (give --iac-param NotGiven=VALUE)"},
		"Ref to a pseudo parameter given":               {expr: `{"Ref": "AWS::AccountId"}`, want: "111122223333"},
		"Ref to a pseudo parameter not given":           {expr: `{"Ref": "AWS::Region"}`, wantUnknown: "AWS::Region (give --region)"},
		"a pseudo parameter as --iac-param":             {expr: `{"Ref": "AWS::StackName"}`, want: "apps"},
		"AWS::URLSuffix from the partition":             {expr: `{"Ref": "AWS::URLSuffix"}`, want: "amazonaws.com.cn"},
		"Fn::Sub with pseudo and parameter":             {expr: `{"Fn::Sub": "${AWS::Partition}-${Given}"}`, want: "aws-cn-prod"},
		"Fn::Sub with a literal ${!x}":                  {expr: `{"Fn::Sub": "a-${!Literal}"}`, want: "a-${Literal}"},
		"Fn::Sub with its own variables":                {expr: `{"Fn::Sub": ["${A}-${B}", {"A": "x", "B": {"Ref": "Given"}}]}`, want: "x-prod"},
		"Fn::Sub with an unknown piece":                 {expr: `{"Fn::Sub": "${Cluster.Endpoint}-x"}`, wantUnknown: "Fn::GetAtt Cluster.Endpoint (not in the template)"},
		"Fn::Join":                                      {expr: `{"Fn::Join": ["-", ["a", {"Ref": "Given"}, "b"]]}`, want: "a-prod-b"},
		"Fn::Select of Fn::Split":                       {expr: `{"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}`, want: "b"},
		"Fn::Select before an unknown piece":            {expr: `{"Fn::Select": [0, {"Fn::Split": ["/", {"Fn::Sub": "a/${NotGiven}/c"}]}]}`, want: "a"},
		"Fn::Select after an unknown piece":             {expr: `{"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::Sub": "a/${NotGiven}/c"}]}]}`, wantUnknown: "Fn::Select after an unknown item, parameter NotGiven (give --iac-param NotGiven=VALUE)"},
		"Fn::Select out of range":                       {expr: `{"Fn::Select": [5, ["a"]]}`, wantUnknown: "Fn::Select of a list known after deploy"},
		"Fn::FindInMap":                                 {expr: `{"Fn::FindInMap": ["Names", "prod", "name"]}`, want: "from-map"},
		"Fn::FindInMap with a missing key":              {expr: `{"Fn::FindInMap": ["Names", "dev", "name"]}`, wantUnknown: "Fn::FindInMap Names.dev.name (not in Mappings)"},
		"Fn::If is not evaluated":                       {expr: `{"Fn::If": ["IsProd", "a", "b"]}`, wantUnknown: "Fn::If IsProd"},
		"Fn::ImportValue":                               {expr: `{"Fn::ImportValue": "Shared"}`, wantUnknown: "Fn::ImportValue Shared (give --iac-param Fn::ImportValue:Shared=VALUE)"},
		"Fn::ImportValue given":                         {expr: `{"Fn::ImportValue": "Exported"}`, want: "from-export"},
		"Ref to another role is its name":               {expr: `{"Ref": "Other"}`, want: "other-role"},
		"Fn::GetAtt of a role's Arn":                    {expr: `{"Fn::GetAtt": ["Other", "Arn"]}`, want: "arn:aws-cn:iam::111122223333:role/svc/other-role"},
		"Fn::GetAtt in the string form":                 {expr: `{"Fn::GetAtt": "Other.Arn"}`, want: "arn:aws-cn:iam::111122223333:role/svc/other-role"},
		"Ref to a resource irsa-guard ignores":          {expr: `{"Ref": "Queue"}`, wantUnknown: "Ref Queue (AWS::SQS::Queue)"},
		"Ref to nothing":                                {expr: `{"Ref": "Nope"}`, wantUnknown: "Ref Nope (not in the template)"},
		"an unknown function":                           {expr: `{"Fn::Base64": "x"}`, wantUnknown: "Fn::Base64"},
		"Fn::GetAtt of an attribute known after deploy": {expr: `{"Fn::GetAtt": ["Other", "RoleId"]}`, wantUnknown: "Fn::GetAtt Other.RoleId"},
		"a reference cycle":                             {expr: `{"Ref": "Self"}`, wantUnknown: "a value nested too deeply or too large to resolve (a reference cycle?)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tmpl := `{"Parameters": {"NotGiven": {"Type": "String"}, "Given": {"Type": "String"}},
				"Mappings": {"Names": {"prod": {"name": "from-map"}}},
				"Resources": {
				"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": ` + tc.expr + `, "AssumeRolePolicyDocument": {"Statement": []}}},
				"Other": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "other-role", "Path": "/svc/", "AssumeRolePolicyDocument": {"Statement": []}}},
				"Self": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Ref": "Self"}, "AssumeRolePolicyDocument": {"Statement": []}}},
				"Queue": {"Type": "AWS::SQS::Queue"}}}`
			set, err := ParseCloudFormation([]byte(tmpl), "t.json", params)
			if err != nil {
				t.Fatal(err)
			}
			var got Value
			for _, r := range set.Roles {
				if r.Where.Resource == "AWS::IAM::Role Role" {
					got = r.Name
				}
			}
			if got.Unknown != tc.wantUnknown || (tc.wantUnknown == "" && got.S != tc.want) {
				t.Errorf("got %+v, want %q (unknown %q)", got, tc.want, tc.wantUnknown)
			}
		})
	}
}

func TestCloudFormationBadInput(t *testing.T) {
	tests := map[string]struct{ doc, want string }{
		"not a mapping":           {doc: `[1, 2]`, want: "t.yaml: not a CloudFormation template (the document is not a mapping) nor a Terraform plan (terraform show -json PLAN)"},
		"no Resources":            {doc: `AWSTemplateFormatVersion: "2010-09-09"`, want: "t.yaml: not a CloudFormation template (no Resources mapping) nor a Terraform plan (terraform show -json PLAN)"},
		"a resource without Type": {doc: "Resources:\n  R:\n    Properties: {}\n", want: "t.yaml: Resources.R.Type: want a string such as AWS::IAM::Role"},
		"a role without trust":    {doc: "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: r}\n", want: "t.yaml: Resources.R.Properties.AssumeRolePolicyDocument is missing; a role needs a trust policy"},
		"a RoleName list":         {doc: "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: [a], AssumeRolePolicyDocument: {}}\n", want: "t.yaml: Resources.R.Properties.RoleName: want a string"},
		"an empty RoleName":       {doc: "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: \"\", AssumeRolePolicyDocument: {}}\n", want: "t.yaml: Resources.R.Properties.RoleName: empty; IAM role names have 1-64 characters"},
		"a provider without Url":  {doc: "Resources:\n  P:\n    Type: AWS::IAM::OIDCProvider\n    Properties: {ClientIdList: [a]}\n", want: "t.yaml: Resources.P.Properties.Url is missing; an OIDC provider needs its issuer URL"},
		"client IDs not a list":   {doc: "Resources:\n  P:\n    Type: AWS::IAM::OIDCProvider\n    Properties: {Url: x, ClientIdList: a}\n", want: "t.yaml: Resources.P.Properties.ClientIdList: want a list of strings"},
		"YAML syntax":             {doc: "Resources:\n  R: [\n", want: "t.yaml: yaml: line 2: did not find expected node content"},
		"an alias bomb":           {doc: aliasBomb(), want: "the document is too large or too deeply nested"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), "t.yaml", Params{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// aliasBomb is a YAML document whose aliases expand to billions of nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("Resources: {}\n")
	return b.String()
}

// FuzzParse feeds both parsers (Parse tells a Terraform plan from a CloudFormation template):
// untrusted input never panics or hangs, and a value with an unknown piece is never called known.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"testdata/cloudformation/irsa-roles.yaml", "testdata/terraform/plan-irsa-module.json", "testdata/terraform/plan-new-cluster.json"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Sub": "${A.B}"}, "AssumeRolePolicyDocument": {"Fn::GetAtt": ["J", "Value"]}}}, "J": {"Type": "Custom::AWSCDKCfnJson", "Properties": {"Value": {"Fn::Join": ["", ["{\"", {"Ref": "AWS::Region"}, "\": 1}"]]}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse(data, "fuzz", Params{Account: "111122223333", Partition: "aws"})
		if err != nil {
			return
		}
		for _, r := range set.Roles {
			if r.Trust.Known() && HasPlaceholder(r.Trust.S) {
				t.Fatalf("trust %q holds a placeholder but is called known", r.Trust.S)
			}
			if r.Name.Known() && (HasPlaceholder(r.Name.S) || (r.Name.S == "" && !r.Deleted)) {
				t.Fatalf("role %s: name %q called known", r.Where.Resource, r.Name.S)
			}
		}
	})
}
