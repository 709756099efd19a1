package monitor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// promSide is Prometheus watching the monitor: it scrapes the monitor's
// registry (spinops_check_rounds_total, created and counted by the
// monitor's own Metrics) into a real TSDB and evaluates the rendered
// PrometheusRule with Prometheus's PromQL engine, the recording group and
// then the alerting group at every evaluation, each recorded sample stored
// back under the rule's name as Prometheus's rule manager does
// (rules/recording.go); an alerting rule without "for" fires for every
// element its expr returns (rules/alerting.go). Only the loop that calls
// the engine is ours; storage, rate(), lookback and staleness are Prometheus's.
type promSide struct {
	t       *testing.T
	db      *tsdb.DB
	engine  *promql.Engine
	reg     *prometheus.Registry
	metrics *Metrics
	zone    Zone
	records []map[string]any
	alerts  []map[string]any
	firing  map[string]string // rule name → severity, while it fires
	got     []transition
}

// scrapeDelay and evalDelay place the scrape a moment after the round and
// the rule evaluation after the scrape, as with a 30 s scrape and
// evaluation interval that are not aligned with the monitor's rounds.
const scrapeDelay, evalDelay = 5 * time.Second, 20 * time.Second

func newPromSide(t *testing.T, tier Tier, rule map[string]any) *promSide {
	t.Helper()
	opts := tsdb.DefaultOptions()
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	if err != nil {
		t.Fatalf("opening the TSDB: %v", err)
	}
	db.DisableCompactions()
	t.Cleanup(func() { _ = db.Close() })
	p := &promSide{
		t: t, db: db, zone: Zone{Name: "green", Namespace: "ns", Tier: tier},
		engine: promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute}),
		firing: map[string]string{},
	}
	groups := rule["spec"].(map[string]any)["groups"].([]any)
	for _, r := range groups[0].(map[string]any)["rules"].([]any) {
		p.records = append(p.records, r.(map[string]any))
	}
	for _, r := range groups[1].(map[string]any)["rules"].([]any) {
		p.alerts = append(p.alerts, r.(map[string]any))
	}
	p.start()
	return p
}

// start is the monitor process starting: a new registry whose round
// counters New creates at 0.
func (p *promSide) start() {
	p.reg = prometheus.NewRegistry()
	m, err := NewMetrics(p.reg)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := New(Options{Store: &ConfigMapStore{}, Metrics: m, Zones: []Zone{p.zone}}); err != nil {
		p.t.Fatal(err)
	}
	p.metrics = m
}

