package migrate

// This file: `spinops migrate data`'s bucket part, Front50's objects copied
// from the old installation's bucket into the new one's, each verified by
// reading it back, and incremental: a second run copies only what changed.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// syncStateKey is where the destination records what the migration copied:
// for each key the source version (ETag / generation), size and SHA-256.
// Only keys recorded there are ever deleted from the destination, so
// objects the new installation wrote itself are left alone.
const (
	syncPrefix   = ".spinops-migrate/"
	syncStateKey = syncPrefix + "bucket-state.json"
	syncParallel = 4
)

type syncState struct {
	Source  string                `json:"source"`
	Objects map[string]syncObject `json:"objects"`
}

type syncObject struct {
	Version string `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
}

// SyncResult counts what a SyncBucket run did.
type SyncResult struct {
	Objects   int   // in the source
	Copied    int   // written (new or changed), each verified
	Unchanged int   // same version and size as the last run copied
	Deleted   int   // gone from the source since the last run
	Foreign   int   // in the destination, never copied by the migration: left alone
	Bytes     int64 // copied
}

func (r SyncResult) String() string {
	return fmt.Sprintf("%d objects: %d copied (%d bytes), %d unchanged, %d deleted; %d written by the new installation left alone",
		r.Objects, r.Copied, r.Bytes, r.Unchanged, r.Deleted, r.Foreign)
}

// SyncBucket makes dst hold what src holds: every object copied and read
// back to compare its SHA-256, objects unchanged since the last run (same
// version and size at the source, still present at the destination) not
// copied again, objects the last run copied that are gone from the source
// deleted. The record of what was copied is written after the objects, so
// a run that fails or is killed half-way is finished by running it again.
func SyncBucket(ctx context.Context, src, dst backup.Store, log *slog.Logger) (SyncResult, error) {
	return SyncBucketWithProgress(ctx, src, dst, log, nil)
}

// SyncBucketWithProgress is SyncBucket reporting the bytes copied to p
// (one step, its total the sizes of the objects to copy) instead of
// logging progress lines; nil p logs them.
func SyncBucketWithProgress(ctx context.Context, src, dst backup.Store, log *slog.Logger, p Progress) (SyncResult, error) {
	var res SyncResult
	if src.String() == dst.String() {
		return res, fmt.Errorf("the source and the destination are both %s", src)
	}
	st, err := readSyncState(ctx, dst)
	if err != nil {
		return res, err
	}
	if st.Source != "" && st.Source != src.String() {
		return res, fmt.Errorf("%s was filled from %s, not %s: migrate into an empty bucket or prefix (or remove %s%s to start over)",
			dst, st.Source, src, dst, syncStateKey)
	}
	st.Source = src.String()
	srcObjs, err := src.List(ctx, "")
	if err != nil {
		return res, fmt.Errorf("listing the source %s: %w", src, err)
	}
	dstObjs, err := dst.List(ctx, "")
	if err != nil {
		return res, fmt.Errorf("listing the destination %s: %w", dst, err)
	}
	atDst := map[string]int64{}
	for _, o := range dstObjs {
		atDst[o.Key] = o.Size
	}
	copiedBefore := make(map[string]syncObject, len(st.Objects))
	for k, v := range st.Objects {
		copiedBefore[k] = v
	}
	inSrc := map[string]bool{}
	var toCopy []backup.ObjectInfo
	var total int64
	for _, o := range srcObjs {
		if strings.HasPrefix(o.Key, syncPrefix) || strings.HasPrefix(o.Key, ".spinops-restore-undo/") {
			continue
		}
		res.Objects++
		inSrc[o.Key] = true
		prev, ok := copiedBefore[o.Key]
		if size, there := atDst[o.Key]; ok && there && prev.Version == o.Version && prev.Size == o.Size && size == o.Size {
			res.Unchanged++
			continue
		}
		toCopy = append(toCopy, o)
		total += o.Size
	}
	var mu sync.Mutex
	copied := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return res.Bytes
	}
	if p == nil {
		stop := logProgress(log, bucketProgressEvery, "copying the bucket", func() []any {
			mu.Lock()
			defer mu.Unlock()
			return []any{"copied", res.Copied, "to_copy", len(toCopy), "bytes", res.Bytes}
		})
		defer stop()
	}
	stopBar := trackStep(p, fmt.Sprintf("copying %d objects of %s", len(toCopy), src), total, copied)
	defer stopBar()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(syncParallel)
	for _, o := range toCopy {
		g.Go(func() error {
			obj, err := copyVerified(gctx, src, dst, o.Key)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			st.Objects[o.Key] = obj
			res.Copied++
			res.Bytes += obj.Size
			return nil
		})
	}
	werr := g.Wait()
	stopBar()
	if werr == nil {
		for _, k := range sortedKeys(st.Objects) {
			if inSrc[k] {
				continue
			}
			if err := dst.Delete(ctx, k); err != nil {
				werr = fmt.Errorf("deleting %s from %s (gone from the source): %w", k, dst, err)
				break
			}
			delete(st.Objects, k)
			res.Deleted++
		}
	}
	for _, o := range dstObjs {
		_, copiedNow := st.Objects[o.Key]
		if _, ours := copiedBefore[o.Key]; !ours && !copiedNow && !inSrc[o.Key] && !strings.HasPrefix(o.Key, syncPrefix) {
			res.Foreign++
		}
	}
	// What was copied is recorded even when the run failed, so that the
	// next run does not copy it again.
	if err := writeSyncState(context.WithoutCancel(ctx), dst, st); err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return res, fmt.Errorf("%w (%d objects copied before it; run the migration again to finish)", werr, res.Copied)
	}
	log.Info("bucket migrated", "source", src.String(), "destination", dst.String(), "objects", res.Objects,
		"copied", res.Copied, "unchanged", res.Unchanged, "deleted", res.Deleted, "bytes", res.Bytes)
	return res, nil
}

// bucketProgressEvery is how often a bucket copy logs how far it is.
var bucketProgressEvery = 10 * time.Second

// logProgress logs msg with what state returns every interval until the
// returned stop is called: the progress lines of long copies.
func logProgress(log *slog.Logger, every time.Duration, msg string, state func() []any) (stop func()) {
	return tick(every, func() { log.Info(msg, state()...) })
}

// tick calls f every interval until the returned stop, which returns once
// f is no longer running.
func tick(every time.Duration, f func()) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// copyVerified copies one object and reads it back: the destination must
// hold exactly the bytes read from the source.
func copyVerified(ctx context.Context, src, dst backup.Store, key string) (syncObject, error) {
	rc, info, err := src.Get(ctx, key)
	if err != nil {
		return syncObject{}, fmt.Errorf("reading %s from %s: %w", key, src, err)
	}
	defer rc.Close()
	sent := backup.NewHashReader(rc)
	if err := dst.Put(ctx, key, sent); err != nil {
		return syncObject{}, fmt.Errorf("writing %s into %s: %w", key, dst, err)
	}
	back, _, err := dst.Get(ctx, key)
	if err != nil {
		return syncObject{}, fmt.Errorf("reading %s back from %s: %w", key, dst, err)
	}
	defer back.Close()
	got := backup.NewHashReader(back)
	if _, err := io.Copy(io.Discard, got); err != nil {
		return syncObject{}, fmt.Errorf("reading %s back from %s: %w", key, dst, err)
	}
	if got.Sum() != sent.Sum() || got.Size() != sent.Size() {
		return syncObject{}, fmt.Errorf("%s in %s does not match the source: %d bytes with SHA-256 %s, the source's %d bytes have %s",
			key, dst, got.Size(), got.Sum(), sent.Size(), sent.Sum())
	}
	return syncObject{Version: info.Version, Size: sent.Size(), SHA256: sent.Sum()}, nil
}

func readSyncState(ctx context.Context, dst backup.Store) (*syncState, error) {
	st := &syncState{Objects: map[string]syncObject{}}
	rc, _, err := dst.Get(ctx, syncStateKey)
	if errors.Is(err, backup.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the migration's record %s in %s: %w", syncStateKey, dst, err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(st); err != nil {
		return nil, fmt.Errorf("reading the migration's record %s in %s: %w", syncStateKey, dst, err)
	}
	if st.Objects == nil {
		st.Objects = map[string]syncObject{}
	}
	return st, nil
}

func writeSyncState(ctx context.Context, dst backup.Store, st *syncState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := dst.Put(ctx, syncStateKey, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("writing the migration's record into %s: %w", dst, err)
	}
	return nil
}
