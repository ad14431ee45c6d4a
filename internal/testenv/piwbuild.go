package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// PIWSourceEnv names an amazon-eks-pod-identity-webhook source tree to build instead of the default
// location, ../shared/third_party/amazon-eks-pod-identity-webhook beside the repository root.
const PIWSourceEnv = "IRSA_GUARD_PIW_SOURCE"

// piwBinaryName is the binary's name inside its cache directory.
const piwBinaryName = "pod-identity-webhook"

// ErrPIWSourceMissing means the real pod-identity-webhook's source is not where it is looked for (a
// plain clone has no ../shared): callers may fall back to the stand-in, and must say so.
var ErrPIWSourceMissing = errors.New("the amazon-eks-pod-identity-webhook source is not available")

// PIWSource returns the real webhook's source directory for the repository at root: $IRSA_GUARD_PIW_SOURCE
// if set, else root/../shared/third_party/amazon-eks-pod-identity-webhook. A default location without
// go.mod wraps ErrPIWSourceMissing; a directory the variable names must exist, since someone asked for it.
func PIWSource(root string) (string, error) {
	if dir := os.Getenv(PIWSourceEnv); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			return "", fmt.Errorf("%s=%s: not a Go module: %w", PIWSourceEnv, dir, err)
		}
		return filepath.Abs(dir)
	}
	dir, err := filepath.Abs(filepath.Join(root, "..", "shared", "third_party", "amazon-eks-pod-identity-webhook"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("%w: %s has no go.mod (set %s to use a copy elsewhere)", ErrPIWSourceMissing, dir, PIWSourceEnv)
	}
	return dir, nil
}

// BuildPodIdentityWebhook builds the real webhook from the source PIWSource finds into
// root/.cache/piw/<hash>/pod-identity-webhook and returns the binary's path. The hash covers every
// source file and the Go toolchain, so an unchanged source is never rebuilt (about 60 s cold on two
// cores, nothing warm). Concurrent builders (two suites, the demo) wait on one lock. The source tree is
// only read: the module's dependencies come from the module proxy like any other.
func BuildPodIdentityWebhook(ctx context.Context, root string) (string, error) {
	src, err := PIWSource(root)
	if err != nil {
		return "", err
	}
	goVersion, err := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOOS", "GOARCH").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	hash, err := sourceHash(src, string(goVersion))
	if err != nil {
		return "", fmt.Errorf("hash the pod-identity-webhook source in %s: %w", src, err)
	}
	cache := filepath.Join(root, ".cache", "piw")
	bin := filepath.Join(cache, hash, piwBinaryName)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(cache, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // built by whoever held the lock
	}
	tmp, err := os.MkdirTemp(cache, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(tmp, piwBinaryName), ".")
	cmd.Dir = src
	// GOWORK=off: a go.work above the source must not pull it into another workspace; -buildvcs=false:
	// the tree is a snapshot, not a checkout.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build pod-identity-webhook from %s: %w\n%s", src, err, out)
	}
	if err := os.Rename(tmp, filepath.Join(cache, hash)); err != nil {
		return "", fmt.Errorf("publish the pod-identity-webhook build: %w", err)
	}
	return bin, nil
}

// sourceHash is a short SHA-256 of salt and every regular file under dir (relative path and content),
// in WalkDir's lexical order.
func sourceHash(dir, salt string) (string, error) {
	h := sha256.New()
	_, _ = io.WriteString(h, salt)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "\x00%s\x00", filepath.ToSlash(rel))
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel the wait.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for the lock %s held by another build: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// repoRoot is the nearest directory above the working directory that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}
