package imagescan

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// zipBomb is a jar whose pom.properties inflates to size bytes of zeros.
func zipBomb(t testing.TB, size int64) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	if w, err := zw.Create(v2AuthClass); err != nil {
		t.Fatal(err)
	} else if _, err := w.Write([]byte("class")); err != nil {
		t.Fatal(err)
	}
	w, err := zw.Create(v2AuthPom)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, zeroReader{}, size); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zip64Claim is a jar of no entries whose zip64 end record claims ten million.
func zip64Claim() []byte {
	var b bytes.Buffer
	rec := make([]byte, 56)
	copy(rec, "PK\x06\x06")
	binary.LittleEndian.PutUint64(rec[4:], 44)
	binary.LittleEndian.PutUint64(rec[24:], 10_000_000)
	binary.LittleEndian.PutUint64(rec[32:], 10_000_000)
	b.Write(rec)
	loc := make([]byte, 20)
	copy(loc, "PK\x06\x07")
	binary.LittleEndian.PutUint64(loc[8:], 0) // the zip64 record is at offset 0
	b.Write(loc)
	eocd := make([]byte, 22)
	copy(eocd, "PK\x05\x06")
	binary.LittleEndian.PutUint16(eocd[8:], 0xFFFF)
	binary.LittleEndian.PutUint16(eocd[10:], 0xFFFF)
	binary.LittleEndian.PutUint32(eocd[12:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint32(eocd[16:], 0xFFFFFFFF)
	b.Write(eocd)
	return b.Bytes()
}

func TestHostileImageStaysWithinBounds(t *testing.T) {
	deep := strings.Repeat("d/", 200) + site + "botocore-1.0.0.dist-info/METADATA"
	hostile := []file{
		text(deep, "Name: botocore\nVersion: 1.0.0\n"),
		symlink("loop/a", "b"), symlink("loop/b", "a"), symlink("self", "self"),
		{name: "bin/sh", link: "busybox", mode: 0o777}, {name: "lib/app.jar", link: "lib/app.jar", mode: 0o777},
		symlink("escape", "../../../../etc/passwd"),
		symlink("x/node_modules/aws-sdk/package.json", "../../../../etc/passwd"),
		{name: "bomb/app.jar", body: zipBomb(t, 256<<20)},
		{name: "claims/app.jar", body: zip64Claim()},
		{name: "big/app.jar", body: bytes.Repeat([]byte("x"), 2<<20)},
		text("../../etc/evil/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"1.0.0"}`),
		text("app/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.0.0"}`),
	}
	for i := range 10 {
		hostile = append(hostile, exe(fmt.Sprintf("bin/tool%d", i), []byte("#!/bin/sh\n")))
	}
	bomb := make([]file, 60_000) // a tar bomb of entries: more than MaxEntries
	for i := range bomb {
		bomb[i] = text(fmt.Sprintf("many/%d", i), "")
	}
	ref := push(t, registryServer(t), "hostile", layer(t, bomb...), layer(t, hostile...))
	opts := Options{MaxFileBytes: 1 << 20, MaxEntries: 50_000, MaxFiles: 8, MaxDepth: 64, Timeout: 30 * time.Second}
	start := time.Now()
	rep := scan(t, ref, opts)
	t.Logf("hostile image scanned in %s: %+v", time.Since(start), rep.Stats)

	if rep.Complete {
		t.Error("the entry cap should have stopped the scan")
	}
	want := []string{
		"path deeper than 64 levels", "link not followed", "file larger than 1048576 bytes",
		"jar not readable: more than 200000 entries", "path leaves the layer's root",
		"more than 8 files to inspect", "more than 50000 tar entries",
	}
	got := map[string]Skip{}
	for _, s := range rep.Skipped {
		got[s.Reason] = s
	}
	for _, reason := range want {
		if _, ok := got[reason]; !ok {
			t.Errorf("skipped should list %q; got %+v", reason, rep.Skipped)
		}
	}
	if got["link not followed"].Count != 2 {
		t.Errorf("only the symlink at a path the scan reads is worth a note: %+v", got["link not followed"])
	}
	// The zip bomb is read up to the properties cap: the SDK is there, its version is not (and
	// its sts module is not either).
	if s, ok := byName(rep, "aws-sdk-java-v2", "/bomb/app.jar"); !ok || s.Version != "" || s.PodIdentity.Verdict != VerdictUnknown || s.IRSA.Verdict != VerdictNotCapable {
		t.Errorf("zip bomb jar: got %+v", rep.SDKs)
	}
	if s, ok := byName(rep, "aws-sdk-js (v2)", ""); !ok || s.Path != "/app/node_modules/aws-sdk/package.json" {
		t.Errorf("the one honest SDK should be found at its own path: %+v", rep.SDKs)
	}
	if rep.Stats.Entries > opts.MaxEntries || rep.Stats.Files > opts.MaxFiles {
		t.Errorf("stats past the caps: %+v", rep.Stats)
	}
}

func TestHugeLayerStopsAtTheByteBudget(t *testing.T) {
	ref := push(t, registryServer(t), "huge",
		layer(t, zeros("huge/blob", 200<<20)),
		layer(t, text("app/node_modules/aws-sdk/package.json", `{"name":"aws-sdk","version":"2.1.0"}`)))
	start := time.Now()
	rep := scan(t, ref, Options{MaxBytes: 32 << 20})
	t.Logf("huge layer scanned in %s: %+v", time.Since(start), rep.Stats)
	if rep.Complete || len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0].Reason, "byte budget of 33554432") {
		t.Errorf("want the byte budget to stop the scan: %+v", rep.Skipped)
	}
	if rep.Stats.Bytes > 32<<20 {
		t.Errorf("read %d bytes, past the budget", rep.Stats.Bytes)
	}
	if _, ok := byName(rep, "aws-sdk-js (v2)", ""); !ok {
		t.Errorf("the layer above the huge one is read first: %+v", rep.SDKs)
	}
}

func TestSlowRegistryStopsAtTheTimeBudget(t *testing.T) {
	srv := registryServer(t)
	ref := push(t, srv, "slow", layer(t, text("a", "b")))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") {
			select {
			case <-time.After(500 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	ref = strings.Replace(ref, strings.TrimPrefix(srv.URL, "http://"), strings.TrimPrefix(slow.URL, "http://"), 1)
	opts := Options{Timeout: 800 * time.Millisecond}
	rep := scan(t, ref, opts)
	if rep.Complete || len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0].Reason, "time budget of 800ms spent") {
		t.Errorf("want the time budget to stop the scan: %+v", rep.Skipped)
	}

	// Through the cache: the same incomplete report, and it is not kept for the next caller.
	c := NewCache(4)
	for range 2 {
		rep, err := c.Scan(context.Background(), ref, opts)
		if err != nil || rep.Complete || rep.Stats.FromCache {
			t.Errorf("cached scan: complete %v, from cache %v, err %v", rep.Complete, rep.Stats.FromCache, err)
		}
	}
}
