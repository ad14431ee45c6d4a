package fakeaws

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// podIdentityState has a cluster with four associations (one owned by an add-on, one with a
// target role) and a same-named cluster in another region without any.
const podIdentityState = `
callerAccount: "111122223333"
clusters:
  - name: demo
    region: us-west-2
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
    podIdentityAssociations:
      - {namespace: shop, serviceAccount: cart, roleArn: "arn:aws:iam::111122223333:role/cart", associationId: a-9njjin9gfghecgocd, createdAt: 2025-05-24T19:52:14.135Z}
      - {namespace: shop, serviceAccount: orders, roleArn: "arn:aws:iam::111122223333:role/orders",
         targetRoleArn: "arn:aws:iam::444455556666:role/orders-data", externalId: 6c7b2d0e-0f7e-4d1c-9d6a-3f1e2a4b5c6d, disableSessionTags: true}
      - {namespace: kube-system, serviceAccount: ebs-csi-controller-sa, roleArn: "arn:aws:iam::111122223333:role/ebs-csi",
         ownerArn: "arn:aws:eks:us-west-2:111122223333:addon/demo/aws-ebs-csi-driver/1ac2b3d4-0000-0000-0000-000000000000"}
      - {namespace: payments, serviceAccount: cart, roleArn: "arn:aws:iam::111122223333:role/payments-cart"}
  - name: demo
    region: eu-west-1
    issuer: https://oidc.eks.eu-west-1.amazonaws.com/id/EU0000000000000000000000000000000
`

func TestListPodIdentityAssociations(t *testing.T) {
	srv := startFake(t, podIdentityState)
	client := eksClient(callerConfig(srv, testAccount))
	list := func(in *eks.ListPodIdentityAssociationsInput) []string {
		t.Helper()
		in.ClusterName = aws.String("demo")
		out, err := client.ListPodIdentityAssociations(testContext(t), in)
		if err != nil {
			t.Fatalf("ListPodIdentityAssociations: %v", err)
		}
		if out.NextToken != nil {
			t.Errorf("NextToken = %q for a complete page", aws.ToString(out.NextToken))
		}
		var got []string
		for _, a := range out.Associations {
			got = append(got, aws.ToString(a.Namespace)+"/"+aws.ToString(a.ServiceAccount))
		}
		return got
	}
	tests := map[string]struct {
		in   eks.ListPodIdentityAssociationsInput
		want []string
	}{
		"without filters every association is listed in state order": {
			want: []string{"shop/cart", "shop/orders", "kube-system/ebs-csi-controller-sa", "payments/cart"},
		},
		"a namespace filter keeps that namespace":                  {in: eks.ListPodIdentityAssociationsInput{Namespace: aws.String("shop")}, want: []string{"shop/cart", "shop/orders"}},
		"a serviceAccount filter matches it in every namespace":    {in: eks.ListPodIdentityAssociationsInput{ServiceAccount: aws.String("cart")}, want: []string{"shop/cart", "payments/cart"}},
		"both filters together name one ServiceAccount":            {in: eks.ListPodIdentityAssociationsInput{Namespace: aws.String("payments"), ServiceAccount: aws.String("cart")}, want: []string{"payments/cart"}},
		"a filter that matches nothing is an empty list, no error": {in: eks.ListPodIdentityAssociationsInput{Namespace: aws.String("nope")}, want: nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := tc.in
			got := list(&in)
			if len(got) != len(tc.want) {
				t.Fatalf("associations = %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("associations = %q, want %q", got, tc.want)
				}
			}
		})
	}

	out, err := client.ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("demo"), Namespace: aws.String("kube-system")})
	if err != nil {
		t.Fatal(err)
	}
	want := ekstypes.PodIdentityAssociationSummary{
		ClusterName: aws.String("demo"), Namespace: aws.String("kube-system"), ServiceAccount: aws.String("ebs-csi-controller-sa"),
		OwnerArn: aws.String("arn:aws:eks:us-west-2:111122223333:addon/demo/aws-ebs-csi-driver/1ac2b3d4-0000-0000-0000-000000000000"),
	}
	got := out.Associations[0]
	if aws.ToString(got.ClusterName) != aws.ToString(want.ClusterName) || aws.ToString(got.OwnerArn) != aws.ToString(want.OwnerArn) ||
		aws.ToString(got.AssociationArn) != "arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/"+aws.ToString(got.AssociationId) {
		t.Errorf("summary = %+v", got)
	}
}

