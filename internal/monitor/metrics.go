package monitor

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the monitor's Prometheus figures, registered on the caller's
// registry.
type Metrics struct {
	rounds        *prometheus.CounterVec
	checkSuccess  *prometheus.GaugeVec
	checkDuration *prometheus.HistogramVec
	availability  *prometheus.GaugeVec
	budget        *prometheus.GaugeVec
	alert         *prometheus.GaugeVec
	notifyErrors  *prometheus.CounterVec
	roundErrors   *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spinops_check_rounds_total",
			Help: "Check rounds by outcome: good, bad, or excluded (inside a maintenance window). The PrometheusRule computes burn rates from it."}, []string{"zone", "tier", "outcome"}),
		checkSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "spinops_check_success",
			Help: "1 when the zone's last synthetic check passed, 0 when it failed."}, []string{"zone", "check"}),
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "spinops_check_duration_seconds",
			Help:    "Latency of the synthetic checks.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"zone", "check"}),
		availability: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "spinops_slo_availability_ratio",
			Help: "Good check rounds / all check rounds over the rolling window, maintenance windows excluded."}, []string{"zone", "window"}),
		budget: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "spinops_error_budget_remaining_ratio",
			Help: "Fraction of the SLO window's error budget not yet spent (negative when overspent)."}, []string{"zone"}),
		alert: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "spinops_alert_firing",
			Help: "1 while the burn-rate alert fires."}, []string{"zone", "rule", "severity"}),
		notifyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spinops_notification_failures_total",
			Help: "Notifications a notifier failed to deliver after its retries (retried next round)."}, []string{"notifier"}),
		roundErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spinops_monitor_round_errors_total",
			Help: "Check rounds that could not be recorded (state store errors)."}, []string{"zone"}),
	}
	for _, c := range []prometheus.Collector{m.rounds, m.checkSuccess, m.checkDuration, m.availability, m.budget, m.alert, m.notifyErrors, m.roundErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
