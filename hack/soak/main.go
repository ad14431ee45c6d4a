// Command soak is `make soak`: a bounded soak of `irsa-guard serve`. It starts the control plane
// hack/controlplane.sh built, a fake AWS and irsa-guard as the Helm chart deploys it (testenv), then
// offers AdmissionReviews straight to the webhook port at a fixed rate for a fixed time (open loop:
// a request is due at its time whether or not earlier ones were answered). The mix is ServiceAccounts
// and Pods, good and broken, in a warn and an enforce namespace, over more roles than fit the cache's
// lifetime, so IAM is asked all along; every minute IAM misbehaves for 15 s (throttling, latency
// beyond the budget, resets, 5xx, malformed XML, HTML). Every 10 s it samples the server process's
// resident memory and open files (/proc) and goroutines (its /metrics), and the latency of the
// requests answered in that interval. It writes an SVG plot and prints a table; docs/performance.md
// records a full run. Not part of `make test`.
//
//	go run ./hack/soak [-duration 10m] [-rate 500] [-svg docs/soak.svg]   (SOAK_DURATION, SOAK_RATE too)
//
// With -scale 100,10000 (`make scale`) it measures instead a real serve process holding that many
// ServiceAccounts with distinct roles, warm: resident memory and review latency per size. Knobs:
// SCALE_MEMORY_LIMIT=256 runs serve in a memory cgroup of that many MiB, as the chart's limit does
// (needs root; `make scale` sets it); SCALE_NO_PIW=1 leaves pod-identity-webhook unconfigured, so
// every ServiceAccount is broken (IRSA050), the audit's worst case; SCALE_SETTLE=1 reads memory
// again after 150 s idle; SCALE_VALUES appends chart values (e.g. "audit:\n  enabled: false").
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// soakValues are the chart values on top of ci/e2e-values.yaml: the chart's defaults for what the API
// server would do (failurePolicy Ignore), a one-minute positive TTL so roles are fetched again all the
// time, and IAM's client-side rate raised so the soak measures irsa-guard rather than the limiter.
const soakValues = `webhook:
  failurePolicy: Ignore
config:
  shutdownDelay: 0s
  cache:
    positiveTTL: 1m
  iam:
    qps: 50
    burst: 100
`

type options struct {
	duration, interval time.Duration
	rate               int
	svg                string
	scale              string
}

func main() {
	var o options
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	fs.DurationVar(&o.duration, "duration", envDuration("SOAK_DURATION", 10*time.Minute), "how long to offer load (SOAK_DURATION)")
	fs.IntVar(&o.rate, "rate", envInt("SOAK_RATE", 500), "AdmissionReviews offered per second (SOAK_RATE)")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "sampling interval")
	fs.StringVar(&o.svg, "svg", "docs/soak.svg", "where to write the plot")
	fs.StringVar(&o.scale, "scale", "", "measure serve at these ServiceAccount counts instead of soaking, e.g. 100,10000")
	// testenv.Run's watchdog is this binary run again with -test.run; its flags are not ours.
	if len(os.Args) < 2 || !strings.HasPrefix(os.Args[1], "-test.") {
		_ = fs.Parse(os.Args[1:])
	}
	logf.SetLogger(logr.Discard())
	os.Exit(testenv.Run(func(env *testenv.Env) int {
		if err := run(env, o); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 1
		}
		return 0
	}))
}

func run(env *testenv.Env, o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+5*time.Minute)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Println("soak: building irsa-guard and starting the control plane, fake AWS and irsa-guard")
	bin, err := testenv.BuildIRSAGuard(ctx, root, dir)
	if err != nil {
		return err
	}
	if o.scale != "" {
		var sizes []int
		for f := range strings.SplitSeq(o.scale, ",") {
			var n int
			if _, err := fmt.Sscan(f, &n); err != nil || n <= 0 {
				return fmt.Errorf("-scale %q: give ServiceAccount counts, e.g. 100,10000", o.scale)
			}
			sizes = append(sizes, n)
		}
		_, err := runScale(ctx, env, root, dir, bin, sizes)
		return err
	}
	w := newWorld()
	aws, err := testenv.StartFakeAWS(w.stateYAML(), dir)
	if err != nil {
		return err
	}
	defer aws.Close()
	guard, err := testenv.StartIRSAGuard(ctx, env, testenv.IRSAGuardOptions{Root: root, Binary: bin, Values: soakValues, AWS: aws, Dir: dir})
	if err != nil {
		return err
	}
	defer guard.Stop()
	if err := w.createObjects(ctx, env); err != nil {
		return err
	}
	fmt.Printf("soak: %s at %d reviews/s offered, sampled every %s; IAM faults 15 s of every minute\n", o.duration, o.rate, o.interval)
	samples, err := soak(ctx, w, aws.Server, guard, o)
	if err != nil {
		return fmt.Errorf("%w; irsa-guard log:\n%s", err, guard.LogTail(20))
	}
	if exited, werr := guard.Exited(); exited {
		return fmt.Errorf("irsa-guard exited during the soak (%w); log:\n%s", werr, guard.LogTail(20))
	}
	printTable(os.Stdout, samples, o)
	if err := os.MkdirAll(filepath.Dir(o.svg), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.svg, plotSVG(samples, o), 0o644); err != nil { //nolint:gosec // a plot for the docs
		return err
	}
	fmt.Println("soak: wrote", o.svg)
	return nil
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(strings.TrimSpace(os.Getenv(key))); err == nil && d > 0 {
		return d
	}
	return def
}

func envInt(key string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(key), &n); err == nil && n > 0 {
		return n
	}
	return def
}
