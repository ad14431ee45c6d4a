package imagescan

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCacheSharesScansOfOneDigest(t *testing.T) {
	inner := registryServer(t)
	refA := push(t, inner, "a", layer(t, text("app/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.1.0"}`)))
	refB := push(t, inner, "b", layer(t, text("srv/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.2.0"}`)))
	var layerGets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			layerGets.Add(1) // config and layer blobs alike
		}
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	via := func(ref string) string {
		return strings.Replace(ref, strings.TrimPrefix(inner.URL, "http://"), strings.TrimPrefix(srv.URL, "http://"), 1)
	}
	c := NewCache(1)
	ctx := context.Background()

	var wg sync.WaitGroup
	reports := make([]Report, 4)
	for i := range reports {
		wg.Go(func() {
			rep, err := c.Scan(ctx, via(refA), Options{})
			if err != nil {
				t.Error(err)
			}
			reports[i] = rep
		})
	}
	wg.Wait()
	for _, r := range reports {
		if len(r.SDKs) != 1 || r.SDKs[0].Version != "2.1.0" {
			t.Fatalf("got %+v", r)
		}
	}
	first := layerGets.Load()
	if first > 4+2*int32(len(reports)) {
		t.Errorf("four concurrent scans of one digest read %d blobs", first)
	}

	rep, err := c.Scan(ctx, via(refA), Options{})
	if err != nil || !rep.Stats.FromCache {
		t.Fatalf("a second scan should come from the cache: %+v, %v", rep.Stats, err)
	}
	if _, err := c.Scan(ctx, via(refB), Options{}); err != nil { // evicts A: the cache holds one
		t.Fatal(err)
	}
	if rep, _ := c.Scan(ctx, via(refA), Options{}); rep.Stats.FromCache {
		t.Error("A should have been evicted by B")
	}
	if rep, _ := c.Scan(ctx, via(refA), Options{MaxFiles: 5}); rep.Stats.FromCache {
		t.Error("other bounds are another key")
	}
}
