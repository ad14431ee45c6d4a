package server

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/irsa-guard/irsa-guard/webhook"
)

// decisionMetrics counts admission decisions and their findings. Labels are bounded: the kind of
// object, the outcome, and the check ID and severity from the catalog.
type decisionMetrics struct {
	decisions *prometheus.CounterVec
	findings  *prometheus.CounterVec
}

func newDecisionMetrics(reg prometheus.Registerer) *decisionMetrics {
	m := &decisionMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_guard_admission_decisions_total",
			Help: "Admission decisions by object kind and outcome (allowed, warned, denied).",
		}, []string{"kind", "outcome"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_guard_admission_findings_total",
			Help: "Findings reported at admission, by object kind, check ID and severity.",
		}, []string{"kind", "check", "severity"}),
	}
	m.decisions = register(reg, m.decisions)
	m.findings = register(reg, m.findings)
	return m
}

// register adds c to reg, or reuses the collector already there (a restarted server in tests).
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing
		}
	}
	return c
}

func (m *decisionMetrics) observe(kind string, d webhook.Decision) {
	outcome := "allowed"
	switch {
	case !d.Allowed:
		outcome = "denied"
	case len(d.Reported) > 0:
		outcome = "warned"
	}
	m.decisions.WithLabelValues(kind, outcome).Inc()
	for _, f := range d.Reported {
		m.findings.WithLabelValues(kind, string(f.Check), string(f.Severity)).Inc()
	}
}
