package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/fakeaws"
	"github.com/irsa-guard/irsa-guard/internal/testenv"
)

// faultCycle is what IAM does in the 15 s window of each minute, in turn.
var faultCycle = []struct {
	name  string
	fault awsstate.Fault
}{
	{"Throttling", awsstate.Fault{Error: "Throttling"}},
	{"latency 3s", awsstate.Fault{Latency: 3 * time.Second}},
	{"connection reset", awsstate.Fault{Reset: true}},
	{"503", awsstate.Fault{Error: "ServiceUnavailable"}},
	{"malformed XML", awsstate.Fault{Malformed: true}},
	{"text/html", awsstate.Fault{WrongContentType: true}},
	{"500", awsstate.Fault{Error: "ServiceFailure"}},
	{"dropped", awsstate.Fault{Drop: true}},
}

// sample is one interval: the server process's state at its end and the requests answered in it.
type sample struct {
	at                  time.Duration // since the start of the load
	rssMiB              float64
	goroutines, fds     int
	sent, answered      int
	errors, denied      int
	p50, p99, max       time.Duration
	fault               string // the fault in force during (part of) the interval, if any
	couldNotVerifyShare float64
}

// stats collects the answers of one interval.
type stats struct {
	mu                                   sync.Mutex
	lat                                  []time.Duration
	sent, errors, denied, couldNotVerify int
	lastErr                              string
}

func (s *stats) take() (lat []time.Duration, sent, errs, denied, cnv int, lastErr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat, sent, errs, denied, cnv, lastErr = s.lat, s.sent, s.errors, s.denied, s.couldNotVerify, s.lastErr
	s.lat, s.sent, s.errors, s.denied, s.couldNotVerify, s.lastErr = nil, 0, 0, 0, 0, ""
	return lat, sent, errs, denied, cnv, lastErr
}

// soak offers the requests at o.rate for o.duration, injecting faults and sampling every o.interval.
func soak(ctx context.Context, w *world, fake *fakeaws.Server, g *testenv.IRSAGuard, o options) ([]sample, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // loopback load generator
		MaxIdleConnsPerHost: 512, ForceAttemptHTTP2: false,
	}}
	defer client.CloseIdleConnections()
	st := &stats{}
	// active is the fault in force; seen is what the next sample reports: any fault in force at
	// some time during its interval.
	var faultMu sync.Mutex
	active, seen := "", ""
	start := time.Now()
	loadCtx, stop := context.WithTimeout(ctx, o.duration)
	defer stop()

	var wg sync.WaitGroup
	wg.Go(func() { // IAM faults: 15 s of every minute, starting 30 s in
		for i := 0; ; i++ {
			select {
			case <-loadCtx.Done():
				_ = fake.SetFaults()
				return
			case <-time.After(time.Until(start.Add(time.Duration(i)*time.Minute + 30*time.Second))):
			}
			f := faultCycle[i%len(faultCycle)]
			_ = fake.SetFaults(f.fault)
			faultMu.Lock()
			active, seen = f.name, f.name
			faultMu.Unlock()
			select {
			case <-loadCtx.Done():
			case <-time.After(15 * time.Second):
			}
			_ = fake.SetFaults()
			faultMu.Lock()
			active = ""
			faultMu.Unlock()
		}
	})

	sem := make(chan struct{}, 4096)
	wg.Go(func() { // open loop: request i is due at start + i/rate
		interval := time.Second / time.Duration(o.rate)
		for i := 0; loadCtx.Err() == nil; i++ {
			due := start.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			select {
			case sem <- struct{}{}:
			default:
				// more than 4096 in flight: the client cannot keep up, counted as errors
				st.mu.Lock()
				st.sent++
				st.errors++
				st.mu.Unlock()
				continue
			}
			r := w.requests[i%len(w.requests)]
			wg.Go(func() {
				defer func() { <-sem }()
				send(client, g.WebhookAddr, r, due, st)
			})
		}
	})

	var samples []sample
	ticker := time.NewTicker(o.interval)
	defer ticker.Stop()
	for loadCtx.Err() == nil {
		select {
		case <-loadCtx.Done():
		case <-ticker.C:
		}
		faultMu.Lock()
		faultSeen := seen
		seen = active
		faultMu.Unlock()
		lat, sent, errs, denied, cnv, lastErr := st.take()
		s := sample{at: time.Since(start).Round(time.Second), sent: sent, answered: len(lat), errors: errs, denied: denied, fault: faultSeen}
		if len(lat) > 0 {
			slices.Sort(lat)
			s.p50, s.p99, s.max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
			s.couldNotVerifyShare = float64(cnv) / float64(len(lat))
		}
		s.rssMiB, s.fds = procStatus(g.PID())
		s.goroutines = goroutines(ctx, g)
		samples = append(samples, s)
		fmt.Printf("  %4ds  sent %5d answered %5d errors %3d  p50 %6.1fms p99 %7.1fms max %7.1fms  RSS %5.1f MiB  goroutines %4d  fds %3d  %s%s\n",
			int(s.at.Seconds()), s.sent, s.answered, s.errors, ms(s.p50), ms(s.p99), ms(s.max), s.rssMiB, s.goroutines, s.fds, s.fault,
			map[bool]string{true: "  last error: " + lastErr}[lastErr != ""])
		if exited, err := g.Exited(); exited {
			return samples, fmt.Errorf("irsa-guard exited after %s: %w", s.at, err)
		}
	}
	wg.Wait()
	return samples, nil
}

// send posts one review and records its latency from when it was due.
func send(client *http.Client, addr string, r request, due time.Time, st *stats) {
	resp, err := client.Post("https://"+addr+r.path, "application/json", bytes.NewReader(r.body))
	var out admissionv1.AdmissionReview
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&out)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if err == nil && (resp.StatusCode != http.StatusOK || out.Response == nil) {
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
	}
	took := time.Since(due)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sent++
	if err != nil {
		st.errors++
		st.lastErr = err.Error()
		return
	}
	st.lat = append(st.lat, took)
	if !out.Response.Allowed {
		st.denied++
	}
	for _, w := range out.Response.Warnings {
		if strings.HasPrefix(w, "IRSA090: could not verify") || strings.HasPrefix(w, "IRSA090: AWS checks did not finish") {
			st.couldNotVerify++
			break
		}
	}
}

// procStatus is the process's resident memory (VmRSS) and its number of open files.
func procStatus(pid int) (rssMiB float64, fds int) {
	if f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				rssMiB = kb / 1024
			}
		}
		_ = f.Close()
	}
	if entries, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd"); err == nil {
		fds = len(entries)
	}
	return rssMiB, fds
}

// statusMiB is one "kB" field of /proc/PID/status (e.g. "RssFile:") in MiB; 0 when it cannot be read.
func statusMiB(pid int, field string) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// goroutines reads go_goroutines from the metrics port, as the chart's metrics reader (it is
// HTTPS behind TokenReview and SubjectAccessReview); -1 when it cannot be read.
func goroutines(ctx context.Context, g *testenv.IRSAGuard) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	status, body, err := g.MetricsGet(ctx, "/metrics")
	if err != nil || status != http.StatusOK {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return -1
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
