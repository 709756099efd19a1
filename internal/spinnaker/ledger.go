package spinnaker

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// LedgerName is the promotion ledger's ConfigMap in the operator namespace.
const LedgerName = "spinops-promotion-ledger"

// ledgerKeyPrefix prefixes each zone's key in the ledger's data.
const ledgerKeyPrefix = "zone."

// Verification results recorded in the ledger.
const (
	ResultPassed  = "passed"
	ResultFailed  = "failed"
	ResultSkipped = "skipped"
)

// ZoneRecord is what the ledger knows about one zone.
type ZoneRecord struct {
	Zone      string `json:"zone"`
	Tier      string `json:"tier"`
	Namespace string `json:"namespace"`
	// Version is the version the zone runs after its last apply (or
	// rollback).
	Version   string    `json:"version"`
	AppliedAt time.Time `json:"applied_at"`
	// VerifiedAt and Result describe the last verification.
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	Result     string     `json:"result,omitempty"`
	Failures   []string   `json:"failures,omitempty"`
	// Verified maps each version that passed verification here to the
	// first time it did.
	Verified map[string]time.Time `json:"verified,omitempty"`
	// Applied maps each version applied here to the first time it was.
	Applied   map[string]time.Time `json:"applied,omitempty"`
	Overrides []Override           `json:"overrides,omitempty"`
	Rollbacks []Rollback           `json:"rollbacks,omitempty"`
	DeletedAt *time.Time           `json:"deleted_at,omitempty"`
}

// Override records a production zone taking a version the promotion gate
// refused.
type Override struct {
	Version string    `json:"version"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// Rollback records a failed change undone.
type Rollback struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Complete bool      `json:"complete"`
}

// Ledger is the promotion ledger of one installation.
type Ledger struct {
	Zones map[string]*ZoneRecord
}

// LoadLedger reads the ledger; a missing ledger is an empty one.
func LoadLedger(ctx context.Context, cs kubernetes.Interface, namespace string) (*Ledger, error) {
	cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, LedgerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Ledger{Zones: map[string]*ZoneRecord{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the promotion ledger (ConfigMap %s/%s): %w", namespace, LedgerName, err)
	}
	return parseLedger(cm)
}

func parseLedger(cm *corev1.ConfigMap) (*Ledger, error) {
	l := &Ledger{Zones: map[string]*ZoneRecord{}}
	for k, v := range cm.Data {
		if !strings.HasPrefix(k, ledgerKeyPrefix) {
			continue
		}
		var r ZoneRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("promotion ledger %s/%s key %s: %w", cm.Namespace, cm.Name, k, err)
		}
		l.Zones[strings.TrimPrefix(k, ledgerKeyPrefix)] = &r
	}
	return l, nil
}

// UpdateZoneRecord changes one zone's record (creating the ledger and the
// record as needed), retrying on conflicting writes by other zones.
func UpdateZoneRecord(ctx context.Context, cs kubernetes.Interface, namespace, zone string, change func(*ZoneRecord)) error {
	r := &ZoneRecord{}
	err := UpdateLedgerKey(ctx, cs, namespace, ledgerKeyPrefix+zone, r, func() {
		r.Zone = zone
		change(r)
	})
	if err != nil {
		return fmt.Errorf("recording zone %s in the promotion ledger (ConfigMap %s/%s): %w", zone, namespace, LedgerName, err)
	}
	return nil
}

// ReadLedgerKey reads one key of the ledger (JSON) into v, which is left as
// it is when the ledger or the key does not exist.
func ReadLedgerKey(ctx context.Context, cs kubernetes.Interface, namespace, key string, v any) error {
	cm, err := cs.CoreV1().ConfigMaps(namespace).Get(ctx, LedgerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if raw, ok := cm.Data[key]; ok {
		if err := json.Unmarshal([]byte(raw), v); err != nil {
			return fmt.Errorf("key %s: %w", key, err)
		}
	}
	return nil
}

// UpdateLedgerKey reads one key of the ledger (JSON) into v, which is left
// as it is when the key is absent, calls change, and writes v back,
// creating the ledger as needed and retrying on conflicting writes (each
// retry reads the key again into a zeroed v). Zones keep their records under
// zone.<name>; a migration under migration.
func UpdateLedgerKey[T any](ctx context.Context, cs kubernetes.Interface, namespace, key string, v *T, change func()) error {
	initial := *v
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		*v = initial
		cms := cs.CoreV1().ConfigMaps(namespace)
		cm, err := cms.Get(ctx, LedgerName, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		if create {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: LedgerName, Namespace: namespace,
				Labels: map[string]string{LabelManagedBy: managedBy},
			}}
		} else if err != nil {
			return err
		}
		if raw, ok := cm.Data[key]; ok {
			if err := json.Unmarshal([]byte(raw), v); err != nil {
				return fmt.Errorf("key %s: %w", key, err)
			}
		}
		change()
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[key] = string(b)
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "spinops"})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), LedgerName, err)
			}
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "spinops"})
		return err
	})
}

// RecordApplied notes that version was applied at t.
func (r *ZoneRecord) RecordApplied(z *Zone, version string, t time.Time) {
	r.Tier, r.Namespace, r.Version, r.AppliedAt = z.Tier, z.Namespace, version, t
	r.VerifiedAt, r.Result, r.Failures, r.DeletedAt = nil, "", nil, nil
	if r.Applied == nil {
		r.Applied = map[string]time.Time{}
	}
	if _, ok := r.Applied[version]; !ok {
		r.Applied[version] = t
	}
}

// RecordVerification notes the result of verifying the current version.
func (r *ZoneRecord) RecordVerification(result string, failures []string, t time.Time) {
	r.Result, r.Failures = result, failures
	if result == ResultSkipped {
		r.VerifiedAt = nil
		return
	}
	r.VerifiedAt = &t
	if result == ResultPassed {
		if r.Verified == nil {
			r.Verified = map[string]time.Time{}
		}
		if _, ok := r.Verified[r.Version]; !ok {
			r.Verified[r.Version] = t
		}
	}
}

// VerifiedVersions maps each version verified in a sandbox zone to the
// earliest time one did.
func (l *Ledger) VerifiedVersions() map[string]time.Time {
	out := map[string]time.Time{}
	for _, r := range l.sandboxes() {
		for v, t := range r.Verified {
			if cur, ok := out[v]; !ok || t.Before(cur) {
				out[v] = t
			}
		}
	}
	return out
}

// sandboxes returns the sandbox zones' records, sorted by name.
func (l *Ledger) sandboxes() []*ZoneRecord {
	var out []*ZoneRecord
	for _, r := range l.Zones {
		if r.Tier == TierSandbox {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Zone < out[j].Zone })
	return out
}