// TestListPodIdentityAssociationsPaginates walks the SDK's own paginator over pages of one.
func TestListPodIdentityAssociationsPaginates(t *testing.T) {
	srv := startFake(t, podIdentityState)
	client := eksClient(callerConfig(srv, testAccount))
	p := eks.NewListPodIdentityAssociationsPaginator(client, &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String("demo"), MaxResults: aws.Int32(1),
	})
	var ids []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(testContext(t))
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		for _, a := range out.Associations {
			ids = append(ids, aws.ToString(a.AssociationId))
		}
	}
	if pages != 4 || len(ids) != 4 || ids[0] != "a-9njjin9gfghecgocd" {
		t.Errorf("%d pages with ids %q, want 4 pages of one starting with a-9njjin9gfghecgocd", pages, ids)
	}
	if got := srv.Calls("ListPodIdentityAssociations"); got != 4 {
		t.Errorf("Calls = %d, want 4", got)
	}

	_, err := client.ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("demo"), MaxResults: aws.Int32(101)})
	assertAPIError(t, err, "InvalidParameterException", 400, "maxResults needs to be between 1 and 100")
	_, err = client.ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("demo"), NextToken: aws.String("garbage")})
	assertAPIError(t, err, "InvalidParameterException", 400, "The nextToken is not valid.")
}

func TestDescribePodIdentityAssociation(t *testing.T) {
	srv := startFake(t, podIdentityState)
	client := eksClient(callerConfig(srv, testAccount))
	out, err := client.DescribePodIdentityAssociation(testContext(t), &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String("demo"), AssociationId: aws.String("a-9njjin9gfghecgocd"),
	})
	if err != nil {
		t.Fatalf("DescribePodIdentityAssociation: %v", err)
	}
	a := out.Association
	created := time.Date(2025, 5, 24, 19, 52, 14, 135e6, time.UTC)
	if aws.ToString(a.RoleArn) != "arn:aws:iam::111122223333:role/cart" || aws.ToString(a.Namespace) != "shop" ||
		aws.ToString(a.ServiceAccount) != "cart" || !aws.ToTime(a.CreatedAt).Equal(created) || !aws.ToTime(a.ModifiedAt).Equal(created) ||
		a.DisableSessionTags == nil || *a.DisableSessionTags || a.TargetRoleArn != nil || a.ExternalId != nil || a.OwnerArn != nil ||
		aws.ToString(a.AssociationArn) != "arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/a-9njjin9gfghecgocd" {
		t.Errorf("association = %+v", a)
	}

	// The association with a target role, found through its listed id.
	list, err := client.ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String("demo"), Namespace: aws.String("shop"), ServiceAccount: aws.String("orders"),
	})
	if err != nil || len(list.Associations) != 1 {
		t.Fatalf("list: %v %+v", err, list)
	}
	out, err = client.DescribePodIdentityAssociation(testContext(t), &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String("demo"), AssociationId: list.Associations[0].AssociationId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := out.Association; aws.ToString(a.TargetRoleArn) != "arn:aws:iam::444455556666:role/orders-data" ||
		aws.ToString(a.ExternalId) != "6c7b2d0e-0f7e-4d1c-9d6a-3f1e2a4b5c6d" || !aws.ToBool(a.DisableSessionTags) {
		t.Errorf("association with a target role = %+v", a)
	}
}

