package imagescan

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"
)

// Cache remembers reports by image digest, so the pods of one Deployment (one image, many
// replicas) cost one scan, and concurrent scans of one digest share a single walk. It keeps at
// most Size reports (least recently used go first). A report cut short by the time budget is
// not kept: the next caller may have more time. The zero Cache is not usable; use NewCache.
type Cache struct {
	size  int
	group singleflight.Group
	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	rep Report
}

// NewCache keeps up to size reports (at least 1).
func NewCache(size int) *Cache {
	return &Cache{size: max(size, 1), lru: list.New(), byKey: map[string]*list.Element{}}
}

// Scan is the package's Scan with the cache in front. The reference is resolved to its digest
// on every call (a tag may move); only the layer walk is shared. Options that bound the walk
// are part of the key, so a scan with a smaller budget never serves one with a larger.
func (c *Cache) Scan(ctx context.Context, ref string, opts Options) (Report, error) {
	opts = opts.withDefaults()
	rctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	_, rep, err := resolve(rctx, ref, opts)
	if err != nil {
		return Report{}, err
	}
	key := fmt.Sprintf("%s|%d|%d|%d|%d|%d", rep.Digest, opts.MaxBytes, opts.MaxFileBytes, opts.MaxEntries, opts.MaxFiles, opts.MaxDepth)
	if cached, ok := c.get(key); ok {
		cached.Ref, cached.Stats.FromCache = ref, true
		return cached, nil
	}
	// The shared walk reads the layers by digest under a context of its own, bounded by the
	// time budget but not by the first caller's cancellation.
	r, err := name.ParseReference(ref)
	if err != nil {
		return Report{}, err
	}
	byDigest := r.Context().Digest(rep.Digest).String()
	ch := c.group.DoChan(key, func() (any, error) {
		detached := context.WithoutCancel(ctx)
		sctx, cancel := context.WithTimeout(detached, opts.Timeout)
		defer cancel()
		img, _, err := resolve(sctx, byDigest, opts)
		if err != nil {
			return Report{}, err
		}
		r, err := scanImage(detached, sctx, img, rep, opts)
		if err == nil && !timedOut(r) {
			c.put(key, r)
		}
		return r, err
	})
	select {
	case <-ctx.Done():
		return Report{}, fmt.Errorf("scan image %s: %w", ref, ctx.Err())
	case res := <-ch:
		if res.Err != nil {
			return Report{}, res.Err
		}
		r := res.Val.(Report)
		r.Ref, r.Stats.FromCache = ref, res.Shared
		return r, nil
	}
}

// timedOut says whether the time budget, rather than a fixed bound, cut the report short.
func timedOut(r Report) bool {
	for _, s := range r.Skipped {
		if len(s.Reason) > 11 && s.Reason[:11] == "time budget" {
			return true
		}
	}
	return false
}

func (c *Cache) get(key string) (Report, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return Report{}, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).rep, true
}

func (c *Cache) put(key string, rep Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*cacheEntry).rep = rep
		c.lru.MoveToFront(e)
		return
	}
	c.byKey[key] = c.lru.PushFront(&cacheEntry{key: key, rep: rep})
	for c.lru.Len() > c.size {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
}
