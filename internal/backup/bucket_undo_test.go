package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// dyingStore fails a Put of failKey; with die set, every call after that
// fails too (the process was killed, or the network is gone for good).
type dyingStore struct {
	backup.Store
	failKey string
	die     bool
	dead    atomic.Bool
}

var errGone = errors.New("connection reset (simulated)")

func (d *dyingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if d.dead.Load() {
		return errGone
	}
	if key == d.failKey {
		_, _ = io.CopyN(io.Discard, r, 100)
		if d.die {
			d.dead.Store(true)
		}
		return errGone
	}
	return d.Store.Put(ctx, key, r)
}

func (d *dyingStore) Get(ctx context.Context, key string) (io.ReadCloser, backup.ObjectInfo, error) {
	if d.dead.Load() {
		return nil, backup.ObjectInfo{}, errGone
	}
	return d.Store.Get(ctx, key)
}

func (d *dyingStore) List(ctx context.Context, prefix string) ([]backup.ObjectInfo, error) {
	if d.dead.Load() {
		return nil, errGone
	}
	return d.Store.List(ctx, prefix)
}

func (d *dyingStore) Delete(ctx context.Context, key string) error {
	if d.dead.Load() {
		return errGone
	}
	return d.Store.Delete(ctx, key)
}

func bucketContents(t *testing.T, s backup.Store) map[string]string {
	t.Helper()
	l, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range l {
		out[o.Key] = string(readAll(t, s, o.Key))
	}
	return out
}

func putAll(t *testing.T, s backup.Store, objs map[string]string) {
	t.Helper()
	for k, v := range objs {
		if err := s.Put(t.Context(), k, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBucketRestoreNeverLeavesAMix: a bucket restore that fails half-way
// (an object cannot be written) puts the target back byte-identical; one
// whose process dies half-way leaves a journal that refuses the next
// restore until RollbackBucket has put the target back; the undo copy is
// never backed up as bucket content.
func TestBucketRestoreNeverLeavesAMix(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	src := e.store(e.bucket(), "front50/")
	backedUp := map[string]string{
		"applications/app1/specification.json": `{"name":"app1"}`,
		"pipelines/p1/pipeline-metadata.json":  strings.Repeat("pipeline ", 50000),
		"pipelines/p2/pipeline-metadata.json":  `{"name":"p2"}`,
		"projects/x/project.json":              `{"name":"x"}`,
	}
	putAll(t, src, backedUp)
	eng := &backup.Engine{Dest: e.store(e.bucket(), "spinops/"), Log: testLogger(t), ToolVersion: "test", Keys: testKeys()}
	m, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}

	target := e.store(e.bucket(), "front50/")
	before := map[string]string{
		"applications/app1/specification.json": `{"name":"app1","edited":"after the backup"}`,
		"pipelines/p1/pipeline-metadata.json":  `{"name":"p1","edited":true}`,
		"stray/only-in-target.json":            "kept unless the restore completes",
	}
	putAll(t, target, before)
	// Not in the target before, so the restore adds it: writing it fails.
	const failKey = "projects/x/project.json"

	t.Run("a failed write rolls the target back", func(t *testing.T) {
		failing := &dyingStore{Store: target, failKey: failKey}
		_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: failing, Overwrite: true}})
		if err == nil || !strings.Contains(err.Error(), "rolled back to its contents before the restore") {
			t.Fatalf("restore with a failing write: %v, want an error saying the bucket was rolled back", err)
		}
		if got := bucketContents(t, target); !maps.Equal(got, before) {
			t.Fatalf("after the failed restore the target holds\n%v\nwant it byte-identical to before\n%v", keysOf(got), keysOf(before))
		}
	})

	t.Run("a restore killed mid-way is refused until rolled back", func(t *testing.T) {
		dying := &dyingStore{Store: target, failKey: failKey, die: true}
		_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: dying, Overwrite: true}})
		if err == nil || !strings.Contains(err.Error(), "rolling the bucket back also failed") || !strings.Contains(err.Error(), "spinops backup rollback-bucket") {
			t.Fatalf("restore whose store dies: %v, want an error naming the failed rollback and the command to finish it", err)
		}
		// The undo copy is not bucket content: a backup of the target skips it.
		m2, err := eng.Run(ctx, backup.RunOptions{Bucket: target})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range m2.Bucket.Objects {
			if strings.HasPrefix(o.Key, ".spinops-restore-undo/") {
				t.Fatalf("a backup copied the restore's undo copy %s", o.Key)
			}
		}
		_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: target, Overwrite: true}})
		if !errors.Is(err, backup.ErrInterruptedRestore) || !strings.Contains(err.Error(), "rollback-bucket") {
			t.Fatalf("restore into a target mid-restore: %v, want ErrInterruptedRestore naming rollback-bucket", err)
		}
		rolled, err := eng.RollbackBucket(ctx, target)
		if err != nil || !rolled {
			t.Fatalf("RollbackBucket: %t, %v", rolled, err)
		}
		if got := bucketContents(t, target); !maps.Equal(got, before) {
			t.Fatalf("after the rollback the target holds\n%v\nwant it byte-identical to before\n%v", keysOf(got), keysOf(before))
		}
		if rolled, err := eng.RollbackBucket(ctx, target); err != nil || rolled {
			t.Fatalf("a second RollbackBucket: %t, %v; want nothing to do", rolled, err)
		}
	})

	t.Run("a restore that completes leaves exactly the backup", func(t *testing.T) {
		if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: target, Overwrite: true}}); err != nil {
			t.Fatalf("restore: %v", err)
		}
		if got := bucketContents(t, target); !maps.Equal(got, backedUp) {
			t.Fatalf("restored target holds %v, want exactly the backup's %v (no undo copy left)", keysOf(got), keysOf(backedUp))
		}
	})
}

