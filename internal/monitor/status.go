package monitor

import (
	"context"
	"time"
)

// ReadStatus reads a zone's recorded state from the store and computes its
// figures over the windows as of now, with the SLO the monitor recorded
// (slo when the state holds none). It returns a status with no counts when
// the monitor has not recorded the zone yet.
func ReadStatus(ctx context.Context, store Store, zone ZoneRef, tier Tier, windows []Window, slo float64, now time.Time) (*ZoneStatus, error) {
	st, err := store.Load(ctx, zone)
	if err != nil {
		return nil, err
	}
	out := &ZoneStatus{Zone: zone.Name, Tier: tier, At: now, SLO: slo, BudgetRemaining: 1,
		Availability: map[string]float64{}, Counts: map[string]Counts{}, Alerts: map[string]*AlertState{}}
	if st == nil {
		return out, nil
	}
	if st.SLO != 0 {
		out.SLO = st.SLO
	}
	var longest time.Duration
	for _, w := range windows {
		c := st.Ring.Sum(now, w.Duration)
		out.Counts[w.Name] = c
		out.Availability[w.Name], _ = Availability(c)
		longest = max(longest, w.Duration)
	}
	out.BudgetRemaining = ErrorBudgetRemaining(st.Ring.Sum(now, longest), out.SLO)
	out.Alerts, out.LastFailure, out.LastRound = st.Alerts, st.LastFailure, st.LastRound
	return out, nil
}
