package monitor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// transition is an alert starting or stopping.
type transition struct {
	Rule     string
	Firing   bool
	At       time.Duration // after the outage start W
	Severity Severity
}

func (tr transition) String() string {
	verb := "resolved"
	if tr.Firing {
		verb = "fires"
	}
	return fmt.Sprintf("%s %s (%s) at W+%s", tr.Rule, verb, tr.Severity, tr.At)
}

// scenario drives ZoneState.Record exactly as a monitor round does: a round
// every 30 s from t0, one day of healthy warm-up, then the outage starting at
// W = t0+24h.
type scenario struct {
	tier        Tier
	outage      [2]time.Duration // [from, to) after W: rounds fail
	maintenance [2]time.Duration // [from, to) after W: rounds excluded
	// restartAt: the state goes through its ConfigMap encoding (a restart),
	// and no round runs during down (a monitor that was dead).
	restartAt, down time.Duration
	until           time.Duration
	// onRound, when set, sees every round recorded and its counts;
	// onRestart the restart (TestPrometheusRule_engine exports the rounds
	// as the monitor process does).
	onRound   func(now time.Time, c Counts)
	onRestart func()
}

func (s scenario) run(t *testing.T) ([]transition, *ZoneState) {
	t.Helper()
	const interval = 30 * time.Second
	o := Options{Store: &ConfigMapStore{}, Zones: []Zone{{Name: "green", Namespace: "ns", Tier: s.tier}}}
	if err := o.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	shape := o.Shape()
	st := &ZoneState{Ring: NewRing(shape.Width, shape.Len)}
	w := t0.Add(24 * time.Hour)
	var got []transition
	restarted := false
	for now := t0; !now.After(w.Add(s.until)); now = now.Add(interval) {
		rel := now.Sub(w)
		if s.restartAt != 0 && rel >= s.restartAt && rel < s.restartAt+s.down {
			continue
		}
		if s.restartAt != 0 && rel >= s.restartAt && !restarted {
			restarted = true
			if s.onRestart != nil {
				s.onRestart()
			}
			cm := &corev1.ConfigMap{}
			if err := encodeState(st, cm); err != nil {
				t.Fatal(err)
			}
			var err error
			if st, err = decodeState(ZoneRef{Name: "green", Namespace: "ns"}, cm); err != nil {
				t.Fatal(err)
			}
		}
		c := Counts{Good: 1}
		switch {
		case rel >= s.maintenance[0] && rel < s.maintenance[1]:
			c = Counts{Excluded: 1}
		case rel >= s.outage[0] && rel < s.outage[1]:
			c = Counts{Bad: 1}
		}
		before := map[string]bool{}
		for name, a := range st.Alerts {
			before[name] = a.Firing
		}
		st.Record(now, c, nil, o.Rules, o.SLO, s.tier)
		if s.onRound != nil {
			s.onRound(now, c)
		}
		for _, r := range o.Rules {
			a := st.Alerts[r.Name]
			if a.Firing != before[r.Name] {
				got = append(got, transition{Rule: r.Name, Firing: a.Firing, At: rel, Severity: a.Severity})
			}
		}
	}
	return got, st
}

// scriptedOutage is a scenario and the alerts the monitor raises for it.
type scriptedOutage struct {
	name string
	s    scenario
	want []transition
}

const (
	fast   = "burn-rate-1h"
	slow   = "burn-rate-6h"
	ticket = "burn-rate-3d"
)

