package imagescan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Scan reads the image ref names (a tag, or a digest when it has one) through the registry API
// and reports the AWS SDKs in it. An error means the image could not be resolved (bad
// reference, no access, no such image or platform); once the image is resolved, trouble in
// one layer or a spent budget shows in the Report's Skipped list and Complete flag instead.
func Scan(ctx context.Context, ref string, opts Options) (Report, error) {
	opts = opts.withDefaults()
	sctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	img, rep, err := resolve(sctx, ref, opts)
	if err != nil {
		return Report{}, err
	}
	return scanImage(ctx, sctx, img, rep, opts)
}

// resolve fetches the image's manifest (for an index, the platform's) and its digest. The
// image reads its layers later with ctx, so ctx must carry the scan's time budget.
func resolve(ctx context.Context, ref string, opts Options) (v1.Image, Report, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, Report{}, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	ro := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(opts.Keychain), remote.WithPlatform(*opts.Platform)}
	if opts.Transport != nil {
		ro = append(ro, remote.WithTransport(opts.Transport))
	}
	img, err := remote.Image(r, ro...)
	if err != nil {
		return nil, Report{}, fmt.Errorf("read image %s: %w", r, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, Report{}, fmt.Errorf("digest of image %s: %w", r, err)
	}
	plat := opts.Platform.OS + "/" + opts.Platform.Architecture
	if cf, err := img.ConfigFile(); err == nil && cf.OS != "" {
		plat = cf.OS + "/" + cf.Architecture
	}
	return img, Report{Ref: ref, Digest: d.String(), Platform: plat}, nil
}

// scanImage walks the layers of a resolved image within the budgets of opts. ctx is the
// caller's: its end is an error. sctx adds the time budget: its end is a skip in the report.
func scanImage(ctx, sctx context.Context, img v1.Image, rep Report, opts Options) (Report, error) {
	start := time.Now()
	layers, err := img.Layers()
	if err != nil {
		return Report{}, fmt.Errorf("list layers of %s: %w", rep.Ref, err)
	}
	w := newWalker(opts)
	rep.Complete = true
	for i := len(layers) - 1; i >= 0; i-- {
		err := w.layer(sctx, layers[i])
		if err == nil {
			rep.Stats.Layers++
			continue
		}
		if ctx.Err() != nil {
			return Report{}, fmt.Errorf("scan image %s: %w", rep.Ref, ctx.Err())
		}
		rep.Complete = false
		w.skips.add(stopReason(err, opts), fmt.Sprintf("layers %d..1 of %d (top first) not fully read", i+1, len(layers)))
		break
	}
	rep.SDKs = w.found.finish()
	rep.Skipped = w.skips.list()
	rep.Stats.Entries, rep.Stats.Files, rep.Stats.Bytes = min(w.entries, opts.MaxEntries), w.files, w.read
	rep.Stats.Duration = time.Since(start)
	return rep, nil
}

// stopReason says which budget ended the walk.
func stopReason(err error, opts Options) string {
	switch {
	case errors.Is(err, errBudget):
		return fmt.Sprintf("byte budget of %d uncompressed bytes spent", opts.MaxBytes)
	case errors.Is(err, errEntries):
		return fmt.Sprintf("more than %d tar entries", opts.MaxEntries)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("time budget of %s spent", opts.Timeout)
	}
	return "scan stopped: " + truncate(err.Error(), 120)
}
