package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/server"
	"github.com/irsa-guard/irsa-guard/validators"
	"github.com/irsa-guard/irsa-guard/webhook"
)

// coldStart is the size of BenchmarkColdStart's cluster and burst: the figures, and a
// smaller one for `go test -short` (make bench-smoke).
type coldStart struct {
	serviceAccounts, reviews, clients int
	iamLatency                        time.Duration
}

func coldStartSize() coldStart {
	if testing.Short() {
		return coldStart{serviceAccounts: 10, reviews: 100, clients: 16, iamLatency: 100 * time.Millisecond}
	}
	return coldStart{serviceAccounts: 100, reviews: 1000, clients: 64, iamLatency: 100 * time.Millisecond}
}

// BenchmarkColdStart starts a fresh replica in a cluster whose ServiceAccounts each name a role of
// their own, with AWS answering every call in 100 ms and the default IAM rate limit (5/s, burst
// 20), and, as soon as the replica is ready, sends a burst of pod reviews (pod i runs as
// ServiceAccount i mod n) from many clients. With pre-warming, serve's readiness waits for
// server.Prewarm; without, it is ready when its informers have synced. It reports the time to
// ready, the IAM and STS calls made (GetRole, GetOpenIDConnectProvider and GetCallerIdentity), how
// many reviews were answered within the decision budget, and how many were answered "could not
// verify" (IRSA090) although their ServiceAccount existed before the replica started.
func BenchmarkColdStart(b *testing.B) {
	size := coldStartSize()
	for _, prewarm := range []bool{true, false} {
		name := "prewarm"
		if !prewarm {
			name = "no-prewarm"
		}
		b.Run(fmt.Sprintf("serviceaccounts=%d/reviews=%d/%s", size.serviceAccounts, size.reviews, name), func(b *testing.B) {
			for b.Loop() {
				coldStartOnce(b, size, prewarm)
			}
		})
	}
}

func coldStartOnce(b *testing.B, size coldStart, prewarm bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	fleet := newFleet(b, size.serviceAccounts)
	fleet.aws.ResetCalls()
	if err := fleet.aws.SetFaults(awsstate.Fault{Latency: size.iamLatency}); err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	budget := cfg.Server.DecisionBudget.Duration

	// The replica starts: informers, AWS facts with serve's defaults, engine, webhook server.
	start := time.Now()
	c, err := cache.New(controlPlane.Config, server.CacheOptions(scheme))
	if err != nil {
		b.Fatal(err)
	}
	cluster, err := server.NewCluster(ctx, c, controlPlane.Client, cfg)
	if err != nil {
		b.Fatal(err)
	}
	facts := newFacts(b, fleet.aws, fleet.issuer, awsfacts.Options{LookupTimeout: budget})
	engine := review.New(cfg, review.Options{Facts: facts, Cluster: cluster, Issuer: fleet.issuer.URL()})
	deps := &webhook.Deps{Engine: engine, Cluster: cluster, Policy: webhook.Policy{Policy: cfg.Policy}, Budget: budget}
	go func() { _ = c.Start(ctx) }()
	url, httpClient := serveWebhook(b, ctx, scheme, deps)
	warm := &server.Prewarm{Cache: c, Engine: engine, Deadline: cfg.AWS.Cache.PrewarmDeadline.Duration}
	if prewarm {
		go func() { _ = warm.Start(ctx) }()
	}
	for !c.WaitForCacheSync(ctx) || (prewarm && warm.Ready(nil) != nil) {
		time.Sleep(10 * time.Millisecond)
	}
	ready := time.Since(start)

	// The burst: every review is timed and its warnings read.
	bodies := make([][]byte, size.serviceAccounts)
	for i := range bodies {
		bodies[i] = admissionReview(b, "Pod", "pods", injectedPodOf(fleetNamespace, fleetName(i), fleetRole(i)))
	}
	lat := make([]time.Duration, size.reviews)
	var next, unverified, failed atomic.Int64
	var wg sync.WaitGroup
	for range size.clients {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(size.reviews); i = next.Add(1) - 1 {
				t := time.Now()
				out, err := post(httpClient, url+webhook.PathValidatePod, bodies[int(i)%len(bodies)])
				lat[i] = time.Since(t)
				var r admissionv1.AdmissionReview
				switch {
				case err != nil, json.Unmarshal(out, &r) != nil, r.Response == nil:
					failed.Add(1)
				case slices.ContainsFunc(r.Response.Warnings, func(w string) bool { return strings.Contains(w, string(validators.CheckCouldNotVerify)) }):
					unverified.Add(1)
				}
			}
		})
	}
	wg.Wait()
	within := 0
	for _, l := range lat {
		if l <= budget {
			within++
		}
	}
	slices.Sort(lat)
	b.ReportMetric(ready.Seconds(), "ready-s")
	b.ReportMetric(float64(fleet.aws.Calls("GetRole")), "GetRole-calls")
	b.ReportMetric(float64(fleet.aws.Calls("GetOpenIDConnectProvider")), "GetOIDCProvider-calls")
	b.ReportMetric(float64(fleet.aws.Calls("GetCallerIdentity")), "GetCallerIdentity-calls")
	b.ReportMetric(float64(within), "within-budget")
	b.ReportMetric(float64(unverified.Load()), "IRSA090")
	b.ReportMetric(float64(failed.Load()), "failed")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
	_ = fleet.aws.SetFaults()
}

