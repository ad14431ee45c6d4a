// Command irsa-guard validates IAM Roles for Service Accounts before a pod ever starts:
// as an admission webhook (serve), and from the command line (lint, trust explain).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCommand()
	if filepath.Base(os.Args[0]) == pluginName {
		// Help and errors name the command the user typed.
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl irsa-guard"}
	}
	err := root.ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// pluginName is the file name kubectl runs for `kubectl irsa-guard`
// (https://kubernetes.io/docs/tasks/extend-kubectl/kubectl-plugins/: a dash in the command is an
// underscore in the name); make build links it to irsa-guard.
const pluginName = "kubectl-irsa_guard"

// exitError carries a process exit code through cobra. Commands return it for "ran fine, but
// the answer is no" (exit 1) and for bad input (exit 2) so scripts can branch on the code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports bad input: exit code 2 with a message that says what to fix.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// errFindings means the command ran and found errors (exit 1); the output already said which.
var errFindings = &exitError{code: 1, err: errors.New("")}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "irsa-guard:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "irsa-guard:", err)
	return 2
}
