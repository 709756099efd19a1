package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// AlertState is one rule's alert in one zone. Firing is what the rule says;
// Notified is what each notifier (by name) was last told. They differ while
// a trigger or resolve is still to be delivered, which is retried each round.
type AlertState struct {
	Firing    bool            `json:"firing"`
	Notified  map[string]bool `json:"notified,omitempty"`
	Since     time.Time       `json:"since,omitzero"`
	Severity  Severity        `json:"severity"`
	LongBurn  float64         `json:"long_burn"`
	ShortBurn float64         `json:"short_burn"`
}

// Failure is the last failed check of a zone.
type Failure struct {
	At     time.Time `json:"at"`
	Check  string    `json:"check"`
	Reason string    `json:"reason"`
}

// ZoneState is what the monitor keeps of a zone.
type ZoneState struct {
	Ring        *Ring                  `json:"-"`
	Alerts      map[string]*AlertState `json:"alerts"`
	LastFailure *Failure               `json:"last_failure,omitempty"`
	LastRound   time.Time              `json:"last_round,omitzero"`
	// SLO is the objective of the last round, so readers of the state (the
	// spinops_zone_slo data source) can compute the budget.
	SLO float64 `json:"slo,omitempty"`
	// Maintenance are windows recorded by others than the configuration:
	// the upgrades spinops_zone performs when told to count them as
	// maintenance. Rounds inside one are excluded from the SLI.
	Maintenance []RecordedMaintenance `json:"maintenance,omitempty"`
}

