package audit

import (
	"cmp"
	"errors"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// MaxNamespaceLabels bounds the resource_namespace label: the namespaces with the most failing
// subjects (then the most findings) keep their name, the rest are summed as OtherNamespaces.
const MaxNamespaceLabels = 50

// OtherNamespaces is the resource_namespace of everything beyond MaxNamespaceLabels. No namespace
// can be named so: namespace names are DNS labels, without underscores.
const OtherNamespaces = "_other"

// Metrics are the audit's Prometheus series. Only the leader exports findings and pass gauges; a
// replica that stops leading resets them. The namespace label is resource_namespace, because a
// scrape adds its own namespace label (irsa-guard's) to every series.
type Metrics struct {
	findings   *prometheus.GaugeVec
	subjects   *prometheus.GaugeVec
	lastPass   prometheus.Gauge
	duration   prometheus.Gauge
	outcome    *prometheus.GaugeVec
	passes     *prometheus.CounterVec
	backoffs   prometheus.Counter
	leader     prometheus.Gauge
	interval   prometheus.Gauge
	namespaces int
}

// NewMetrics registers the audit's series on reg (reusing those already there, for a restarted
// server in tests).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_findings",
			Help: "Findings of the last audit pass, by check ID, severity and the namespace of the object (the " +
				"top namespaces by name, the rest as _other). A finding about a ServiceAccount counts once however many of its pods share it.",
		}, []string{"check", "severity", "resource_namespace"}),
		subjects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_subjects",
			Help: "ServiceAccounts and pods the last audit pass reviewed, by kind and worst result (fail, error, warn, pass) and namespace.",
		}, []string{"kind", "result", "resource_namespace"}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_last_pass_timestamp_seconds",
			Help: "When the last audit pass finished (Unix time).",
		}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_last_pass_duration_seconds",
			Help: "How long the last audit pass took.",
		}),
		outcome: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_last_pass_outcome",
			Help: "1 for the outcome of the last audit pass (complete, partial: some subjects not verified against AWS, failed), 0 for the others.",
		}, []string{"outcome"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "irsa_guard_audit_passes_total",
			Help: "Audit passes by outcome.",
		}, []string{"outcome"}),
		backoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "irsa_guard_audit_backoffs_total",
			Help: "Audit passes cut short because AWS throttled the audit or timed out; the next pass waits longer.",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_leader",
			Help: "1 on the replica that runs the audit, 0 on the others.",
		}),
		interval: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "irsa_guard_audit_interval_seconds",
			Help: "The configured time between audit passes (for alerts on passes that stopped).",
		}),
		namespaces: MaxNamespaceLabels,
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.findings = register(reg, m.findings, &err)
	m.subjects = register(reg, m.subjects, &err)
	m.lastPass = register(reg, m.lastPass, &err)
	m.duration = register(reg, m.duration, &err)
	m.outcome = register(reg, m.outcome, &err)
	m.passes = register(reg, m.passes, &err)
	m.backoffs = register(reg, m.backoffs, &err)
	m.leader = register(reg, m.leader, &err)
	m.interval = register(reg, m.interval, &err)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector already there; other errors join *err.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, err *error) C {
	e := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(e, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	*err = errors.Join(*err, e)
	return c
}

// observe exports a finished pass and the subjects it left.
func (m *Metrics) observe(p Pass, subjects map[string]*Subject) {
	m.passes.WithLabelValues(string(p.Outcome)).Inc()
	if p.Throttled {
		m.backoffs.Inc()
	}
	for _, o := range []Outcome{OutcomeComplete, OutcomePartial, OutcomeFailed} {
		v := 0.0
		if o == p.Outcome {
			v = 1
		}
		m.outcome.WithLabelValues(string(o)).Set(v)
	}
	m.lastPass.Set(float64(p.Finished.UnixNano()) / 1e9)
	m.duration.Set(p.Finished.Sub(p.Started).Seconds())
	label := m.namespaceLabels(subjects)
	m.findings.Reset()
	m.subjects.Reset()
	seen := map[string]bool{}
	for _, s := range subjects {
		m.subjects.WithLabelValues(s.Kind, string(s.Result), label[s.Namespace]).Inc()
		for _, f := range s.Findings {
			if k := findingKey(f); !seen[k] {
				seen[k] = true
				m.findings.WithLabelValues(string(f.Check), string(f.Severity), label[s.Namespace]).Inc()
			}
		}
	}
}

// namespaceLabels maps every namespace with subjects to its label value: its name for the
// m.namespaces namespaces with the most failing subjects (then findings, then by name), else
// OtherNamespaces.
func (m *Metrics) namespaceLabels(subjects map[string]*Subject) map[string]string {
	type rank struct {
		ns             string
		failing, finds int
	}
	byNS := map[string]*rank{}
	for _, s := range subjects {
		r := byNS[s.Namespace]
		if r == nil {
			r = &rank{ns: s.Namespace}
			byNS[s.Namespace] = r
		}
		if s.Result == ResultFail {
			r.failing++
		}
		r.finds += len(s.Findings)
	}
	ranks := make([]*rank, 0, len(byNS))
	for _, r := range byNS {
		ranks = append(ranks, r)
	}
	slices.SortFunc(ranks, func(a, b *rank) int {
		return cmp.Or(cmp.Compare(b.failing, a.failing), cmp.Compare(b.finds, a.finds), cmp.Compare(a.ns, b.ns))
	})
	out := make(map[string]string, len(ranks))
	for i, r := range ranks {
		out[r.ns] = r.ns
		if i >= m.namespaces {
			out[r.ns] = OtherNamespaces
		}
	}
	return out
}

// setLeader exports whether this replica leads; a replica that stops leading drops the gauges of
// its last pass, so only the leader's are scraped.
func (m *Metrics) setLeader(leader bool) {
	if leader {
		m.leader.Set(1)
		return
	}
	m.leader.Set(0)
	m.findings.Reset()
	m.subjects.Reset()
	m.outcome.Reset()
	m.lastPass.Set(0)
	m.duration.Set(0)
}
