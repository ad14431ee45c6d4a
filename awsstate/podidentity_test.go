package awsstate

import (
	"strings"
	"testing"
)

const podIdentityState = `
callerAccount: "111122223333"
clusters:
  - name: demo
    region: us-west-2
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
    podIdentityAssociations:
      - namespace: shop
        serviceAccount: cart
        roleArn: arn:aws:iam::111122223333:role/cart
      - namespace: shop
        serviceAccount: orders.v2
        roleArn: arn:aws:iam::111122223333:role/team/orders
        associationId: a-9njjin9gfghecgocd
        targetRoleArn: arn:aws:iam::444455556666:role/orders-data
        disableSessionTags: true
        createdAt: 2025-05-24T19:52:14Z
`

func TestPodIdentityAssociationDefaults(t *testing.T) {
	st, err := ParseState([]byte(podIdentityState))
	if err != nil {
		t.Fatal(err)
	}
	c := &st.Clusters[0]
	gen, given := c.PodIdentityAssociations[0], c.PodIdentityAssociations[1]
	if !associationIDRE.MatchString(gen.AssociationID) || gen.ExternalID != "" || !gen.CreatedAt.Equal(DefaultCreateDate()) {
		t.Errorf("generated defaults = id %q, externalId %q, createdAt %v", gen.AssociationID, gen.ExternalID, gen.CreatedAt)
	}
	if given.AssociationID != "a-9njjin9gfghecgocd" || len(given.ExternalID) != 36 || given.CreatedAt.Year() != 2025 {
		t.Errorf("given association = %+v", given)
	}
	if got := given.ARN(st.Partition, c); got != "arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/a-9njjin9gfghecgocd" {
		t.Errorf("ARN = %q", got)
	}
	again, err := ParseState([]byte(podIdentityState))
	if err != nil {
		t.Fatal(err)
	}
	if a := again.Clusters[0].PodIdentityAssociations; a[0].AssociationID != gen.AssociationID || a[1].ExternalID != given.ExternalID {
		t.Errorf("generated ids differ between two parses of one state: %+v vs %+v", a, c.PodIdentityAssociations)
	}
	if err := st.Normalize(); err != nil || st.Clusters[0].PodIdentityAssociations[0].AssociationID != gen.AssociationID {
		t.Errorf("Normalize is not idempotent: %v", err)
	}
}

func TestPodIdentityAssociationRejects(t *testing.T) {
	const head = "callerAccount: \"111122223333\"\nclusters:\n  - name: demo\n    region: us-west-2\n    issuer: https://x/id/1\n    podIdentityAssociations:\n"
	tests := map[string]struct {
		assoc   string
		wantErr string
	}{
		"an unknown key names its line": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\", role: x}\n",
			"line 7: field role not found in type awsstate.PodIdentityAssociation",
		},
		"an upper-case namespace": {
			"      - {namespace: Shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\"}\n",
			`podIdentityAssociations[0]: namespace "Shop" is not a Kubernetes namespace name`,
		},
		"a namespace with a dot": {
			"      - {namespace: shop.eu, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\"}\n",
			`namespace "shop.eu" is not a Kubernetes namespace name`,
		},
		"a missing ServiceAccount": {
			"      - {namespace: shop, roleArn: \"arn:aws:iam::111122223333:role/cart\"}\n",
			`serviceAccount "" is not a Kubernetes ServiceAccount name`,
		},
		"a role name instead of an ARN": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: cart}\n",
			`association shop/cart: roleArn "cart" must be a role ARN`,
		},
		"a role ARN of another partition": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws-cn:iam::111122223333:role/cart\"}\n",
			`roleArn "arn:aws-cn:iam::111122223333:role/cart" is in partition aws-cn, not the state's aws`,
		},
		"a bad target role ARN": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\", targetRoleArn: \"arn:aws:iam::1:role/x\"}\n",
			`targetRoleArn "arn:aws:iam::1:role/x" must be a role ARN`,
		},
		"an external id without a target role": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\", externalId: abc}\n",
			"externalId is only set for associations with a targetRoleArn",
		},
		"an association id of the wrong shape": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\", associationId: a-123}\n",
			`associationId "a-123" must be "a-" and 17 lower-case letters or digits`,
		},
		"an owner that is not an add-on": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/cart\", ownerArn: \"arn:aws:iam::111122223333:role/x\"}\n",
			"ownerArn \"arn:aws:iam::111122223333:role/x\" must be an EKS add-on ARN",
		},
		"two associations for one ServiceAccount": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/a\"}\n" +
				"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/b\"}\n",
			"association shop/cart: listed twice; EKS allows one association per ServiceAccount",
		},
		"one association id for two ServiceAccounts": {
			"      - {namespace: shop, serviceAccount: cart, roleArn: \"arn:aws:iam::111122223333:role/a\", associationId: a-aaaaaaaaaaaaaaaaa}\n" +
				"      - {namespace: shop, serviceAccount: orders, roleArn: \"arn:aws:iam::111122223333:role/b\", associationId: a-aaaaaaaaaaaaaaaaa}\n",
			"associationId a-aaaaaaaaaaaaaaaaa is used twice in the cluster",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseState([]byte(head + tc.assoc))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseRoleARN(t *testing.T) {
	tests := map[string]struct {
		arn                           string
		partition, account, path, nam string
		ok                            bool
	}{
		"a role at the root":           {"arn:aws:iam::111122223333:role/app", "aws", "111122223333", "/", "app", true},
		"a role under a path":          {"arn:aws-cn:iam::111122223333:role/a/b/app", "aws-cn", "111122223333", "/a/b/", "app", true},
		"a trailing slash has no name": {arn: "arn:aws:iam::111122223333:role/app/"},
		"extra colons":                 {arn: "arn:aws:iam::::1234567890:role/example"},
		"a region in an IAM ARN":       {arn: "arn:aws:iam:us-east-1:111122223333:role/app"},
		"a path over 512 characters":   {arn: "arn:aws:iam::111122223333:role/" + strings.Repeat("p", 512) + "/app"},
	}
	for name, tc := range tests {
		p, a, path, n, ok := ParseRoleARN(tc.arn)
		if ok != tc.ok || p != tc.partition || a != tc.account || path != tc.path || n != tc.nam {
			t.Errorf("%s: ParseRoleARN(%q) = %q %q %q %q %v", name, tc.arn, p, a, path, n, ok)
		}
	}
}
