package awsfacts

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the adapter's Prometheus series. They live on a caller-supplied Registerer (the
// manager's registry in the webhook, a private one in tests), never on a global default.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	cache    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_guard_iam_requests_total",
			Help: "AWS lookups made by irsa-guard (IAM, STS, the OIDC issuer) by API and outcome (ok or the failure reason).",
		}, []string{"api", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "irsa_guard_iam_request_duration_seconds",
			Help:    "Latency of AWS lookups, including SDK retries and rate-limit waits.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"api"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_guard_cache_lookups_total",
			Help: "AWS facts cache lookups by cache and result (hit, miss, stale, negative).",
		}, []string{"cache", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	if m.cache, err = register(reg, m.cache); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or reuses the collector already there, so that two Verifiers on
// one registry (a restart in tests, lint and serve in one process) share their series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// observe records one finished AWS call.
func (m *metrics) observe(api string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = Classify(err).Label()
	}
	m.requests.WithLabelValues(api, outcome).Inc()
	m.duration.WithLabelValues(api).Observe(time.Since(start).Seconds())
}
