package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Zone is one Spinnaker zone the monitor checks.
type Zone struct {
	Name      string
	Namespace string
	Tier      Tier
	Endpoints Endpoints
	// Checks, when set, replace Options.Checks for this zone.
	Checks []Check
	// Store, when set, replaces Options.Store for this zone (a zone on its
	// own cluster keeps its state there).
	Store Store
}

// MaintenanceWindow excludes the rounds in [Start, End) from the SLI of one
// zone (or of every zone when Zone is empty), as the managed service's SLA
// excludes announced maintenance.
type MaintenanceWindow struct {
	Zone  string
	Start time.Time
	End   time.Time
}

func (w MaintenanceWindow) covers(zone string, t time.Time) bool {
	return (w.Zone == "" || w.Zone == zone) && !t.Before(w.Start) && t.Before(w.End)
}

// Options configure a Monitor. CheckAndSetDefaults fills and checks them.
type Options struct {
	Installation string
	Zones        []Zone
	// SLO is the availability objective, 0.999 for 99.9%.
	SLO          float64
	Interval     time.Duration
	CheckTimeout time.Duration
	// Bucket is the SLI ring's resolution; every window and rule duration
	// must be a multiple of it.
	Bucket      time.Duration
	Windows     []Window
	Rules       []Rule
	Maintenance []MaintenanceWindow
	Checks      []Check
	Store       Store
	Notifiers   []Notifier
	Clock       clock.WithTicker
	Metrics     *Metrics
	Log         *slog.Logger
}

var zoneNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)

// maxStateBytes keeps a zone's ConfigMap well under Kubernetes' 1 MiB limit.
const maxStateBytes = 900 << 10

// CheckAndSetDefaults fills the defaults (SLO 99.9%, every 30 s, checks time
// out after 10 s, 1-minute buckets, the 1h/6h/1d/30d windows, the workbook
// rules, the default checks, the real clock) and says what is wrong.
func (o *Options) CheckAndSetDefaults() error {
	if o.SLO == 0 {
		o.SLO = 0.999
	}
	if o.Interval == 0 {
		o.Interval = 30 * time.Second
	}
	if o.CheckTimeout == 0 {
		o.CheckTimeout = 10 * time.Second
	}
	if o.Bucket == 0 {
		o.Bucket = time.Minute
	}
	if o.Windows == nil {
		o.Windows = DefaultWindows()
	}
	if o.Rules == nil {
		o.Rules = WorkbookRules()
	}
	if o.Checks == nil {
		o.Checks = DefaultChecks()
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if o.SLO <= 0 || o.SLO >= 1 {
		errs = append(errs, fmt.Errorf("slo must be between 0 and 1 exclusive (0.999 for 99.9%%), got %v", o.SLO))
	}
	if o.Interval <= 0 || o.CheckTimeout <= 0 || o.Bucket <= 0 {
		errs = append(errs, errors.New("interval, check timeout and bucket must be positive"))
	} else if o.CheckTimeout >= o.Interval {
		errs = append(errs, fmt.Errorf("the check timeout (%s) must be shorter than the interval (%s)", o.CheckTimeout, o.Interval))
	}
	for _, c := range o.Checks {
		if c.Timeout > 0 && o.Interval > 0 && c.Timeout >= o.Interval {
			errs = append(errs, fmt.Errorf("check %s: its timeout (%s) must be shorter than the interval (%s)", c.Name, c.Timeout, o.Interval))
		}
	}
	if o.Store == nil && slices.ContainsFunc(o.Zones, func(z Zone) bool { return z.Store == nil }) {
		errs = append(errs, errors.New("a state store is required"))
	}
	if len(o.Zones) == 0 {
		errs = append(errs, errors.New("no zone to monitor: name at least one"))
	}
	seen := map[string]bool{}
	for _, z := range o.Zones {
		switch {
		case !zoneNameRE.MatchString(z.Name):
			errs = append(errs, fmt.Errorf("zone name %q must be lowercase letters, digits and '-' (it names a ConfigMap)", z.Name))
		case seen[z.Name]:
			errs = append(errs, fmt.Errorf("zone %q is named twice", z.Name))
		case z.Namespace == "":
			errs = append(errs, fmt.Errorf("zone %s: namespace is required (its state ConfigMap lives there)", z.Name))
		case z.Tier != TierProduction && z.Tier != TierSandbox:
			errs = append(errs, fmt.Errorf("zone %s: tier %q is neither %q nor %q", z.Name, z.Tier, TierProduction, TierSandbox))
		}
		for what, u := range map[string]string{"gate_url": z.Endpoints.GateURL, "deck_url": z.Endpoints.DeckURL} {
			if err := checkBaseURL(u); err != nil {
				errs = append(errs, fmt.Errorf("zone %s: %s %w", z.Name, what, err))
			}
		}
		seen[z.Name] = true
	}
	for _, w := range o.Maintenance {
		if w.Zone != "" && !seen[w.Zone] {
			errs = append(errs, fmt.Errorf("maintenance window names zone %q, which is not monitored", w.Zone))
		}
		if !w.End.After(w.Start) {
			errs = append(errs, fmt.Errorf("maintenance window %s–%s ends before it starts", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)))
		}
	}
	var longest time.Duration
	check := func(what string, d time.Duration) {
		if o.Bucket > 0 && (d <= 0 || d%o.Bucket != 0) {
			errs = append(errs, fmt.Errorf("%s (%s) must be a positive multiple of the bucket (%s)", what, d, o.Bucket))
		}
		longest = max(longest, d)
	}
	for _, w := range o.Windows {
		check("window "+w.Name, w.Duration)
	}
	for _, r := range o.Rules {
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
		}
		check("rule "+r.Name+"'s long window", r.Long)
		check("rule "+r.Name+"'s short window", r.Short)
	}
	if len(errs) == 0 {
		n := int(longest / o.Bucket)
		perBucket := int64((o.Bucket + o.Interval - 1) / o.Interval)
		if size := WorstCaseEncodedSize(n, perBucket); size > maxStateBytes {
			errs = append(errs, fmt.Errorf("%d buckets of %s (the longest window %s) could need %d bytes of state, more than a ConfigMap holds: use a coarser bucket", n, o.Bucket, longest, size))
		}
	}
	return errors.Join(errs...)
}

