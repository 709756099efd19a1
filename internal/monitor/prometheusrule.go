package monitor

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PrometheusRuleOptions name the PrometheusRule object.
type PrometheusRuleOptions struct {
	Name      string
	Namespace string
	// Labels are the object's labels: a Prometheus's ruleSelector usually
	// selects on one (e.g. release=kube-prometheus-stack).
	Labels map[string]string
	SLO    float64
	// Rules default to WorkbookRules.
	Rules []Rule
}

// RecordName is the recording rule of the error ratio over a window.
func RecordName(w time.Duration) string {
	return "spinops:check_round_error_ratio:rate" + PromDuration(w)
}

// PromDuration writes d as Prometheus does (1h, 5m, 3d, 90s).
func PromDuration(d time.Duration) string {
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.unit
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// budgetRatio is 1-slo without float noise (0.001, not 0.0010000000000000009).
func budgetRatio(slo float64) string {
	return strconv.FormatFloat(errorBudget(slo), 'g', -1, 64)
}

// RenderPrometheusRule renders the same burn-rate rules for teams that alert
// with Prometheus and Alertmanager: recording rules of the error ratio of
// the monitor's spinops_check_rounds_total per zone and tier over every
// window the rules use, and one alert per rule and tier (production pages
// where the rule pages, sandbox only opens tickets), as the SRE workbook
// writes them (expr: long window > factor×(1-SLO) and short window >
// factor×(1-SLO), no "for").
//
// The object is monitoring.coreos.com/v1 PrometheusRule (prometheus-operator).
func RenderPrometheusRule(o PrometheusRuleOptions) (*unstructured.Unstructured, error) {
	if o.SLO == 0 {
		o.SLO = 0.999
	}
	if o.Rules == nil {
		o.Rules = WorkbookRules()
	}
	if o.SLO <= 0 || o.SLO >= 1 {
		return nil, fmt.Errorf("slo must be between 0 and 1 exclusive, got %v", o.SLO)
	}
	if o.Name == "" || o.Namespace == "" {
		return nil, fmt.Errorf("the PrometheusRule needs a name and a namespace")
	}
	var windows []time.Duration
	for _, r := range o.Rules {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		windows = append(windows, r.Long, r.Short)
	}
	slices.Sort(windows)
	windows = slices.Compact(windows)
	var records []any
	for _, w := range windows {
		d := PromDuration(w)
		records = append(records, map[string]any{
			"record": RecordName(w),
			"expr":   fmt.Sprintf(`sum by (zone, tier) (rate(spinops_check_rounds_total{outcome="bad"}[%s])) / sum by (zone, tier) (rate(spinops_check_rounds_total{outcome=~"good|bad"}[%s]))`, d, d),
		})
	}
	var alerts []any
	budget := budgetRatio(o.SLO)
	for _, r := range o.Rules {
		for _, tier := range []Tier{TierProduction, TierSandbox} {
			sev := SeverityFor(r, tier)
			threshold := fmt.Sprintf("(%s * %s)", strconv.FormatFloat(r.BurnRate, 'g', -1, 64), budget)
			alerts = append(alerts, map[string]any{
				"alert": "SpinnakerErrorBudgetBurn",
				"expr": fmt.Sprintf(`%s{tier=%q} > %s and %s{tier=%q} > %s`,
					RecordName(r.Long), string(tier), threshold, RecordName(r.Short), string(tier), threshold),
				"labels": map[string]any{"severity": string(sev), "rule": r.Name, "slo": strconv.FormatFloat(o.SLO, 'g', -1, 64)},
				"annotations": map[string]any{
					"summary": fmt.Sprintf("Spinnaker zone {{ $labels.zone }} (%s) burns its error budget faster than %g× over %s and %s", tier, r.BurnRate, PromDuration(r.Long), PromDuration(r.Short)),
					"description": fmt.Sprintf("The error ratio of the synthetic checks of zone {{ $labels.zone }} is above %g× the %s budget of a %g%% SLO over both %s and %s (%s).",
						r.BurnRate, budget, o.SLO*100, PromDuration(r.Long), PromDuration(r.Short), r.Name),
				},
			})
		}
	}
	labels := map[string]any{LabelManagedBy: managedBy}
	for k, v := range o.Labels {
		labels[k] = v
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata":   map[string]any{"name": o.Name, "namespace": o.Namespace, "labels": labels},
		"spec": map[string]any{"groups": []any{
			map[string]any{"name": "spinops-slo-recording", "rules": records},
			map[string]any{"name": "spinops-slo-alerts", "rules": alerts},
		}},
	}}
	return u, nil
}
