//go:build e2e

package e2e

import (
	"os"
	"testing"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// testEnv is the control plane every test in the package shares; RunSuite sets it before any test
// runs and stops it after the last. Tests must not stop it or leave webhook configurations behind.
var testEnv *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.RunSuite(m, func(e *testenv.Env) { testEnv = e }))
}