// checkBaseURL says what is wrong with a Gate or Deck base URL, without
// repeating the URL (it might hold a credential).
func checkBaseURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must start with http:// or https://")
	case u.Host == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not carry user info: give the Gate credentials as gate_auth (files or environment)")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("must not carry a query or fragment: it is the base the check paths are appended to")
	}
	return nil
}

// Shape is the ring every zone's state uses.
func (o *Options) Shape() RingShape {
	var longest time.Duration
	for _, w := range o.Windows {
		longest = max(longest, w.Duration)
	}
	for _, r := range o.Rules {
		longest = max(longest, r.Long)
	}
	return RingShape{Width: o.Bucket, Len: int(longest / o.Bucket)}
}

// DefaultShape is the ring of a monitor with the default bucket, windows
// and rules.
func DefaultShape() RingShape {
	o := Options{Bucket: time.Minute, Windows: DefaultWindows(), Rules: WorkbookRules()}
	return o.Shape()
}

// Monitor runs the checks and keeps the SLI, the alerts and the metrics.
type Monitor struct {
	o Options
}

// New checks the options and returns a monitor.
func New(o Options) (*Monitor, error) {
	if err := o.CheckAndSetDefaults(); err != nil {
		return nil, fmt.Errorf("configuring the monitor: %w", err)
	}
	if o.Metrics != nil {
		// The round counters exist from the start, at 0, so rate() over them
		// is 0 rather than absent before the first failure.
		for _, z := range o.Zones {
			for _, outcome := range []string{"good", "bad", "excluded"} {
				o.Metrics.rounds.WithLabelValues(z.Name, string(z.Tier), outcome)
			}
		}
	}
	return &Monitor{o: o}, nil
}

