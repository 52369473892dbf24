package checks

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/servo-data/servo/internal/domain"
)

// Metrics counts stored check results. Each service has its own, so that
// services in one process (tests) do not share counts.
type Metrics struct {
	results *prometheus.CounterVec
}

func newMetrics() *Metrics {
	return &Metrics{results: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "servo_check_results_total",
		Help: "Data-quality check results stored, by outcome and severity.",
	}, []string{"outcome", "severity"})}
}

// Collectors returns what a Prometheus registry should collect.
func (m *Metrics) Collectors() []prometheus.Collector { return []prometheus.Collector{m.results} }

// observe counts stored results.
func (m *Metrics) observe(rs []domain.CheckResult) {
	for _, r := range rs {
		m.results.WithLabelValues(string(r.Outcome), string(r.Severity)).Inc()
	}
}