// Expected times, worked out by hand for SLO 99.9% (so the thresholds are
// error ratios above 1.44%, 0.6% and 0.1%), 30-second rounds and one-minute
// buckets, after a day of healthy rounds (2880):
//   - 1h/5m ×14.4: at W one bad round of 119 in the hour (0.84%); at W+30s
//     2/120 = 1.67% and 2/10 in 5 min: fires. It resolves when the five
//     one-minute buckets of the short window hold no failure: the last bad
//     round is W+9m30s (bucket 9), so at W+14m.
//   - 6h/30m ×6: bad/all over 360 buckets is 1/719, 2/720, 3/719, 4/720,
//     then 5/719 = 0.695% at W+2m: fires. Resolves when bucket 9 leaves the
//     30-minute window: W+39m.
//   - 3d/6h ×1: 2880 good rounds then 1/2881, 2/2882, 3/2883 = 0.104% at
//     W+1m: fires. Resolves when bucket 9 leaves the 6 h window: W+6h09m.
func scriptedOutages() []scriptedOutage {
	m := time.Minute
	tenMinutes := [2]time.Duration{0, 10 * m}
	workbook := []transition{
		{fast, true, 30 * time.Second, SeverityPage},
		{ticket, true, m, SeverityTicket},
		{slow, true, 2 * m, SeverityPage},
		{fast, false, 14 * m, SeverityPage},
		{slow, false, 39 * m, SeverityPage},
		{ticket, false, 6*time.Hour + 9*m, SeverityTicket},
	}
	return []scriptedOutage{
		{"ten-minute outage of the production zone", scenario{tier: TierProduction, outage: tenMinutes, until: 7 * time.Hour}, workbook},
		{"the same outage in a sandbox zone only opens tickets", scenario{tier: TierSandbox, outage: tenMinutes, until: 7 * time.Hour}, []transition{
			{fast, true, 30 * time.Second, SeverityTicket},
			{ticket, true, m, SeverityTicket},
			{slow, true, 2 * m, SeverityTicket},
			{fast, false, 14 * m, SeverityTicket},
			{slow, false, 39 * m, SeverityTicket},
			{ticket, false, 6*time.Hour + 9*m, SeverityTicket},
		}},
		{"an outage inside a maintenance window alerts nobody", scenario{tier: TierProduction, outage: tenMinutes, maintenance: [2]time.Duration{-m, 11 * m}, until: 7 * time.Hour}, nil},
		// Maintenance covers the first 5 minutes, so the counted outage is
		// W+5m..W+10m. At W+5m the hour holds 108 good rounds (54 buckets;
		// buckets 0-4 were excluded) and 1 bad: 0.92%; at W+5m30s 2/110 =
		// 1.8%: the fast page fires. The 6h rule needs 5 bad of ~719 as
		// before: W+7m. The ticket: 3 bad of ~2873: W+6m. Resolutions are as
		// without maintenance: the last bad round is still in bucket 9.
		{"maintenance over the first half of the outage", scenario{tier: TierProduction, outage: tenMinutes, maintenance: [2]time.Duration{0, 5 * m}, until: 7 * time.Hour}, []transition{
			{fast, true, 5*m + 30*time.Second, SeverityPage},
			{ticket, true, 6 * m, SeverityTicket},
			{slow, true, 7 * m, SeverityPage},
			{fast, false, 14 * m, SeverityPage},
			{slow, false, 39 * m, SeverityPage},
			{ticket, false, 6*time.Hour + 9*m, SeverityTicket},
		}},
		// A restart at W+5m (state through its ConfigMap encoding) changes
		// nothing: no alert fires again, none is forgotten.
		{"restart mid-outage", scenario{tier: TierProduction, outage: tenMinutes, restartAt: 5 * m, until: 7 * time.Hour}, workbook},
		// The monitor dead for two minutes mid-outage (W+5m..W+7m): four bad
		// rounds are never taken, the rest is unchanged because the alerts
		// were already firing and the last bad round is still in bucket 9.
		{"monitor down two minutes mid-outage", scenario{tier: TierProduction, outage: tenMinutes, restartAt: 5 * m, down: 2 * m, until: 7 * time.Hour}, workbook},
		// One bad round alerts nobody: 1/119 = 0.84% over the hour, 1/719
		// over 6 h, 1/2881 = 0.035% over 3 days.
		{"a single failed round", scenario{tier: TierProduction, outage: [2]time.Duration{0, 30 * time.Second}, until: 2 * time.Hour}, nil},
		// Two failed rounds in a row page (2/120 = 1.67% > 1.44%) and open
		// no 6h page (2/720 = 0.28%) nor the ticket (2/2882 = 0.069%).
		{"two failed rounds page", scenario{tier: TierProduction, outage: [2]time.Duration{0, m}, until: 2 * time.Hour}, []transition{
			{fast, true, 30 * time.Second, SeverityPage},
			{fast, false, 5 * m, SeverityPage},
		}},
	}
}

// TestBurnRateRulesScriptedOutages runs the scripted outages through the
// monitor's own rule evaluation (ZoneState.Record).
func TestBurnRateRulesScriptedOutages(t *testing.T) {
	for _, tc := range scriptedOutages() {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := tc.s.run(t)
			if !slices.Equal(got, tc.want) {
				t.Errorf("transitions:\n got  %v\n want %v", got, tc.want)
			}
		})
	}
}

