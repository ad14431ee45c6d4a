package imagescan

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// skipLink is the reason recorded for a link at a path the scan would read.
const skipLink = "link not followed"

// errBudget and errEntries stop the walk: what was found so far is still reported.
var (
	errBudget  = errors.New("byte budget exhausted")
	errEntries = errors.New("entry cap reached")
)

// walker reads an image's layers from the top one down, so that a file a higher layer deleted
// (a whiteout) or replaced is never reported: it is hidden before its lower copy is reached.
// Nothing is extracted to disk and no link is followed.
type walker struct {
	opts    Options
	read    int64 // uncompressed bytes read, all layers
	entries int
	files   int
	// Whiteouts of the layers above the current one.
	deleted map[string]bool // the path and everything under it
	opaque  map[string]bool // everything under the directory
	seen    map[string]bool // candidate paths already met in a higher layer
	skips   skipList
	found   collector
}

func newWalker(opts Options) *walker {
	w := &walker{opts: opts, deleted: map[string]bool{}, opaque: map[string]bool{}, seen: map[string]bool{}}
	w.found.skip = w.skips.add
	return w
}

// layer walks one layer's tar stream. It returns errBudget, errEntries or the context's error
// when the scan must stop; a malformed layer is recorded as skipped and the walk goes on.
func (w *walker) layer(ctx context.Context, l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return w.layerFailed(ctx, l, err)
	}
	defer rc.Close()
	if err := w.walkTar(ctx, rc); err != nil {
		return w.layerFailed(ctx, l, err)
	}
	return nil
}

// walkTar reads one layer's uncompressed tar stream. Its errors are the stream's, or
// errEntries; layer decides what they mean.
func (w *walker) walkTar(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(&budgetReader{r: r, w: w, ctx: ctx})
	deleted, opaque := map[string]bool{}, map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if w.entries++; w.entries > w.opts.MaxEntries {
			return errEntries
		}
		p, ok := cleanPath(hdr.Name)
		if !ok {
			w.skips.add("path leaves the layer's root", hdr.Name)
			continue
		}
		if strings.Count(p, "/") >= w.opts.MaxDepth {
			w.skips.add(fmt.Sprintf("path deeper than %d levels", w.opts.MaxDepth), p)
			continue
		}
		dir, base := path.Split(p)
		if strings.HasPrefix(base, ".wh.") {
			if base == ".wh..wh..opq" {
				opaque[strings.TrimSuffix(dir, "/")] = true
			} else {
				deleted[dir+strings.TrimPrefix(base, ".wh.")] = true
			}
			continue
		}
		if w.hidden(p) {
			continue
		}
		if err := w.entry(tr, hdr, p); err != nil {
			return err
		}
	}
	for p := range deleted {
		w.deleted[p] = true
	}
	for p := range opaque {
		w.opaque[p] = true
	}
	return nil
}

// layerFailed decides whether a layer's read error stops the scan or only skips the layer.
func (w *walker) layerFailed(ctx context.Context, l v1.Layer, err error) error {
	if errors.Is(err, errBudget) || errors.Is(err, errEntries) || ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	d, _ := l.Digest()
	w.skips.add("layer unreadable: "+truncate(err.Error(), 120), d.String())
	return nil
}

// entry looks at one file that no higher layer hides.
func (w *walker) entry(tr *tar.Reader, hdr *tar.Header, p string) error {
	link := hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink
	if hdr.Typeflag != tar.TypeReg && !link {
		return nil
	}
	k := classify(p, hdr)
	if k == kindNone || w.seen[p] {
		return nil
	}
	w.seen[p] = true
	if link {
		// A link to an executable is how images name commands (/bin/sh -> busybox); only a
		// link at a metadata or jar path is a blind spot worth a note.
		if k != kindELF {
			w.skips.add(skipLink, "/"+p+" -> "+hdr.Linkname)
		}
		return nil
	}
	if k.nameOnly() {
		w.found.byName(k, "/"+p)
		return nil
	}
	limit := w.opts.MaxFileBytes
	if !k.whole() {
		limit = maxMetaBytes
	}
	if hdr.Size > limit {
		w.skips.add(fmt.Sprintf("file larger than %d bytes", limit), "/"+p)
		return nil
	}
	if w.files >= w.opts.MaxFiles {
		w.skips.add(fmt.Sprintf("more than %d files to inspect", w.opts.MaxFiles), "/"+p)
		return nil
	}
	w.files++
	// An executable's magic is read first: most executables in an image are not worth holding.
	var magic []byte
	if k == kindELF {
		magic = make([]byte, min(4, hdr.Size))
		if _, err := io.ReadFull(tr, magic); err != nil {
			return err // the layer stream failed: budget, context or a broken layer
		}
		if string(magic) != "\x7fELF" {
			return nil
		}
	}
	// The header's size is within limit: one allocation of exactly that size, no regrowth.
	data := make([]byte, hdr.Size)
	n := copy(data, magic)
	if _, err := io.ReadFull(tr, data[n:]); err != nil {
		return err
	}
	w.found.content(k, "/"+p, data)
	return nil
}

// hidden says whether a whiteout of a higher layer covers p.
func (w *walker) hidden(p string) bool {
	for q := p; ; {
		if w.deleted[q] {
			return true
		}
		i := strings.LastIndexByte(q, '/')
		if i < 0 {
			return w.opaque[""]
		}
		q = q[:i]
		if w.opaque[q] {
			return true
		}
	}
}

// cleanPath turns a tar entry name into a relative slash path; ok is false for a name that
// climbs out of the root ("../x") or is empty.
func cleanPath(name string) (string, bool) {
	name = strings.TrimLeft(name, "/")
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", false
		}
	}
	p := path.Clean("/" + name)[1:]
	return p, p != ""
}

// budgetReader counts a layer's uncompressed bytes against the scan's budget and stops at the
// budget or when the context ends.
type budgetReader struct {
	r   io.Reader
	w   *walker
	ctx context.Context
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	left := b.w.opts.MaxBytes - b.w.read
	if left <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := b.r.Read(p)
	b.w.read += int64(n)
	return n, err
}

// skipList groups skipped things by reason, keeping a count and the first example.
type skipList struct {
	order []string
	by    map[string]*Skip
}

func (s *skipList) add(reason, example string) {
	if s.by == nil {
		s.by = map[string]*Skip{}
	}
	if k, ok := s.by[reason]; ok {
		k.Count++
		return
	}
	s.by[reason] = &Skip{Reason: reason, Count: 1, Example: truncate(example, 200)}
	s.order = append(s.order, reason)
}

func (s *skipList) list() []Skip {
	out := make([]Skip, 0, len(s.order))
	for _, r := range s.order {
		out = append(out, *s.by[r])
	}
	return out
}

// truncate cuts an untrusted string to max bytes on a rune boundary.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && (s[max]&0xC0) == 0x80 {
		max--
	}
	return s[:max] + "..."
}
