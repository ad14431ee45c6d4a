package awsfacts

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

// TestStateSourceAnswersWhatTheSDKAnswers reads the same state two ways, directly and through
// the real SDK against the fake serving it, and requires the same findings for every kind of
// identity: found, missing, wrong case, wrong path, another partition, another account with and
// without a reader role, another issuer. The issuer's TLS chain is not in a state file, so both
// leave the thumbprint out.
func TestStateSourceAnswersWhatTheSDKAnswers(t *testing.T) {
	e := newEnv(t, nil)
	st, err := awsstate.ParseState([]byte(e.stateText))
	if err != nil {
		t.Fatal(err)
	}
	readers := map[string]string{remoteAccount: "arn:aws:iam::444455556666:role/irsa-guard-reader"}
	sdk := e.verifier(t, func(o *Options) { o.SkipThumbprint, o.ReaderRoles = true, readers })
	file := NewStateSource(st, readers, e.clock.Now)
	for _, role := range []string{
		"arn:aws:iam::111122223333:role/app",
		"arn:aws:iam::111122223333:role/APP",
		"arn:aws:iam::111122223333:role/nope",
		"arn:aws:iam::111122223333:role/Team-Writer",
		"arn:aws:iam::111122223333:role/teams/payments/Team-Writer",
		"arn:aws-cn:iam::111122223333:role/app",
		"arn:aws:iam::444455556666:role/irsa/remote-app",
		"arn:aws:iam::777788889999:role/app",
		"not an arn",
	} {
		for _, issuer := range []string{e.issuer.url, "https://oidc.eks.eu-west-1.amazonaws.com/id/0000", "http://bad"} {
			t.Run(role+" "+issuer, func(t *testing.T) {
				id := e.identity(role)
				id.Issuer = issuer
				want := render(check(sdk, testContext(t), id))
				if got := render(check(file, testContext(t), id)); !slices.Equal(got, want) {
					t.Errorf("state source:\n%s\nSDK against the same state:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

func render(fs []validators.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s | %s | %s", f.Check, f.Severity, f.Message, f.PredictedError, f.Fix))
	}
	return out
}

func TestStateSourceCallerAndClusters(t *testing.T) {
	st, err := awsstate.ParseState([]byte("partition: aws-us-gov\ncallerAccount: \"111122223333\"\nclusters:\n  - {name: prod, region: us-gov-west-1, issuer: https://oidc.eks.us-gov-west-1.amazonaws.com/id/ABC}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStateSource(st, nil, nil)
	if p, a, err := s.CallerAccount(context.Background()); p != "aws-us-gov" || a != "111122223333" || err != nil {
		t.Errorf("CallerAccount = %q %q %v", p, a, err)
	}
	if iss, err := s.ClusterIssuer(context.Background(), "prod"); iss != "https://oidc.eks.us-gov-west-1.amazonaws.com/id/ABC" || err != nil {
		t.Errorf("ClusterIssuer(prod) = %q %v", iss, err)
	}
	if _, err := s.ClusterIssuer(context.Background(), "dev"); err == nil || !strings.Contains(err.Error(), `the AWS state has no cluster "dev" (it lists prod)`) {
		t.Errorf("ClusterIssuer(dev) = %v", err)
	}
}

func TestSDKCallerAccountAndClusterIssuer(t *testing.T) {
	e := newEnv(t, func(st *awsstate.State) {
		st.Clusters = []awsstate.Cluster{{Name: "demo", Region: "eu-west-1", Account: ownAccount, Issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC"}}
	})
	v := e.verifier(t, func(o *Options) { o.ClusterRegion = "eu-west-1" })
	for range 2 {
		if p, a, err := v.CallerAccount(testContext(t)); p != "aws" || a != ownAccount || err != nil {
			t.Fatalf("CallerAccount = %q %q %v", p, a, err)
		}
		if iss, err := v.ClusterIssuer(testContext(t), "demo"); iss != "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC" || err != nil {
			t.Fatalf("ClusterIssuer = %q %v", iss, err)
		}
	}
	if e.aws.Calls("GetCallerIdentity") != 1 || e.aws.Calls("DescribeCluster") != 1 {
		t.Errorf("calls: GetCallerIdentity %d, DescribeCluster %d; want 1 each (cached)", e.aws.Calls("GetCallerIdentity"), e.aws.Calls("DescribeCluster"))
	}
	// The cluster lives in eu-west-1: without ClusterRegion the config's us-west-2 does not find it.
	_, err := e.verifier(t, nil).ClusterIssuer(testContext(t), "demo")
	if err == nil || !strings.Contains(err.Error(), `read the OIDC issuer of EKS cluster "demo"`) {
		t.Errorf("ClusterIssuer in the wrong region = %v", err)
	}
}

func TestPolicySourceChecksOnlyTheTrust(t *testing.T) {
	hp := "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	doc := validators.ParseTrustDocument(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + hp +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:shop:cart"}}}]}`)
	s := &PolicySource{Trust: doc}
	id := validators.Identity{Object: validators.Object{Kind: "ServiceAccount", Namespace: "shop", Name: "app"}, Namespace: "shop", ServiceAccount: "app",
		RoleARN: "arn:aws:iam::111122223333:role/teams/app", Issuer: "https://" + hp}
	if got := summary(check(s, context.Background(), id)); !slices.Equal(got, []string{"IRSA032/error"}) {
		t.Errorf("findings = %v, want only the trust's IRSA032 (no role, provider or could-not-verify noise)", got)
	}
}

// TestPodIdentityFromEKSAndFromTheState reads associations through the real EKS client against
// the fake and from the same state directly: found (with its role, a missing role, a role in an
// account without a reader role), none, and a cluster EKS does not know.
func TestPodIdentityFromEKSAndFromTheState(t *testing.T) {
	withCluster := func(st *awsstate.State) {
		st.Clusters = []awsstate.Cluster{{Name: "prod", Region: "us-west-2", Account: ownAccount, Issuer: "https://oidc.eks.us-west-2.amazonaws.com/id/ABC",
			PodIdentityAssociations: []awsstate.PodIdentityAssociation{
				{Namespace: "shop", ServiceAccount: "app", RoleARN: "arn:aws:iam::111122223333:role/app"},
				{Namespace: "shop", ServiceAccount: "gone", RoleARN: "arn:aws:iam::111122223333:role/deleted", DisableSessionTags: true},
				{Namespace: "shop", ServiceAccount: "remote", RoleARN: "arn:aws:iam::777788889999:role/remote"},
			}}}
	}
	e := newEnv(t, withCluster)
	st, err := awsstate.ParseState([]byte(e.stateText))
	if err != nil {
		t.Fatal(err)
	}
	withCluster(st)
	if err := st.Normalize(); err != nil {
		t.Fatal(err)
	}
	sdk := e.verifier(t, func(o *Options) { o.ClusterRegion = "us-west-2" })
	file := NewStateSource(st, nil, e.clock.Now)
	render := func(f validators.PodIdentityFacts) string {
		s := fmt.Sprintf("unverified=%v notFound=%v", f.Unverified, f.RoleNotFound)
		if f.Association != nil {
			s += fmt.Sprintf(" association=%s role=%s tags-off=%v", f.Association.ID, f.Association.RoleARN, f.Association.DisableSessionTags)
		}
		if f.Role != nil {
			s += " roleFacts=" + f.Role.ARN
		}
		return s
	}
	for _, tc := range []struct{ cluster, sa, want string }{
		{"prod", "app", "unverified=[] notFound=false association=a- role=arn:aws:iam::111122223333:role/app tags-off=false roleFacts=arn:aws:iam::111122223333:role/app"},
		{"prod", "gone", "unverified=[] notFound=true association=a- role=arn:aws:iam::111122223333:role/deleted tags-off=true"},
		{"prod", "remote", "unverified=[{Pod Identity role no access to account 777788889999 }] notFound=false association=a- role=arn:aws:iam::777788889999:role/remote tags-off=false"},
		{"prod", "web", "unverified=[] notFound=false"},
		{"staging", "app", `unverified=[{EKS Pod Identity association EKS cluster "staging" not found; check cluster.name and cluster.region }] notFound=false`},
	} {
		t.Run(tc.cluster+"/"+tc.sa, func(t *testing.T) {
			fromEKS := render(sdk.PodIdentity(testContext(t), tc.cluster, "shop", tc.sa))
			fromFile := render(file.PodIdentity(testContext(t), tc.cluster, "shop", tc.sa))
			// Association ids are generated by the state; compare their shape, then the rest.
			strip := func(s string) string { return regexp.MustCompile(`a-[a-z0-9]{17}`).ReplaceAllString(s, "a-") }
			if strip(fromEKS) != tc.want || strip(fromFile) != tc.want {
				t.Errorf("EKS:   %s\nstate: %s\nwant:  %s", strip(fromEKS), strip(fromFile), tc.want)
			}
		})
	}
	if n := e.aws.Calls("ListPodIdentityAssociations"); n != 5 {
		t.Errorf("ListPodIdentityAssociations calls = %d, want 5 (one per ServiceAccount)", n)
	}
	sdk.PodIdentity(testContext(t), "prod", "shop", "app")
	sdk.PodIdentity(testContext(t), "prod", "shop", "web")
	if n := e.aws.Calls("ListPodIdentityAssociations"); n != 5 {
		t.Errorf("after asking again: %d calls, want the cached answers (5)", n)
	}
}