// Run runs a round now and then every interval until ctx ends; a round that
// fails is logged and counted, never fatal.
func (m *Monitor) Run(ctx context.Context) error {
	t := m.o.Clock.NewTicker(m.o.Interval)
	defer t.Stop()
	for {
		if err := m.Round(ctx); err != nil && ctx.Err() == nil {
			m.o.Log.Error("check round", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
	}
}

// Round checks every zone once, records the round, evaluates the rules and
// delivers due notifications.
func (m *Monitor) Round(ctx context.Context) error {
	now := m.o.Clock.Now()
	errs := make([]error, len(m.o.Zones))
	var wg sync.WaitGroup
	for i, z := range m.o.Zones {
		wg.Go(func() { errs[i] = m.roundZone(ctx, z, now) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (m *Monitor) runChecks(ctx context.Context, z Zone) []Result {
	checks := m.o.Checks
	if z.Checks != nil {
		checks = z.Checks
	}
	res := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { res[i] = c.Run(ctx, &z.Endpoints, m.o.CheckTimeout) })
	}
	wg.Wait()
	return res
}

func (m *Monitor) inMaintenance(zone string, t time.Time) bool {
	for _, w := range m.o.Maintenance {
		if w.covers(zone, t) {
			return true
		}
	}
	return false
}

func (m *Monitor) store(z Zone) Store {
	if z.Store != nil {
		return z.Store
	}
	return m.o.Store
}

func (m *Monitor) ref(z Zone) ZoneRef { return ZoneRef{Name: z.Name, Namespace: z.Namespace} }

func (m *Monitor) roundZone(ctx context.Context, z Zone, now time.Time) error {
	results := m.runChecks(ctx, z)
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the round is not recorded
	}
	var failed *Failure
	for _, r := range results {
		if m.o.Metrics != nil {
			m.o.Metrics.checkDuration.WithLabelValues(z.Name, r.Check).Observe(r.Latency.Seconds())
			v := 0.0
			if r.OK {
				v = 1
			}
			m.o.Metrics.checkSuccess.WithLabelValues(z.Name, r.Check).Set(v)
		}
		if !r.OK && failed == nil {
			failed = &Failure{At: now, Check: r.Check, Reason: r.Reason}
		}
	}
	var c Counts
	st, err := m.store(z).Update(ctx, m.ref(z), m.o.Shape(), func(st *ZoneState) error {
		// The windows of the configuration, and those recorded in the
		// zone's state (upgrades counted as maintenance).
		c = Counts{}
		switch {
		case m.inMaintenance(z.Name, now) || st.InMaintenance(now):
			c.Excluded = 1
		case failed != nil:
			c.Bad = 1
		default:
			c.Good = 1
		}
		st.Record(now, c, failed, m.o.Rules, m.o.SLO, z.Tier)
		return nil
	})
	if err == nil {
		if m.o.Metrics != nil {
			m.o.Metrics.rounds.WithLabelValues(z.Name, string(z.Tier), c.outcome()).Inc()
		}
		m.o.Log.Debug("check round", "zone", z.Name, "good", c.Good, "bad", c.Bad, "excluded", c.Excluded)
		if failed != nil {
			m.o.Log.Info("check failed", "zone", z.Name, "check", failed.Check, "reason", failed.Reason)
		}
	}
	if err != nil {
		if m.o.Metrics != nil {
			m.o.Metrics.roundErrors.WithLabelValues(z.Name).Inc()
		}
		return fmt.Errorf("recording the round of zone %s: %w", z.Name, err)
	}
	m.observe(z, st, now)
	return m.deliver(ctx, z, st, now)
}

func (m *Monitor) observe(z Zone, st *ZoneState, now time.Time) {
	if m.o.Metrics == nil {
		return
	}
	for _, w := range m.o.Windows {
		a, _ := Availability(st.Ring.Sum(now, w.Duration))
		m.o.Metrics.availability.WithLabelValues(z.Name, w.Name).Set(a)
	}
	m.o.Metrics.budget.WithLabelValues(z.Name).Set(ErrorBudgetRemaining(st.Ring.Sum(now, m.sloWindow()), m.o.SLO))
	for _, r := range m.o.Rules {
		a := st.Alerts[r.Name]
		for _, sev := range []Severity{SeverityPage, SeverityTicket} {
			v := 0.0
			if a != nil && a.Firing && a.Severity == sev {
				v = 1
			}
			m.o.Metrics.alert.WithLabelValues(z.Name, r.Name, string(sev)).Set(v)
		}
	}
}

// sloWindow is the longest SLI window: the error budget's.
func (m *Monitor) sloWindow() time.Duration {
	var d time.Duration
	for _, w := range m.o.Windows {
		d = max(d, w.Duration)
	}
	return d
}

// DedupKey is the stable key of one alert.
func DedupKey(installation, zone, rule string) string {
	return "spinops/" + installation + "/" + zone + "/" + rule
}

// deliver sends each alert whose state a notifier has not been told yet,
// and records per notifier what it was told: a notifier that failed is
// retried next round, one that succeeded is not told twice.
func (m *Monitor) deliver(ctx context.Context, z Zone, st *ZoneState, now time.Time) error {
	var errs []error
	rules := append([]Rule(nil), m.o.Rules...)
	sort.Slice(rules, func(i, j int) bool { return rules[i].Name < rules[j].Name })
	for _, r := range rules {
		a := st.Alerts[r.Name]
		if a == nil {
			continue
		}
		n := Notification{Action: ActionResolve, DedupKey: DedupKey(m.o.Installation, z.Name, r.Name), Installation: m.o.Installation,
			Zone: z.Name, Tier: z.Tier, Rule: r, Severity: a.Severity, At: now, LongBurn: a.LongBurn, ShortBurn: a.ShortBurn,
			SLO: m.o.SLO, BudgetRemaining: ErrorBudgetRemaining(st.Ring.Sum(now, m.sloWindow()), m.o.SLO), LastFailure: st.LastFailure}
		if a.Firing {
			n.Action = ActionTrigger
		}
		var told []string
		for _, nt := range m.o.Notifiers {
			if a.Notified[nt.Name()] == a.Firing {
				continue
			}
			if err := nt.Notify(ctx, n); err != nil {
				if m.o.Metrics != nil {
					m.o.Metrics.notifyErrors.WithLabelValues(nt.Name()).Inc()
				}
				m.o.Log.Error("notification", "zone", z.Name, "rule", r.Name, "action", string(n.Action), "error", err)
				errs = append(errs, err)
				continue
			}
			m.o.Log.Info("notified", "notifier", nt.Name(), "zone", z.Name, "rule", r.Name, "action", string(n.Action))
			told = append(told, nt.Name())
		}
		if len(told) == 0 {
			continue
		}
		firing := a.Firing
		if _, err := m.store(z).Update(ctx, m.ref(z), m.o.Shape(), func(st *ZoneState) error {
			b := st.Alerts[r.Name]
			if b == nil {
				return nil
			}
			if b.Notified == nil {
				b.Notified = map[string]bool{}
			}
			for _, name := range told {
				b.Notified[name] = firing
			}
			return nil
		}); err != nil {
			errs = append(errs, fmt.Errorf("recording the notifications of zone %s: %w", z.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ZoneStatus is what the monitor reports of a zone.
type ZoneStatus struct {
	Zone            string                 `json:"zone"`
	Tier            Tier                   `json:"tier"`
	At              time.Time              `json:"at"`
	Availability    map[string]float64     `json:"availability"`
	Counts          map[string]Counts      `json:"counts"`
	SLO             float64                `json:"slo"`
	BudgetRemaining float64                `json:"error_budget_remaining"`
	Alerts          map[string]*AlertState `json:"alerts"`
	LastFailure     *Failure               `json:"last_failure,omitempty"`
	LastRound       time.Time              `json:"last_round,omitzero"`
}

// Status reads a zone's recorded figures as of now.
func (m *Monitor) Status(ctx context.Context, zone string) (*ZoneStatus, error) {
	for _, z := range m.o.Zones {
		if z.Name == zone {
			return ReadStatus(ctx, m.store(z), m.ref(z), z.Tier, m.o.Windows, m.o.SLO, m.o.Clock.Now())
		}
	}
	return nil, fmt.Errorf("zone %q is not monitored", zone)
}
