//go:build e2e

package e2e

import (
	"testing"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// injectorOptions is how the suite's pod-identity-webhook runs: the real one built from
// ../shared/third_party when it is there (or as IRSA_GUARD_PIW_SOURCE and IRSA_GUARD_PIW say), the
// stand-in otherwise, with a log line saying which and why.
func injectorOptions(t *testing.T, w *world) testenv.PodIdentityWebhookOptions {
	return testenv.PodIdentityWebhookOptions{Root: w.root, Dir: t.TempDir(), Logf: t.Logf}
}
