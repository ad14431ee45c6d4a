package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// KubectlResult is what one kubectl run printed and how it exited. Warnings from admission webhooks
// arrive on Stderr as "Warning: ..." lines, which is how users see irsa-guard in warn mode.
type KubectlResult struct {
	Stdout   string
	Stderr   string
	ExitCode int
	// Err is set when kubectl could not be run at all (ExitCode is then -1); a non-zero exit is not an Err.
	Err error
}

// String summarises the run for test failure messages.
func (r KubectlResult) String() string {
	return fmt.Sprintf("exit %d, err %v\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.Err, r.Stdout, r.Stderr)
}

// Kubectl runs the real kubectl against the control plane with args, e.g. Kubectl(ctx, "get", "sa", "-o", "name").
func (e *Env) Kubectl(ctx context.Context, args ...string) KubectlResult {
	return e.KubectlWithInput(ctx, nil, args...)
}

// KubectlWithInput runs kubectl with input on stdin, for `apply -f -` of manifests rendered in memory
// (for example `helm template` output applied with --dry-run=server, which calls admission webhooks).
func (e *Env) KubectlWithInput(ctx context.Context, input []byte, args ...string) KubectlResult {
	full := append([]string{"--kubeconfig=" + e.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(e.AssetsDir, "kubectl"), full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if input != nil {
		cmd.Stdin = bytes.NewReader(input)
	}
	err := cmd.Run()
	res := KubectlResult{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		res.ExitCode = exitErr.ExitCode()
	default:
		res.ExitCode = -1
		res.Err = fmt.Errorf("run kubectl %s: %w", strings.Join(args, " "), err)
	}
	return res
}
