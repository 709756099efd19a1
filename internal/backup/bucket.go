package backup

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

const bucketParallel = 4

// copyBucket copies src's objects into dest under dir, compressed.
// Objects whose version (ETag / generation) and size match prev's entry are
// not copied again: the new manifest points at the stored copy.
func copyBucket(ctx context.Context, src, dest Store, dir string, prev *BucketPart, log *slog.Logger) (*BucketPart, int64, error) {
	objs, err := src.List(ctx, "")
	if err != nil {
		return nil, 0, fmt.Errorf("listing the bucket source: %w", err)
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
	raw := newHashReader(rc)
	e.Stored.Path = dir + "bucket/" + o.Key + ".zst"
	err = streamPart(ctx, dest, &e.Stored, func(w *bufio.Writer) error {
		_, err := io.Copy(w, raw)
		return err
	})
	if err != nil {
		return e, err
	}
	e.Size, e.SHA256 = raw.n, raw.sum()
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
	existing, err := t.Store.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("listing the restore target %s: %w", t.Store, err)
	}
	if len(existing) > 0 && !t.Overwrite {
		return nil, fmt.Errorf("the bucket target %s is not empty (%d objects): restore into an empty prefix, or pass --overwrite to replace its contents", t.Store, len(existing))
	}
	return existing, nil
}

func restoreBucket(ctx context.Context, src Store, bp *BucketPart, t BucketTarget, existing []ObjectInfo, log *slog.Logger) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bucketParallel)
	for _, e := range bp.Objects {
		g.Go(func() error {
			if err := restoreObject(gctx, src, e, t.Store); err != nil {
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
	log.Info("bucket restored", "target", t.Store.String(), "objects", len(bp.Objects))
	return nil
}

func restoreObject(ctx context.Context, src Store, e BucketEntry, dest Store) error {
	rc, _, err := src.Get(ctx, e.Stored.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	stored := newHashReader(rc)
	zr, err := zstd.NewReader(stored, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	raw := newHashReader(zr)
	if err := dest.Put(ctx, e.Key, raw); err != nil {
		return err
	}
	if got := stored.sum(); got != e.Stored.SHA256 {
		_ = dest.Delete(ctx, e.Key)
		return fmt.Errorf("checksum mismatch for %s: stored part has SHA-256 %s, the manifest says %s (the backup is damaged)", e.Stored.Path, got, e.Stored.SHA256)
	}
	if got := raw.sum(); got != e.SHA256 || raw.n != e.Size {
		_ = dest.Delete(ctx, e.Key)
		return fmt.Errorf("restored object %s does not match the backup: %d bytes with SHA-256 %s, expected %d bytes with %s", e.Key, raw.n, got, e.Size, e.SHA256)
	}
	return nil
}
