package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// A bucket has no transaction to swap a restore in with, so a bucket restore
// keeps an undo journal in the target itself, under undoPrefix: first the
// journal (which keys the target held), then a copy of every object it held,
// and only then are objects written and removed. A restore that fails puts
// the target back from the journal (objects the backup added are deleted,
// every saved object is written back), so the target ends byte-identical to
// what it was; one that completes marks the journal complete and deletes it.
// A process killed mid-restore leaves an incomplete journal: the next
// restore into that target refuses to start until RollbackBucket (`spinops
// backup rollback-bucket`) has put the target back.
const (
	undoPrefix  = ".spinops-restore-undo/"
	undoJournal = undoPrefix + "journal.json"
	undoObjects = undoPrefix + "objects/"
)

// ErrInterruptedRestore is returned (wrapped) when a bucket target still
// holds the undo journal of a restore that did not finish.
var ErrInterruptedRestore = errors.New("an earlier restore into this bucket did not finish")

type bucketJournal struct {
	Backup   string    `json:"backup"`
	Started  time.Time `json:"started"`
	Before   []string  `json:"before"`
	Complete bool      `json:"complete,omitempty"`
	// written are the keys the restore may have written (in memory only:
	// the failed restore's own rollback deletes them whether or not the
	// listing shows them yet).
	written []string
}

func isUndoKey(k string) bool { return strings.HasPrefix(k, undoPrefix) }

func readJournal(ctx context.Context, st Store) (*bucketJournal, error) {
	rc, _, err := st.Get(ctx, undoJournal)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the restore journal %s in %s: %w", undoJournal, st, err)
	}
	defer rc.Close()
	var j bucketJournal
	if err := json.NewDecoder(rc).Decode(&j); err != nil {
		return nil, fmt.Errorf("reading the restore journal %s in %s: %w", undoJournal, st, err)
	}
	return &j, nil
}

func writeJournal(ctx context.Context, st Store, j *bucketJournal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := st.Put(ctx, undoJournal, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("writing the restore journal into %s: %w", st, err)
	}
	return nil
}

// copyWithin copies one object of st to another key of st.
func copyWithin(ctx context.Context, st Store, from, to string) error {
	rc, _, err := st.Get(ctx, from)
	if err != nil {
		return err
	}
	defer rc.Close()
	return st.Put(ctx, to, rc)
}

// saveBefore writes the journal and a copy of every object the target holds.
func saveBefore(ctx context.Context, st Store, backupID string, existing []ObjectInfo) error {
	j := &bucketJournal{Backup: backupID, Started: time.Now().UTC()}
	for _, o := range existing {
		j.Before = append(j.Before, o.Key)
	}
	if err := writeJournal(ctx, st, j); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bucketParallel)
	for _, k := range j.Before {
		g.Go(func() error {
			if err := copyWithin(gctx, st, k, undoObjects+k); err != nil {
				return fmt.Errorf("saving %s before the restore: %w", k, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// rollbackBucket puts st back to the journal's Before state: objects not in
// it are deleted, every saved object is written back; then the journal goes.
// Idempotent, so a rollback that itself failed can be run again.
func rollbackBucket(ctx context.Context, st Store, j *bucketJournal, log *slog.Logger) error {
	before := make(map[string]bool, len(j.Before))
	for _, k := range j.Before {
		before[k] = true
	}
	now, err := st.List(ctx, "")
	if err != nil {
		return fmt.Errorf("listing %s to roll it back: %w", st, err)
	}
	added := map[string]bool{}
	for _, o := range now {
		added[o.Key] = true
	}
	for _, k := range j.written {
		added[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(added)) {
		if isUndoKey(k) || before[k] {
			continue
		}
		if err := st.Delete(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("rolling back %s: removing %s, which the interrupted restore added: %w", st, k, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bucketParallel)
	for _, k := range j.Before {
		g.Go(func() error {
			if err := copyWithin(gctx, st, undoObjects+k, k); err != nil {
				return fmt.Errorf("rolling back %s: writing back %s from %s%s: %w", st, k, undoObjects, k, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := dropUndo(ctx, st); err != nil {
		return err
	}
	log.Warn("bucket rolled back to its contents before the restore", "target", st.String(), "backup", j.Backup, "objects", len(j.Before))
	return nil
}

// dropUndo deletes the saved objects, then the journal (last: while it
// exists, the target counts as mid-restore).
func dropUndo(ctx context.Context, st Store) error {
	saved, err := st.List(ctx, undoObjects)
	if err != nil {
		return fmt.Errorf("listing the restore's undo copy in %s: %w", st, err)
	}
	for _, o := range saved {
		if err := st.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("removing the restore's undo copy %s from %s: %w", o.Key, st, err)
		}
	}
	if err := st.Delete(ctx, undoJournal); err != nil {
		return fmt.Errorf("removing the restore journal from %s: %w", st, err)
	}
	return nil
}

// RollbackBucket puts a bucket target back to what it held before a restore
// that was interrupted (the process killed mid-restore), from the undo
// journal that restore left in it. Without a journal it changes nothing.
func (e *Engine) RollbackBucket(ctx context.Context, st Store) (rolledBack bool, err error) {
	j, err := readJournal(ctx, st)
	if err != nil || j == nil {
		return false, err
	}
	if j.Complete {
		return false, dropUndo(ctx, st)
	}
	if err := rollbackBucket(ctx, st, j, e.log()); err != nil {
		return false, err
	}
	return true, nil
}
