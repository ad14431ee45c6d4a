package fakeaws

import (
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func TestListRolesPaginatesAndEncodesPolicies(t *testing.T) {
	srv := startFake(t, testState)
	client := iamClient(callerConfig(srv, testAccount))
	p := iam.NewListRolesPaginator(client, &iam.ListRolesInput{MaxItems: aws.Int32(1)})
	var names []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(testContext(t))
		if err != nil {
			t.Fatalf("ListRoles: %v", err)
		}
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.Arn))
			doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
			if err != nil || doc == "" || doc[0] != '{' {
				t.Errorf("role %s: policy %q does not decode to JSON (%v)", aws.ToString(r.RoleName), aws.ToString(r.AssumeRolePolicyDocument), err)
			}
		}
	}
	want := []string{"arn:aws:iam::111122223333:role/app-reader", "arn:aws:iam::111122223333:role/teams/payments/Team-Writer"}
	if !slices.Equal(names, want) || pages != 2 {
		t.Errorf("ListRoles = %v in %d pages, want %v in 2", names, pages, want)
	}
}
