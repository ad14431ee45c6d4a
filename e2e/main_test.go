//go:build e2e

package e2e

import (
	"os"
	"testing"
)

// testEnv is the control plane every test in the package shares; RunSuite sets it before any test
// runs and stops it after the last. Tests must not stop it or leave webhook configurations behind.
var testEnv *Env

func TestMain(m *testing.M) {
	os.Exit(RunSuite(m, func(e *Env) { testEnv = e }))
}