func TestPodIdentityAssociationRefusals(t *testing.T) {
	srv := startFake(t, podIdentityState)
	tests := map[string]struct {
		region, account, cluster, id string
		wantCode                     string
		wantStatus                   int
		wantMessage                  string
	}{
		"listing an unknown cluster is ResourceNotFoundException": {
			cluster: "prod", wantCode: "ResourceNotFoundException", wantStatus: 404, wantMessage: "No cluster found for name: prod.",
		},
		"listing with another account's credentials does not find the cluster": {
			account: otherAccount, cluster: "demo", wantCode: "ResourceNotFoundException", wantStatus: 404, wantMessage: "No cluster found for name: demo.",
		},
		"describing an unknown association is ResourceNotFoundException": {
			cluster: "demo", id: "a-aaaaaaaaaaaaaaaaa", wantCode: "ResourceNotFoundException", wantStatus: 404,
			wantMessage: "No Pod Identity Association found for id: a-aaaaaaaaaaaaaaaaa.",
		},
		"describing an association in the same-named cluster of another region is not found": {
			region: "eu-west-1", cluster: "demo", id: "a-9njjin9gfghecgocd", wantCode: "ResourceNotFoundException", wantStatus: 404,
			wantMessage: "No Pod Identity Association found for id: a-9njjin9gfghecgocd.",
		},
		"describing in an unknown cluster names the cluster": {
			cluster: "prod", id: "a-9njjin9gfghecgocd", wantCode: "ResourceNotFoundException", wantStatus: 404, wantMessage: "No cluster found for name: prod.",
		},
		"an association id of the wrong length is InvalidParameterException": {
			cluster: "demo", id: "a-123", wantCode: "InvalidParameterException", wantStatus: 400,
			wantMessage: "The parameter associationId should be 19 characters long.",
		},
		"a cluster name EKS would refuse is InvalidParameterException": {
			cluster: "-demo", wantCode: "InvalidParameterException", wantStatus: 400,
			wantMessage: `The parameter name contains invalid characters. It should conform to the regular expression "^[0-9A-Za-z][A-Za-z0-9-_]*"In other words, it should start with a number or letter, and can contain numbers, letters, dashes, and underscores.`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			account, region := testAccount, "us-west-2"
			if tc.account != "" {
				account = tc.account
			}
			if tc.region != "" {
				region = tc.region
			}
			cfg := callerConfig(srv, account)
			cfg.Region = region
			client := eksClient(cfg)
			var err error
			if tc.id == "" {
				_, err = client.ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String(tc.cluster)})
			} else {
				_, err = client.DescribePodIdentityAssociation(testContext(t), &eks.DescribePodIdentityAssociationInput{
					ClusterName: aws.String(tc.cluster), AssociationId: aws.String(tc.id),
				})
			}
			assertAPIError(t, err, tc.wantCode, tc.wantStatus, tc.wantMessage)
		})
	}
	var rnf *ekstypes.ResourceNotFoundException
	_, err := eksClient(callerConfig(srv, testAccount)).ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod")})
	if !errors.As(err, &rnf) {
		t.Errorf("error %v (%T) is not the SDK's typed ResourceNotFoundException", err, err)
	}
}