// Availability and budget of the scripted ten-minute outage: 20 bad rounds.
func TestAvailabilityOfScriptedOutage(t *testing.T) {
	_, st := scenario{tier: TierProduction, outage: [2]time.Duration{0, 10 * time.Minute}, until: 50 * time.Minute}.run(t)
	now := t0.Add(24*time.Hour + 50*time.Minute)
	hour := st.Ring.Sum(now, time.Hour)
	// The hour is the 60 one-minute buckets up to W+50m's: buckets -9..50,
	// the last holding only the W+50m round: 119 rounds, 20 bad.
	if hour != (Counts{Good: 99, Bad: 20}) {
		t.Fatalf("last hour: %+v, want 99 good and 20 bad", hour)
	}
	if a, _ := Availability(hour); a != 99.0/119 {
		t.Errorf("1h availability %v", a)
	}
	month := st.Ring.Sum(now, 30*24*time.Hour)
	if month.Total() != 2880+101 || month.Bad != 20 {
		t.Fatalf("30d window: %+v", month)
	}
	// 20 bad of 2981 rounds = 0.671% against a 0.1% budget: overspent 6.7×.
	want := 1 - (20.0/2981)/0.001
	if got := ErrorBudgetRemaining(month, 0.999); fmt.Sprintf("%.9f", got) != fmt.Sprintf("%.9f", want) {
		t.Errorf("budget remaining %v, want %v", got, want)
	}
	if got := ErrorBudgetRemaining(Counts{}, 0.999); got != 1 {
		t.Errorf("budget with no data %v, want 1", got)
	}
}

func TestRuleValidation(t *testing.T) {
	for _, r := range []Rule{
		{Severity: SeverityPage, BurnRate: 1, Long: 2, Short: 1},
		{Name: "x", Severity: "sms", BurnRate: 1, Long: 2, Short: 1},
		{Name: "x", Severity: SeverityPage, BurnRate: 0, Long: 2, Short: 1},
		{Name: "x", Severity: SeverityPage, BurnRate: 1, Long: 1, Short: 1},
	} {
		if r.Validate() == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	for _, r := range WorkbookRules() {
		if err := r.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestOptionsSayWhatIsWrong(t *testing.T) {
	zone := func(gate string) []Zone {
		return []Zone{{Name: "green", Namespace: "ns", Tier: TierProduction, Endpoints: Endpoints{GateURL: gate}}}
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Zones: zone("")}, "a state store is required"},
		{Options{Store: &ConfigMapStore{}}, "no zone to monitor"},
		{Options{Store: &ConfigMapStore{}, Zones: zone(""), SLO: 99.9}, "slo must be between 0 and 1"},
		{Options{Store: &ConfigMapStore{}, Zones: zone(""), Interval: time.Second, CheckTimeout: 2 * time.Second}, "must be shorter than the interval"},
		{Options{Store: &ConfigMapStore{}, Zones: []Zone{{Name: "Green", Namespace: "ns", Tier: TierProduction}}}, "lowercase"},
		{Options{Store: &ConfigMapStore{}, Zones: []Zone{{Name: "green", Namespace: "ns", Tier: "prod"}}}, `tier "prod"`},
		{Options{Store: &ConfigMapStore{}, Zones: []Zone{{Name: "green", Tier: TierProduction}}}, "namespace is required"},
		{Options{Store: &ConfigMapStore{}, Zones: zone("https://u:SECRETPW@gate.example.com")}, "must not carry user info"},
		{Options{Store: &ConfigMapStore{}, Zones: zone("https://gate.example.com/?t=SECRETPW")}, "must not carry a query"},
		{Options{Store: &ConfigMapStore{}, Zones: zone("gate.example.com")}, "must start with http"},
		{Options{Store: &ConfigMapStore{}, Zones: zone(""), Windows: []Window{{Name: "90s", Duration: 90 * time.Second}}}, "multiple of the bucket"},
		{Options{Store: &ConfigMapStore{}, Zones: zone(""), Maintenance: []MaintenanceWindow{{Zone: "blue", Start: t0, End: t0.Add(time.Hour)}}}, `zone "blue", which is not monitored`},
		{Options{Store: &ConfigMapStore{}, Zones: zone(""), Maintenance: []MaintenanceWindow{{Start: t0, End: t0}}}, "ends before it starts"},
	} {
		err := tc.o.CheckAndSetDefaults()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error with %q", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRETPW") {
			t.Errorf("the error repeats a credential: %v", err)
		}
	}
}

// TestErrorBudgetIsExact: the budget is 1-slo as written, not the float64
// subtraction's 0.0010000000000000009: a wholly failed window spends it
// exactly 1000 times over.
func TestErrorBudgetIsExact(t *testing.T) {
	for slo, want := range map[float64]float64{0.999: -999, 0.99: -99, 0.9995: -1999, 0.9: -9} {
		if got := ErrorBudgetRemaining(Counts{Bad: 1}, slo); got != want {
			t.Errorf("SLO %v, every round failed: budget remaining %v, want %v", slo, got, want)
		}
	}
	if got := BurnRate(Counts{Good: 999, Bad: 1}, 0.999); got != 1 {
		t.Errorf("one failure in 1000 at 99.9%%: burn rate %v, want 1", got)
	}
}