// fleet is a namespace of ServiceAccounts app-000, app-001, ... each annotated with a role of its
// own, and the AWS account that holds those roles, each trusting exactly its ServiceAccount.
type fleet struct {
	aws    *fakeaws.Server
	issuer *fakeaws.OIDCIssuer
}

const fleetNamespace = "fleet"

func fleetName(i int) string { return fmt.Sprintf("app-%05d", i) }
func fleetRole(i int) string { return "arn:aws:iam::" + account + ":role/" + fleetName(i) }

// newFleet creates the first n ServiceAccounts of the fleet (leaving those that exist) and a
// fake AWS that knows their roles. Both go away with tb.
func newFleet(tb testing.TB, n int) *fleet {
	tb.Helper()
	ctx := context.Background()
	iss, err := fakeaws.NewOIDCIssuer(fakeaws.OIDCIssuerOptions{})
	if err != nil {
		tb.Fatalf("NewOIDCIssuer: %v", err)
	}
	tb.Cleanup(iss.Close)
	hostPath := validators.IssuerHostPath(iss.URL())
	st := &awsstate.State{CallerAccount: account, Accounts: map[string]*awsstate.Account{account: {
		OIDCProviders: []awsstate.OIDCProvider{{URL: iss.URL(), ClientIDs: []string{"sts.amazonaws.com"}, Thumbprints: []string{iss.JWKSThumbprint()}}},
	}}}
	var objs []client.Object
	objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fleetNamespace}})
	for i := range n {
		st.Accounts[account].Roles = append(st.Accounts[account].Roles, fleetRoleState(hostPath, i))
		objs = append(objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: fleetNamespace, Name: fleetName(i),
			Annotations: map[string]string{validators.AnnotationRoleARN: fleetRole(i), "eks.amazonaws.com/sts-regional-endpoints": "true"}}})
	}
	createAll(tb, ctx, objs)
	if err := st.Normalize(); err != nil {
		tb.Fatalf("fleet AWS state: %v", err)
	}
	aws := fakeaws.NewServer(st)
	tb.Cleanup(aws.Close)
	return &fleet{aws: aws, issuer: iss}
}

// fleetRoleState is role i, trusting exactly its ServiceAccount with the default audience.
func fleetRoleState(hostPath string, i int) awsstate.Role {
	return awsstate.Role{Name: fleetName(i), TrustPolicy: awsstate.PolicyText(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
		`"Principal":{"Federated":"arn:aws:iam::%s:oidc-provider/%s"},"Action":"sts:AssumeRoleWithWebIdentity",`+
		`"Condition":{"StringEquals":{"%s:sub":"system:serviceaccount:%s:%s","%s:aud":"sts.amazonaws.com"}}}]}`,
		account, hostPath, hostPath, fleetNamespace, fleetName(i), hostPath))}
}