// TestPodIdentityThrottlingIsRetryable checks what a caller's retry logic sees: a 429
// ThrottlingException that the SDK classifies as throttling and retries.
func TestPodIdentityThrottlingIsRetryable(t *testing.T) {
	srv := startFake(t, podIdentityState)
	if err := srv.SetFaults(awsstate.Fault{API: "ListPodIdentityAssociations", Error: "Throttling"}); err != nil {
		t.Fatal(err)
	}
	client := eksClient(callerConfig(srv, testAccount))
	_, err := client.ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("demo")})
	assertAPIError(t, err, "ThrottlingException", 429, "Rate exceeded")
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not classify %v as throttling", err)
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
		t.Errorf("the SDK does not classify %v as retryable", err)
	}
	_, err = client.DescribePodIdentityAssociation(testContext(t), &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String("demo"), AssociationId: aws.String("a-9njjin9gfghecgocd"),
	})
	if err != nil {
		t.Errorf("a fault for ListPodIdentityAssociations reached DescribePodIdentityAssociation: %v", err)
	}

	// Every second request throttled: the standard retryer absorbs it.
	if err := srv.SetFaults(awsstate.Fault{API: "DescribePodIdentityAssociation", Error: "Throttling", Every: 2}); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	cfg := callerConfig(srv, testAccount)
	cfg.RetryMaxAttempts = 3
	for i := range 2 {
		if _, err := eksClient(cfg).DescribePodIdentityAssociation(testContext(t), &eks.DescribePodIdentityAssociationInput{
			ClusterName: aws.String("demo"), AssociationId: aws.String("a-9njjin9gfghecgocd"),
		}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := srv.Calls("DescribePodIdentityAssociation"); got != 3 {
		t.Errorf("Calls = %d, want 3 (the second call retried once)", got)
	}
}

// TestEKSWireShapes pins the bytes EKS sends, so a change the SDK happens to tolerate still shows.
func TestEKSWireShapes(t *testing.T) {
	srv := startFake(t, podIdentityState)
	tests := map[string]struct {
		method, path string
		wantStatus   int
		wantType     string
		wantBody     string
	}{
		"a described association has epoch-second timestamps and an empty tag map": {
			method: "GET", path: "/clusters/demo/pod-identity-associations/a-9njjin9gfghecgocd", wantStatus: 200,
			wantBody: `{"association":{"associationArn":"arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/a-9njjin9gfghecgocd",` +
				`"associationId":"a-9njjin9gfghecgocd","clusterName":"demo","createdAt":1748116334.135,"disableSessionTags":false,` +
				`"modifiedAt":1748116334.135,"namespace":"shop","roleArn":"arn:aws:iam::111122223333:role/cart","serviceAccount":"cart","tags":{}}}`,
		},
		"a filtered list has no nextToken when it is complete": {
			method: "GET", path: "/clusters/demo/pod-identity-associations?namespace=payments", wantStatus: 200,
			wantBody: `{"associations":[{"associationArn":"arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/` +
				mustID(t, srv, "payments") + `","associationId":"` + mustID(t, srv, "payments") + `","clusterName":"demo","namespace":"payments","serviceAccount":"cart"}]}`,
		},
		"an API the fake does not serve is UnknownOperationException": {
			method: "POST", path: "/clusters/demo/pod-identity-associations", wantStatus: 404, wantType: "UnknownOperationException",
			wantBody: `{"message":"fake AWS serves only DescribeCluster, ListPodIdentityAssociations and DescribePodIdentityAssociation of EKS"}`,
		},
	}
	for name, tc := range tests {
		req, err := http.NewRequestWithContext(testContext(t), tc.method, srv.URL()+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+CallerAccessKeyID(testAccount)+"/20260101/us-west-2/eks/aws4_request, SignedHeaders=host, Signature=00")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || string(b) != tc.wantBody || resp.Header.Get("x-amzn-ErrorType") != tc.wantType {
			t.Errorf("%s:\ngot %d %q %s\nwant %d %q %s", name, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b, tc.wantStatus, tc.wantType, tc.wantBody)
		}
	}
}

// mustID is the association id the state generated for namespace's only association.
func mustID(t *testing.T, srv *Server, namespace string) string {
	t.Helper()
	for _, p := range srv.snapshot().Clusters[0].PodIdentityAssociations {
		if p.Namespace == namespace {
			return p.AssociationID
		}
	}
	t.Fatalf("no association in %s", namespace)
	return ""
}

// TestDemoStatePodIdentityAssociation keeps the demo's association servable: shop/recommender,
// whose role exists and trusts EKS Pod Identity.
func TestDemoStatePodIdentityAssociation(t *testing.T) {
	st, err := awsstate.LoadState("../examples/demo/aws-state.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(st)
	defer srv.Close()
	cfg := callerConfig(srv, st.CallerAccount)
	out, err := eksClient(cfg).ListPodIdentityAssociations(testContext(t), &eks.ListPodIdentityAssociationsInput{
		ClusterName: aws.String("demo"), Namespace: aws.String("shop"), ServiceAccount: aws.String("recommender"),
	})
	if err != nil || len(out.Associations) != 1 {
		t.Fatalf("list: %v %+v", err, out)
	}
	desc, err := eksClient(cfg).DescribePodIdentityAssociation(testContext(t), &eks.DescribePodIdentityAssociationInput{
		ClusterName: aws.String("demo"), AssociationId: out.Associations[0].AssociationId,
	})
	if err != nil {
		t.Fatal(err)
	}
	role, err := iamClient(cfg).GetRole(testContext(t), &iam.GetRoleInput{RoleName: aws.String("recommender")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(role.Role.Arn) != aws.ToString(desc.Association.RoleArn) ||
		!strings.Contains(aws.ToString(role.Role.AssumeRolePolicyDocument), "pods.eks.amazonaws.com") {
		t.Errorf("association role %s, GetRole %s %s", aws.ToString(desc.Association.RoleArn), aws.ToString(role.Role.Arn), aws.ToString(role.Role.AssumeRolePolicyDocument))
	}
}
