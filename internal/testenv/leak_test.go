package testenv

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine they started is still running at the end:
// servers, clients, caches and watchers must stop with their test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