// round counts a round as roundZone does and scrapes the registry.
func (p *promSide) round(now time.Time, c Counts) {
	p.metrics.rounds.WithLabelValues(p.zone.Name, string(p.zone.Tier), c.outcome()).Inc()
	families, err := p.reg.Gather()
	if err != nil {
		p.t.Fatal(err)
	}
	app := p.db.Appender(context.Background())
	ts := now.Add(scrapeDelay).UnixMilli()
	for _, f := range families {
		if f.GetName() != "spinops_check_rounds_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			b := labels.NewBuilder(labels.FromStrings(model.MetricNameLabel, f.GetName(), "job", "spinops-monitor", "instance", "10.0.0.7:9090"))
			for _, l := range m.GetLabel() {
				b.Set(l.GetName(), l.GetValue())
			}
			if _, err := app.Append(0, b.Labels(), ts, m.GetCounter().GetValue()); err != nil {
				p.t.Fatalf("appending a scraped sample: %v", err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *promSide) query(expr string, at time.Time) promql.Vector {
	q, err := p.engine.NewInstantQuery(context.Background(), p.db, nil, expr, at)
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// evaluate runs both rule groups at now and notes alert transitions.
func (p *promSide) evaluate(now, w time.Time) {
	app := p.db.Appender(context.Background())
	for _, r := range p.records {
		for _, s := range p.query(r["expr"].(string), now) {
			lset := labels.NewBuilder(s.Metric).Set(model.MetricNameLabel, r["record"].(string)).Labels()
			if _, err := app.Append(0, lset, now.UnixMilli(), s.F); err != nil {
				p.t.Fatalf("storing %s: %v", lset, err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		p.t.Fatal(err)
	}
	firing := map[string]string{}
	for _, a := range p.alerts {
		ls := a["labels"].(map[string]any)
		if len(p.query(a["expr"].(string), now)) > 0 {
			firing[ls["rule"].(string)] = ls["severity"].(string)
		}
	}
	for _, r := range WorkbookRules() {
		was, is := p.firing[r.Name], firing[r.Name]
		if (was != "") != (is != "") {
			sev := is
			if is == "" {
				sev = was
			}
			p.got = append(p.got, transition{Rule: r.Name, Firing: is != "", At: now.Sub(w), Severity: Severity(sev)})
		}
	}
	p.firing = firing
}

// promTransitions runs a scripted outage through the monitor and through
// Prometheus evaluating rule (a rendered PrometheusRule object) and returns
// both lists of alert transitions.
func promTransitions(t *testing.T, rule map[string]any, tc scriptedOutage) (prom, monitor []transition) {
	t.Helper()
	p := newPromSide(t, tc.s.tier, rule)
	w := t0.Add(24 * time.Hour)
	s := tc.s
	s.onRestart = p.start
	// Prometheus evaluates every 30 s from ten minutes before the outage,
	// whether the monitor runs or not, in time order with the scrapes (the
	// TSDB's head takes no samples far older than its newest).
	next := w.Add(-10 * time.Minute).Add(evalDelay)
	evalUntil := func(t time.Time) {
		for ; next.Before(t); next = next.Add(30 * time.Second) {
			p.evaluate(next, w)
		}
	}
	s.onRound = func(now time.Time, c Counts) {
		evalUntil(now.Add(scrapeDelay))
		p.round(now, c)
	}
	monitor, _ = s.run(t)
	if !slices.Equal(monitor, tc.want) {
		t.Fatalf("the monitor's own transitions changed: %v", monitor)
	}
	evalUntil(w.Add(s.until))
	for _, tr := range p.got {
		tr.At -= evalDelay // the evaluation after the round at tr.At
		prom = append(prom, tr)
	}
	return prom, monitor
}

// sameAlerts says how Prometheus's transitions differ from the monitor's,
// and the largest difference in time.
func sameAlerts(prom, monitor []transition, tolerance time.Duration) (time.Duration, error) {
	if len(prom) != len(monitor) {
		return 0, fmt.Errorf("Prometheus's transitions differ from the monitor's:\n prometheus %v\n monitor    %v", prom, monitor)
	}
	var worst time.Duration
	for i := range prom {
		a, b := prom[i], monitor[i]
		d := (a.At - b.At).Abs()
		if a.Rule != b.Rule || a.Firing != b.Firing || a.Severity != b.Severity || d > tolerance {
			return 0, fmt.Errorf("transition %d: Prometheus %v, the monitor %v (tolerance %s)\n prometheus %v\n monitor    %v", i, a, b, tolerance, prom, monitor)
		}
		worst = max(worst, d)
	}
	return worst, nil
}

// TestPrometheusRule_engine runs the scripted outages of
// TestBurnRateRulesScriptedOutages a second time, as a team alerting with
// Prometheus would see them: the rounds counted into the monitor's
// spinops_check_rounds_total, scraped every 30 s, the rendered
// PrometheusRule evaluated every 30 s by Prometheus's engine. The same
// alerts must fire and resolve, with the same severities, in the same
// order, within one evaluation interval of the monitor's own alerts (the
// monitor sums one-minute buckets, Prometheus's rate() the increase between
// the first and last sample inside its window; on these outages they agree
// to the round, the log prints the largest difference). A monitor restart
// resets the counters (rate() handles the reset), a monitor down for two
// minutes leaves a gap in the samples. Then it shows the comparison fails
// for rendering bugs that the CRD's schema and Prometheus's parser both
// accept.
func TestPrometheusRule_engine(t *testing.T) {
	u, err := RenderPrometheusRule(PrometheusRuleOptions{Name: "spinops-slo", Namespace: "monitoring"})
	if err != nil {
		t.Fatal(err)
	}
	const tolerance = 30 * time.Second
	var worst time.Duration
	for _, tc := range scriptedOutages() {
		t.Run(tc.name, func(t *testing.T) {
			prom, monitor := promTransitions(t, u.Object, tc)
			d, err := sameAlerts(prom, monitor, tolerance)
			if err != nil {
				t.Fatal(err)
			}
			worst = max(worst, d)
		})
	}
	t.Logf("largest difference between Prometheus's and the monitor's alert times: %s", worst)

	t.Run("detects", func(t *testing.T) {
		outages := scriptedOutages()
		tenMinutes, inMaintenance := outages[0], outages[2]
		alerts := func(u *unstructured.Unstructured) []any {
			return u.Object["spec"].(map[string]any)["groups"].([]any)[1].(map[string]any)["rules"].([]any)
		}
		for _, bug := range []struct {
			name   string
			outage scriptedOutage
			render func() *unstructured.Unstructured
		}{
			{"thresholds of another SLO", tenMinutes, func() *unstructured.Unstructured {
				u, err := RenderPrometheusRule(PrometheusRuleOptions{Name: "x", Namespace: "monitoring", SLO: 0.99})
				if err != nil {
					t.Fatal(err)
				}
				return u
			}},
			{"either window instead of both", tenMinutes, func() *unstructured.Unstructured {
				u := u.DeepCopy()
				for _, a := range alerts(u) {
					a := a.(map[string]any)
					a["expr"] = strings.Replace(a["expr"].(string), " and ", " or ", 1)
				}
				return u
			}},
			{"rounds in a maintenance window counted as bad", inMaintenance, func() *unstructured.Unstructured {
				u := u.DeepCopy()
				for _, r := range u.Object["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)["rules"].([]any) {
					r := r.(map[string]any)
					r["expr"] = strings.ReplaceAll(r["expr"].(string), `outcome="bad"`, `outcome=~"bad|excluded"`)
					r["expr"] = strings.ReplaceAll(r["expr"].(string), `outcome=~"good|bad"`, `outcome=~"good|bad|excluded"`)
				}
				return u
			}},
		} {
			t.Run(bug.name, func(t *testing.T) {
				b := bug.render()
				if errs := admissionCheck(t, b); len(errs) > 0 {
					t.Fatalf("the parser refuses this one already: %v", errs)
				}
				prom, monitor := promTransitions(t, b.Object, bug.outage)
				if _, err := sameAlerts(prom, monitor, tolerance); err == nil {
					t.Fatalf("the comparison did not see the bug: %v", prom)
				}
			})
		}
	})
}
