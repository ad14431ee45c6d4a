package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/internal/testenv"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/server"
)

// controlPlane is the package's kube-apiserver and etcd (TestMain starts them): the benchmarks read
// the cluster as serve does, through controller-runtime's informer cache watching a real API
// server, not through a client that round-trips objects per call.
var controlPlane *testenv.Env

// runWithControlPlane runs the package's tests and benchmarks on one control plane. Without
// KUBEBUILDER_ASSETS (go test ./... by hand) it says why and runs nothing; `make unit`,
// `make bench` and `make bench-smoke` set it.
func runWithControlPlane(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "bench: not run:", testenv.ErrNoAssets)
		return 0
	}
	return testenv.Run(func(e *testenv.Env) int {
		controlPlane = e
		return m.Run()
	})
}

// serveCluster creates objs in the control plane (leaving those that exist) and returns what
// serve's review engine reads the cluster through (server.NewCluster on a cache built with
// server.CacheOptions), synced. The cache stops with the test.
func serveCluster(tb testing.TB, ctx context.Context, scheme *runtime.Scheme, cfg *config.Configuration, objs ...client.Object) *kubefacts.Informed {
	tb.Helper()
	createAll(tb, ctx, objs)
	c, err := cache.New(controlPlane.Config, server.CacheOptions(scheme))
	if err != nil {
		tb.Fatalf("build the informer cache: %v", err)
	}
	cluster, err := server.NewCluster(ctx, c, controlPlane.Client, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !c.WaitForCacheSync(syncCtx) {
		tb.Fatal("the informer cache did not sync within a minute")
	}
	return cluster
}

// createAll creates objs in the control plane, leaving those that exist, 16 at a time.
func createAll(tb testing.TB, ctx context.Context, objs []client.Object) {
	tb.Helper()
	var failed atomic.Value
	var wg sync.WaitGroup
	work := make(chan client.Object)
	for range 16 {
		wg.Go(func() {
			for obj := range work {
				if err := controlPlane.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
					failed.CompareAndSwap(nil, fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err))
				}
			}
		})
	}
	for _, obj := range objs {
		work <- obj
	}
	close(work)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
}