func keysOf(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s (%d bytes)", k, len(v)))
	}
	sort.Strings(out)
	return out
}

// lateStore models a write whose client gives up while the server goes on:
// the Put of failKey fails once the Put of lateKey has sent its data; that
// one waits for the failure, then lands 300 ms later whether or not its
// caller still waits (a request already sent completes on the server after
// the client cancels it).
type lateStore struct {
	backup.Store
	failKey, lateKey string
	sent, failed     chan struct{}
	once             sync.Once
	landed           sync.WaitGroup
}

func (s *lateStore) Put(ctx context.Context, key string, r io.Reader) error {
	switch key {
	case s.failKey:
		_, _ = io.Copy(io.Discard, r)
		select {
		case <-s.sent:
		case <-ctx.Done():
		}
		s.once.Do(func() { close(s.failed) })
		return errGone
	case s.lateKey:
		data, err := io.ReadAll(r)
		close(s.sent)
		if err != nil {
			return err
		}
		<-s.failed
		done := make(chan error, 1)
		s.landed.Add(1)
		go func() {
			defer s.landed.Done()
			time.Sleep(300 * time.Millisecond)
			done <- s.Store.Put(context.WithoutCancel(ctx), key, bytes.NewReader(data))
		}()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("uploading %s: %w", key, ctx.Err())
		}
	}
	return s.Store.Put(ctx, key, r)
}

// TestBucketRestoreRollbackOutlivesALateWrite: when one write of a bucket
// restore fails, a write still in flight must not land after the rollback
// has looked at the target. It did when the restore cancelled the writes in
// flight on the first failure: their requests completed on the server after
// the rollback's listing, and the target kept an object the backup added
// (seen in CI as TestBucketRestoreNeverLeavesAMix failing).
func TestBucketRestoreRollbackOutlivesALateWrite(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	src := e.store(e.bucket(), "front50/")
	putAll(t, src, map[string]string{
		"applications/a/specification.json":   `{"name":"a"}`,
		"pipelines/p2/pipeline-metadata.json": `{"name":"p2"}`,
		"projects/x/project.json":             `{"name":"x"}`,
	})
	eng := &backup.Engine{Dest: e.store(e.bucket(), "spinops/"), Log: testLogger(t), ToolVersion: "test", Keys: testKeys()}
	m, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	target := e.store(e.bucket(), "front50/")
	before := map[string]string{"applications/a/specification.json": `{"name":"a","edited":true}`}
	putAll(t, target, before)
	late := &lateStore{Store: target, failKey: "projects/x/project.json", lateKey: "pipelines/p2/pipeline-metadata.json",
		sent: make(chan struct{}), failed: make(chan struct{})}
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: late, Overwrite: true}})
	if err == nil || !strings.Contains(err.Error(), "rolled back to its contents before the restore") {
		t.Fatalf("restore with a failing write: %v, want an error saying the bucket was rolled back", err)
	}
	late.landed.Wait()
	if got := bucketContents(t, target); !maps.Equal(got, before) {
		t.Fatalf("after the failed restore (and the late write landing) the target holds\n%v\nwant it byte-identical to before\n%v", keysOf(got), keysOf(before))
	}
}
