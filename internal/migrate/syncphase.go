package migrate

import (
	"context"
	"time"

	"k8s.io/client-go/kubernetes"
)

// SyncLedger records `spinops migrate data` runs among the migration's
// phases in the new installation's ledger, so the ledger holds the whole
// timeline of a migration, copies included: "sync" when a copy starts
// ("final-sync" while the old installation is frozen: the copy whose
// length is the frozen window's), then "synced" with what was copied, or
// "sync-failed" with why.
type SyncLedger struct {
	Ledger    kubernetes.Interface
	Namespace string
	Now       func() time.Time
}

func (s SyncLedger) options() *CutoverOptions {
	return &CutoverOptions{Ledger: s.Ledger, LedgerNamespace: s.Namespace, Now: s.Now}
}

// Start records the start of a copy of what; final says whether the old
// installation is frozen.
func (s SyncLedger) Start(ctx context.Context, what string) (final bool, err error) {
	o := s.options()
	rec, err := o.read(ctx)
	if err != nil {
		return false, err
	}
	_, final = FrozenSince(rec.Phases)
	phase := "sync"
	if final {
		phase = "final-sync"
	}
	return final, o.phase(ctx, phase, what)
}

// Finish records the end of the copy: synced with summary, or
// sync-failed with copyErr.
func (s SyncLedger) Finish(ctx context.Context, copyErr error, summary string) error {
	if copyErr != nil {
		return s.options().phase(context.WithoutCancel(ctx), "sync-failed", copyErr.Error())
	}
	return s.options().phase(ctx, "synced", summary)
}
