package testenv

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// RunSuite is the body of the e2e package's TestMain: it starts one control plane for the whole
// package, hands it to use, runs the tests and stops it, all inside Run.
func RunSuite(m *testing.M, use func(*Env)) int {
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	return Run(func(e *Env) int {
		use(e)
		return m.Run()
	})
}

// Run starts a control plane, calls body with it and stops it, returning body's exit code. Around
// that it makes sure no etcd, kube-apiserver or irsa-guard outlives the run:
//   - orphans of earlier runs whose process died are reaped first;
//   - a watchdog child reaps this run's processes if this process is killed (SIGKILL, go test -timeout);
//   - SIGINT and SIGTERM stop the control plane before exiting.
//
// Every temporary directory of the run (etcd data, API server and webhook certs, t.TempDir()) lives
// under one run directory that the same paths remove. Call Run first thing in main (TestMain or the
// demo's main): the watchdog is this same binary re-executed, and Run is where it branches off.
// Run leaves controller-runtime's logger to the caller (RunSuite logs to stderr).
func Run(body func(*Env) int) int {
	if token := os.Getenv(watchdogEnv); token != "" {
		return runWatchdog(token) // this process is the watchdog child, not a test run
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "e2e:", ErrNoAssets)
		return 1
	}
	if n := sweepOrphans(); n > 0 {
		fmt.Fprintf(os.Stderr, "e2e: stopped %d control-plane processes left by an earlier run that was killed\n", n)
	}
	token, err := ownerToken(os.Getpid())
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: identify this test process for the watchdog: %v\n", err)
		return 1
	}
	wd, err := startWatchdog(token)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	runDir := filepath.Join(os.TempDir(), runDirPrefix+token)
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: create the run directory: %v\n", err)
		return 1
	}
	// Inherited by etcd, kube-apiserver and anything the tests spawn: the watchdog's and the sweep's mark.
	_ = os.Setenv(ownerEnv, token)
	_ = os.Setenv("TMPDIR", runDir)

	var (
		mu  sync.Mutex
		env *Env
	)
	stop := func() {
		mu.Lock()
		defer mu.Unlock()
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
		}
		env = nil
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping the control plane\n", sig)
		stop()
		// Exit without telling the watchdog "done": it removes the run directory and anything the
		// interrupted tests had started.
		os.Exit(1)
	}()

	started, err := Start(assets)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		wd.abandon() // a half-started control plane is the watchdog's to reap
		return 1
	}
	mu.Lock()
	env = started
	mu.Unlock()

	code := body(started)
	signal.Stop(signals)
	stop()
	if err := os.RemoveAll(runDir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: remove %s: %v\n", runDir, err)
	}
	wd.release()
	return code
}