// RecordedMaintenance is a maintenance window written into a zone's state
// (by the zone resource, around an upgrade). End is set when it starts to
// the longest it may last (the upgrade's timeout), so a writer that dies
// mid-upgrade leaves a bounded window, and shortened when it ends.
type RecordedMaintenance struct {
	ID     string    `json:"id"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Reason string    `json:"reason,omitempty"`
}

// InMaintenance reports whether t is inside a recorded window.
func (st *ZoneState) InMaintenance(t time.Time) bool {
	for _, w := range st.Maintenance {
		if !t.Before(w.Start) && t.Before(w.End) {
			return true
		}
	}
	return false
}

// SetMaintenance records (or, for an existing id, replaces) a window, and
// forgets windows that ended more than 31 days before now (outside every
// SLO window).
func (st *ZoneState) SetMaintenance(w RecordedMaintenance, now time.Time) {
	kept := st.Maintenance[:0]
	for _, m := range st.Maintenance {
		if m.ID != w.ID && now.Sub(m.End) <= 31*24*time.Hour {
			kept = append(kept, m)
		}
	}
	st.Maintenance = append(kept, w)
}

// Store keeps zone states across restarts.
type Store interface {
	// Update reads the zone's state (a new one, with a ring of the given
	// shape, when there is none), lets fn change it and writes it back
	// atomically: with fn's changes either all stored or none. A stored
	// ring of another shape is an error, except for the zero shape, which
	// writers that do not record rounds (a maintenance window) pass: it
	// keeps the stored ring, and a new state gets DefaultShape.
	Update(ctx context.Context, zone ZoneRef, shape RingShape, fn func(*ZoneState) error) (*ZoneState, error)
	// Load reads the zone's state; nil when there is none.
	Load(ctx context.Context, zone ZoneRef) (*ZoneState, error)
}

// ZoneRef names a zone's state: the zone's name and namespace.
type ZoneRef struct {
	Name      string
	Namespace string
}

// RingShape is the bucket width and count of a new ring.
type RingShape struct {
	Width time.Duration
	Len   int
}

// ConfigMap keys of the state.
const (
	keyRing   = "ring"
	keyAlerts = "state.json"
	// LabelManagedBy marks the monitor's ConfigMaps.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "spinops-monitor"
)

// ConfigMapStore keeps each zone's state in a ConfigMap
// "spinops-monitor-<zone>" of the zone's namespace, written with optimistic
// concurrency (resourceVersion) after every round: the API server either
// stores the whole round or rejects it, so a crash loses nothing that was
// reported as recorded. Its size is bounded by the ring (see
// WorstCaseEncodedSize) plus a few hundred bytes of alert state.
type ConfigMapStore struct {
	Client kubernetes.Interface
}

// ConfigMapName is the name of a zone's state ConfigMap.
func ConfigMapName(zone string) string { return "spinops-monitor-" + zone }

// Load implements Store.
func (s *ConfigMapStore) Load(ctx context.Context, zone ZoneRef) (*ZoneState, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(zone.Namespace).Get(ctx, ConfigMapName(zone.Name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the monitor state of zone %s (ConfigMap %s/%s): %w", zone.Name, zone.Namespace, ConfigMapName(zone.Name), err)
	}
	return decodeState(zone, cm)
}

// Update implements Store.
func (s *ConfigMapStore) Update(ctx context.Context, zone ZoneRef, shape RingShape, fn func(*ZoneState) error) (*ZoneState, error) {
	cms := s.Client.CoreV1().ConfigMaps(zone.Namespace)
	name := ConfigMapName(zone.Name)
	var out *ZoneState
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return fmt.Errorf("reading the monitor state of zone %s (ConfigMap %s/%s): %w", zone.Name, zone.Namespace, name, err)
		}
		var st *ZoneState
		if create {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: zone.Namespace,
				Labels: map[string]string{LabelManagedBy: managedBy, "spinops.io/zone": zone.Name}}}
			if shape == (RingShape{}) {
				shape = DefaultShape()
			}
			st = &ZoneState{Ring: NewRing(shape.Width, shape.Len)}
		} else if st, err = decodeState(zone, cm); err != nil {
			return err
		}
		if shape != (RingShape{}) && (st.Ring.Width() != shape.Width || st.Ring.Len() != shape.Len) {
			return fmt.Errorf("the monitor state of zone %s (ConfigMap %s/%s) was recorded with %s buckets × %d; the configuration asks for %s × %d: set the configuration back, or delete the ConfigMap to start the SLI afresh",
				zone.Name, zone.Namespace, name, st.Ring.Width(), st.Ring.Len(), shape.Width, shape.Len)
		}
		if st.Alerts == nil {
			st.Alerts = map[string]*AlertState{}
		}
		if err := fn(st); err != nil {
			return err
		}
		if err := encodeState(st, cm); err != nil {
			return err
		}
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: managedBy})
			if apierrors.IsAlreadyExists(err) {
				// Someone created it meanwhile: read theirs and apply fn again.
				return apierrors.NewConflict(corev1.Resource("configmaps"), name, err)
			}
		} else {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: managedBy})
		}
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("writing the monitor state of zone %s (ConfigMap %s/%s): %w", zone.Name, zone.Namespace, name, err)
		}
		out = st
		return err
	})
	if apierrors.IsConflict(err) {
		return nil, fmt.Errorf("writing the monitor state of zone %s (ConfigMap %s/%s): other writers kept changing it: is a second monitor running? %w", zone.Name, zone.Namespace, name, err)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// conflictBackoff retries a conflicting write with jitter, long enough for
// a few writers (an old and a new monitor pod during a rollout) to each get
// their turn.
func conflictBackoff() wait.Backoff {
	return wait.Backoff{Steps: 12, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: time.Second}
}

func decodeState(zone ZoneRef, cm *corev1.ConfigMap) (*ZoneState, error) {
	st := &ZoneState{Ring: &Ring{}}
	where := fmt.Sprintf("the monitor state of zone %s (ConfigMap %s/%s)", zone.Name, cm.Namespace, cm.Name)
	if err := st.Ring.UnmarshalText([]byte(cm.Data[keyRing])); err != nil {
		return nil, fmt.Errorf("%s is damaged (%w): delete it to start the SLI afresh", where, err)
	}
	if s := cm.Data[keyAlerts]; s != "" {
		if err := json.Unmarshal([]byte(s), st); err != nil {
			return nil, fmt.Errorf("%s is damaged (%s: %w): delete it to start the SLI afresh", where, keyAlerts, err)
		}
	}
	if st.Alerts == nil {
		st.Alerts = map[string]*AlertState{}
	}
	return st, nil
}

func encodeState(st *ZoneState, cm *corev1.ConfigMap) error {
	ring, err := st.Ring.MarshalText()
	if err != nil {
		return fmt.Errorf("encoding the SLI ring: %w", err)
	}
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding the alert state: %w", err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[keyRing] = string(ring)
	cm.Data[keyAlerts] = string(js)
	return nil
}

// Record counts one round at now and re-evaluates the rules: an alert that
// starts firing gets Since = now. It is the whole of a round's state change,
// applied inside Store.Update.
func (st *ZoneState) Record(now time.Time, c Counts, failed *Failure, rules []Rule, slo float64, tier Tier) {
	st.Ring.Add(now, c)
	st.LastRound, st.SLO = now, slo
	if failed != nil {
		st.LastFailure = failed
	}
	if st.Alerts == nil {
		st.Alerts = map[string]*AlertState{}
	}
	for _, r := range rules {
		res := r.Evaluate(st.Ring, now, slo)
		a := st.Alerts[r.Name]
		if a == nil {
			a = &AlertState{}
			st.Alerts[r.Name] = a
		}
		if res.Firing && !a.Firing {
			a.Since = now
		}
		a.Firing, a.Severity, a.LongBurn, a.ShortBurn = res.Firing, SeverityFor(r, tier), res.LongBurn, res.ShortBurn
	}
}
