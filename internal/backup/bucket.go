package backup

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

const bucketParallel = 4

// copyBucket copies src's objects into dest under dir, compressed.
// Objects whose version (ETag / generation) and size match prev's entry are
// not copied again: the new manifest points at the stored copy.
func copyBucket(ctx context.Context, src, dest Store, dir string, prev *BucketPart, log *slog.Logger) (*BucketPart, int64, error) {
	all, err := src.List(ctx, "")
	if err != nil {
		return nil, 0, fmt.Errorf("listing the bucket source: %w", err)
	}
	// A restore's undo copy is not the bucket's content.
	objs := all[:0:0]
	for _, o := range all {
		if !isUndoKey(o.Key) {
			objs = append(objs, o)
		}
	}
	known := map[string]BucketEntry{}
	if prev != nil && prev.Source == src.String() {
		for _, e := range prev.Objects {
			known[e.Key] = e
		}
	}
	bp := &BucketPart{Source: src.String(), Objects: make([]BucketEntry, len(objs))}
	var mu sync.Mutex
	var written int64
	var copied, reused int
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bucketParallel)
	for i, o := range objs {
		if e, ok := known[o.Key]; ok && e.Version == o.Version && e.Size == o.Size {
			bp.Objects[i] = e
			reused++
			continue
		}
		g.Go(func() error {
			e, err := copyObject(gctx, src, dest, dir, o)
			if err != nil {
				return fmt.Errorf("backing up object %s: %w", o.Key, err)
			}
			bp.Objects[i] = e
			mu.Lock()
			written += e.Stored.Size
			copied++
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	log.Info("bucket copied", "source", src.String(), "objects", len(objs), "copied", copied, "unchanged", reused)
	return bp, written, nil
}

func copyObject(ctx context.Context, src, dest Store, dir string, o ObjectInfo) (BucketEntry, error) {
	rc, info, err := src.Get(ctx, o.Key)
	if err != nil {
		return BucketEntry{}, err
	}
	defer rc.Close()
	e := BucketEntry{Key: o.Key, Version: info.Version, Size: info.Size}
	if e.Version == "" {
		e.Version = o.Version
	}
	raw := NewHashReader(rc)
	e.Stored.Path = dir + "bucket/" + o.Key + ".zst"
	err = streamPart(ctx, dest, &e.Stored, func(w *bufio.Writer) error {
		_, err := io.Copy(w, raw)
		return err
	})
	if err != nil {
		return e, err
	}
	e.Size, e.SHA256 = raw.n, raw.Sum()
	return e, nil
}

// BucketTarget is where a restore writes the bucket objects.
type BucketTarget struct {
	Store Store
	// Overwrite allows a non-empty target: objects not in the backup are
	// deleted, the others replaced (after every part was read and checked).
	Overwrite bool
	// ConfirmSource is needed, with Overwrite, to restore into the bucket
	// the backup was taken from.
	ConfirmSource bool
}

func preflightBucketRestore(ctx context.Context, t BucketTarget, source string) ([]ObjectInfo, error) {
	if t.Store.String() == source && (!t.Overwrite || !t.ConfirmSource) {
		return nil, fmt.Errorf("%w: the bucket target %s is the bucket the backup was taken from; restore beside it (--bucket-target), or pass both --overwrite and --confirm-overwrite-source to replace it", ErrLiveSource, source)
	}
	j, err := readJournal(ctx, t.Store)
	if err != nil {
		return nil, err
	}
	if j != nil && !j.Complete {
		return nil, fmt.Errorf("%w: %s holds the undo journal of a restore of backup %s started %s (the process was stopped mid-restore), so its contents are part old, part restored. "+
			"Put it back as it was before that restore with `spinops backup rollback-bucket --bucket-target %s`, then restore again",
			ErrInterruptedRestore, t.Store, j.Backup, j.Started.Format(time.RFC3339), t.Store)
	}
	all, err := t.Store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing the restore target %s: %w", t.Store, err)
	}
	var existing []ObjectInfo
	for _, o := range all {
		if !isUndoKey(o.Key) {
			existing = append(existing, o)
		}
	}
	if len(existing) > 0 && !t.Overwrite {
		return nil, fmt.Errorf("the bucket target %s is not empty (%d objects): restore into an empty prefix, or pass --overwrite to replace its contents", t.Store, len(existing))
	}
	return existing, nil
}

// restoreBucket writes the backup's objects into the target and removes
// the ones the backup does not have, under an undo journal (see
// bucket_undo.go): a failure puts the target back as it was.
func restoreBucket(ctx context.Context, src Store, backupID string, bp *BucketPart, t BucketTarget, existing []ObjectInfo, log *slog.Logger) error {
	if j, err := readJournal(ctx, t.Store); err != nil {
		return err
	} else if j != nil { // a completed journal whose removal failed
		if err := dropUndo(ctx, t.Store); err != nil {
			return err
		}
	}
	if err := saveBefore(ctx, t.Store, backupID, existing); err != nil {
		if derr := dropUndo(context.WithoutCancel(ctx), t.Store); derr != nil {
			return fmt.Errorf("%w (the bucket was not changed; removing the partial undo copy under %s%s also failed: %v)", err, t.Store, undoPrefix, derr)
		}
		return fmt.Errorf("%w (the bucket was not changed)", err)
	}
	if err := writeRestoredObjects(ctx, src, bp, t, existing); err != nil {
		j := &bucketJournal{Backup: backupID}
		for _, o := range existing {
			j.Before = append(j.Before, o.Key)
		}
		for _, o := range bp.Objects {
			j.written = append(j.written, o.Key)
		}
		// Roll back even when ctx was cancelled (that may be the failure).
		if rerr := rollbackBucket(context.WithoutCancel(ctx), t.Store, j, log); rerr != nil {
			return fmt.Errorf("%w; rolling the bucket back also failed: %v: its previous contents are saved under %s%s; run `spinops backup rollback-bucket --bucket-target %s` to put them back",
				err, rerr, t.Store, undoPrefix, t.Store)
		}
		return fmt.Errorf("%w (the bucket was rolled back to its contents before the restore)", err)
	}
	j, err := readJournal(ctx, t.Store)
	if err == nil && j != nil {
		j.Complete = true
		err = writeJournal(ctx, t.Store, j)
	}
	if err == nil {
		err = dropUndo(ctx, t.Store)
	}
	if err != nil {
		// The restore is complete; only the undo copy is left behind.
		log.Warn("the bucket is restored, but its undo copy could not be removed: the next restore removes it", "target", t.Store.String(), "err", err)
	}
	log.Info("bucket restored", "target", t.Store.String(), "objects", len(bp.Objects))
	return nil
}

// writeRestoredObjects writes the backup's objects into the target. After a
// failed write it starts no other, but lets those already in flight finish
// on their own instead of cancelling them: a write whose client gives up
// can still land on the server afterwards (the request was sent), after
// the rollback listed the target, and so survive it. When Wait returns,
// no write is in flight unless ctx itself was cancelled (rollbackBucket
// also deletes every key the restore may have written, for that case).
func writeRestoredObjects(ctx context.Context, src Store, bp *BucketPart, t BucketTarget, existing []ObjectInfo) error {
	var g errgroup.Group
	g.SetLimit(bucketParallel)
	var failed atomic.Bool
	for _, e := range bp.Objects {
		if failed.Load() {
			break
		}
		g.Go(func() error {
			if failed.Load() {
				return nil
			}
			if err := restoreObject(ctx, src, e, t.Store); err != nil {
				failed.Store(true)
				return fmt.Errorf("restoring object %s: %w", e.Key, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	inBackup := map[string]bool{}
	for _, e := range bp.Objects {
		inBackup[e.Key] = true
	}
	for _, o := range existing {
		if !inBackup[o.Key] {
			if err := t.Store.Delete(ctx, o.Key); err != nil {
				return fmt.Errorf("removing %s, which the backup does not have (--overwrite): %w", o.Key, err)
			}
		}
	}
	return nil
}

func restoreObject(ctx context.Context, src Store, e BucketEntry, dest Store) error {
	rc, _, err := src.Get(ctx, e.Stored.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	stored := NewHashReader(rc)
	zr, err := zstd.NewReader(stored, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	raw := NewHashReader(zr)
	if err := dest.Put(ctx, e.Key, raw); err != nil {
		return err
	}
	if got := stored.Sum(); got != e.Stored.SHA256 {
		_ = dest.Delete(ctx, e.Key)
		return fmt.Errorf("checksum mismatch for %s: stored part has SHA-256 %s, the manifest says %s (the backup is damaged)", e.Stored.Path, got, e.Stored.SHA256)
	}
	if got := raw.Sum(); got != e.SHA256 || raw.n != e.Size {
		_ = dest.Delete(ctx, e.Key)
		return fmt.Errorf("restored object %s does not match the backup: %d bytes with SHA-256 %s, expected %d bytes with %s", e.Key, raw.n, got, e.Size, e.SHA256)
	}
	return nil
}
