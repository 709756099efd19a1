package monitor

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// webhookReceiver is a real HTTP server receiving the generic JSON payload;
// while failing is set it answers 503.
type webhookReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []WebhookPayload
	failing  bool
	attempts int
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	w := &webhookReceiver{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.attempts++
		if w.failing {
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		w.got = append(w.got, p)
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookReceiver) setFailing(b bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failing = b
}

func (w *webhookReceiver) payloads() []WebhookPayload {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WebhookPayload(nil), w.got...)
}

// The whole loop against a real kube-apiserver (state), a Gate/Deck that
// answers 503 for a scripted 30 seconds, and a real webhook receiver, with a
// fake clock and windows scaled down 60× (1 s buckets, a 60 s / 5 s fast
// burn rule) so it runs in seconds:
//   - the page fires at the first failed round (1 bad of 60 rounds = 1.67%
//     > 14.4 × 0.1%), within the rule's 5 s short window;
//   - the receiver is down when it fires, and the monitor is killed right
//     after: the restarted monitor delivers the trigger (nothing lost);
//   - the monitor is killed and restarted again mid-outage: no second
//     trigger, no round lost;
//   - the page resolves when the short window holds no failure (5 s after the
//     last failed round) and the resolve carries the trigger's dedup key;
//   - the availability equals the scripted downtime to the second: 30 bad
//     one-second rounds.
func TestMonitorOutageAgainstRealAPIServer(t *testing.T) {
	cluster := testenv.SharedCluster(t)
	ns := cluster.Namespace(t)
	gate := newGateStandIn(t)
	rcv := newWebhookReceiver(t)
	const hookSecret = "/hooks/HOOKSECRET0123"
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	var logs bytes.Buffer
	store := &ConfigMapStore{Client: cluster.Clientset()}
	fastRule := Rule{Name: "fast", Severity: SeverityPage, BurnRate: 14.4, Long: time.Minute, Short: 5 * time.Second}
	newMonitor := func() (*Monitor, *prometheus.Registry) {
		reg := prometheus.NewRegistry()
		metrics, err := NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(Options{
			Installation: "tf-acc-test",
			Zones:        []Zone{{Name: "green", Namespace: ns, Tier: TierProduction, Endpoints: gate.endpoints()}},
			SLO:          0.999, Interval: time.Second, CheckTimeout: 900 * time.Millisecond, Bucket: time.Second,
			Windows:   []Window{{Name: "1m", Duration: time.Minute}, {Name: "10m", Duration: 10 * time.Minute}},
			Rules:     []Rule{fastRule},
			Store:     store,
			Notifiers: []Notifier{&Webhook{ID: "ops", URL: rcv.srv.URL + hookSecret, Retry: Retry{Attempts: 2, Backoff: time.Millisecond}}},
			Clock:     clk, Metrics: metrics,
			Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		if err != nil {
			t.Fatal(err)
		}
		return m, reg
	}
	m, reg := newMonitor()
	const outageFrom, outageTo, end = 60, 90, 160 // seconds after start
	var fired, resolved time.Duration = -1, -1
	for s := 0; s <= end; s++ {
		rel := time.Duration(s) * time.Second
		gate.down.Store(s >= outageFrom && s < outageTo)
		rcv.setFailing(s == outageFrom) // the receiver is down when the page fires
		err := m.Round(t.Context())
		switch {
		case s == outageFrom && err == nil:
			t.Fatal("the trigger could not be delivered, yet the round reported no error")
		case s != outageFrom && err != nil:
			t.Fatalf("round at +%s: %v", rel, err)
		}
		st, err := m.Status(t.Context(), "green")
		if err != nil {
			t.Fatal(err)
		}
		if a := st.Alerts["fast"]; a != nil {
			if a.Firing && fired < 0 {
				fired = rel
			}
			if !a.Firing && fired >= 0 && resolved < 0 {
				resolved = rel
			}
		}
		if s == outageFrom || s == outageFrom+15 {
			m, reg = newMonitor() // killed and restarted: nothing kept in memory
		}
		clk.Step(time.Second)
	}
	if want := outageFrom * time.Second; fired != want {
		t.Errorf("the page fired at +%s, want +%s (the first failed round)", fired, want)
	}
	if want := (outageTo + 4) * time.Second; resolved != want {
		t.Errorf("the page resolved at +%s, want +%s (5 s window clear of failures)", resolved, want)
	}

	got := rcv.payloads()
	if len(got) != 2 {
		t.Fatalf("the receiver got %d notifications, want one trigger and one resolve: %+v", len(got), got)
	}
	trig, res := got[0], got[1]
	if trig.Action != ActionTrigger || trig.Severity != SeverityPage || trig.Zone != "green" || trig.Rule != "fast" ||
		trig.LastFailure == nil || trig.LastFailure.Reason != "HTTP 503" {
		t.Errorf("trigger: %+v", trig)
	}
	// Delivered by the restarted monitor one round later.
	if want := start.Add((outageFrom + 1) * time.Second); !trig.At.Equal(want) {
		t.Errorf("trigger delivered at %s, want %s", trig.At, want)
	}
	if res.Action != ActionResolve || res.Status != "resolved" || res.DedupKey != trig.DedupKey || res.DedupKey != "spinops/tf-acc-test/green/fast" {
		t.Errorf("resolve: %+v (trigger key %s)", res, trig.DedupKey)
	}
	if want := start.Add((outageTo + 4) * time.Second); !res.At.Equal(want) {
		t.Errorf("resolve sent at %s, want %s", res.At, want)
	}

	// Availability equals the scripted downtime to the second.
	st, err := m.Status(t.Context(), "green")
	if err != nil {
		t.Fatal(err)
	}
	c := st.Counts["10m"]
	if c.Bad != outageTo-outageFrom || c.Total() != end+1 {
		t.Fatalf("10m window: %+v, want %d bad of %d rounds", c, outageTo-outageFrom, end+1)
	}
	wantAvail := float64(end+1-(outageTo-outageFrom)) / float64(end+1)
	if st.Availability["10m"] != wantAvail {
		t.Errorf("availability %v, want %v", st.Availability["10m"], wantAvail)
	}
	if st.Alerts["fast"].Firing {
		t.Error("alert still firing")
	}
	if st.LastFailure == nil || st.LastFailure.At != start.Add((outageTo-1)*time.Second) {
		t.Errorf("last failure %+v", st.LastFailure)
	}

	// Prometheus figures of the last monitor.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.GetGauge() != nil:
				found[key] = mt.GetGauge().GetValue()
			case mt.GetCounter() != nil:
				found[key] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				found[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"spinops_slo_availability_ratio,window=10m,zone=green": wantAvail,
		"spinops_slo_availability_ratio,window=1m,zone=green":  1,
		"spinops_error_budget_remaining_ratio,zone=green":      ErrorBudgetRemaining(Counts{Good: 131, Bad: 30}, 0.999),
		// The last monitor started after the round at +75 s: it counted
		// the bad rounds +76..+89.
		"spinops_check_rounds_total,outcome=bad,tier=production,zone=green":      14,
		"spinops_check_rounds_total,outcome=excluded,tier=production,zone=green": 0,
		"spinops_check_success,check=gate-health,zone=green":                     1,
		"spinops_alert_firing,rule=fast,severity=page,zone=green":                0,
		"spinops_check_duration_seconds,check=gate-credentials,zone=green":       float64(end - outageFrom - 15),
	} {
		if got, ok := found[key]; !ok || got != want {
			t.Errorf("%s = %v (present %t), want %v", key, got, ok, want)
		}
	}

	// The state ConfigMap is in the zone's namespace and holds no secret.
	cm, err := cluster.Clientset().CoreV1().ConfigMaps(ns).Get(t.Context(), "spinops-monitor-green", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cm)
	for _, secret := range []string{gate.password, "HOOKSECRET0123"} {
		if strings.Contains(string(raw), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("secret %q in the ConfigMap or the logs", secret)
		}
	}
	if cm.Labels[LabelManagedBy] != "spinops-monitor" {
		t.Errorf("labels %v", cm.Labels)
	}
	t.Logf("state ConfigMap: %d bytes of ring", len(cm.Data[keyRing]))
}

// Two monitors writing the same zone (a rolling update overlapping the old
// pod) lose no round: every write is a read-modify-write on resourceVersion.
func TestConfigMapStoreConcurrentWritersLoseNothing(t *testing.T) {
	cluster := testenv.SharedCluster(t)
	ns := cluster.Namespace(t)
	store := &ConfigMapStore{Client: cluster.Clientset()}
	ref := ZoneRef{Name: "red", Namespace: ns}
	shape := RingShape{Width: time.Second, Len: 600}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				at := start2.Add(time.Duration(i) * time.Second)
				if _, err := store.Update(t.Context(), ref, shape, func(st *ZoneState) error {
					st.Ring.Add(at, Counts{Good: int64(w + 1)})
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	st, err := store.Load(t.Context(), ref)
	if err != nil || st == nil {
		t.Fatalf("load: %v", err)
	}
	if got := st.Ring.Sum(start2.Add(9*time.Second), time.Minute); got.Good != 10*(1+2+3+4) {
		t.Fatalf("sum %+v, want %d good", got, 10*(1+2+3+4))
	}
	// A state recorded with another bucket is refused with what to do.
	_, err = store.Update(t.Context(), ref, RingShape{Width: time.Minute, Len: 600}, func(*ZoneState) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "delete the ConfigMap") {
		t.Fatalf("shape change: %v", err)
	}
}

var start2 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// TestRecordedMaintenanceExcludesRounds: a maintenance window written into
// a zone's state by another writer (spinops_zone around an upgrade, with
// ConfigMapStore.Update and SetMaintenance) excludes the rounds inside it,
// through the real ConfigMap: an outage during it is no bad round and no
// alert; the same outage after it ended counts.
func TestRecordedMaintenanceExcludesRounds(t *testing.T) {
	cluster := testenv.SharedCluster(t)
	ns := cluster.Namespace(t)
	gate := newGateStandIn(t)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	store := &ConfigMapStore{Client: cluster.Clientset()}
	o := Options{Installation: "tf-acc-test", Zones: []Zone{{Name: "green", Namespace: ns, Tier: TierProduction, Endpoints: gate.endpoints()}},
		Interval: time.Second, CheckTimeout: 900 * time.Millisecond, Bucket: time.Second, Store: store, Clock: clk,
		Windows: []Window{{Name: "1m", Duration: time.Minute}},
		Rules:   []Rule{{Name: "fast", Severity: SeverityPage, BurnRate: 14.4, Long: time.Minute, Short: 5 * time.Second}}}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	// The upgrade's window, as the zone resource writes it: bounded by its
	// timeout at start, shortened when it ends.
	upgrade := RecordedMaintenance{ID: "upgrade-1.36.1", Start: start.Add(10 * time.Second), End: start.Add(time.Hour), Reason: "upgrade 1.35.3 → 1.36.1"}
	if _, err := store.Update(t.Context(), ZoneRef{Name: "green", Namespace: ns}, o.Shape(), func(st *ZoneState) error {
		st.SetMaintenance(upgrade, start)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	counts := func() Counts {
		st, err := store.Load(t.Context(), ZoneRef{Name: "green", Namespace: ns})
		if err != nil {
			t.Fatal(err)
		}
		return st.Ring.Sum(clk.Now(), time.Hour)
	}
	for s := 0; s < 40; s++ {
		if s == 20 {
			upgrade.End = clk.Now() // the upgrade finished
			// As the zone resource writes it: the zero shape keeps the
			// monitor's ring (1 s buckets here, not the default).
			if _, err := store.Update(t.Context(), ZoneRef{Name: "green", Namespace: ns}, RingShape{}, func(st *ZoneState) error {
				st.SetMaintenance(upgrade, clk.Now())
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		gate.down.Store(s >= 12 && s < 25) // down during the upgrade, and 5 s past its end
		if err := m.Round(t.Context()); err != nil {
			t.Fatal(err)
		}
		clk.Step(time.Second)
	}
	c := counts()
	if c.Excluded != 10 || c.Bad != 5 || c.Good != 25 {
		t.Fatalf("rounds: %+v; want 10 excluded (the upgrade's window, 10 s to 20 s), 5 bad (down after it ended), 25 good", c)
	}
}
