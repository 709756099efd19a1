// Package backup is the spinops backup engine: consistent logical snapshots
// of MySQL-compatible databases with their binlog position, incremental
// copies of a bucket, signed manifests with checksums, retention, restore
// that verifies before it replaces anything, point-in-time recovery from a
// per-server binlog archive whose continuity is proven, and restore drills.
// It knows nothing about Terraform.
package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Engine runs backups into, and restores from, one destination.
type Engine struct {
	Dest        Store
	Log         *slog.Logger
	Now         func() time.Time
	ToolVersion string
	// Keys sign new manifests and verify them before a restore or a
	// verification trusts them.
	Keys *Keys
	// Dump tunes the MySQL dump (parallel connections, chunk size).
	Dump DumpOptions
	// LeaseInterval is how often a running backup renews its lease
	// (default 1 minute); retention leaves a backup folder alone while
	// anything in it is younger than LeaseTTL (default 15 minutes).
	LeaseInterval, LeaseTTL time.Duration
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// RunOptions are the sources of one backup.
type RunOptions struct {
	MySQL     *MySQLServer
	Databases []string
	Bucket    Store
	Retention Retention
	// PointInTime refuses a server whose binlog cannot serve point-in-time
	// recovery (log_bin off or not ROW).
	PointInTime bool
}

// Preflight checks, before anything is written, that the sources can be
// read with the given credentials and that the destination is writable.
func (e *Engine) Preflight(ctx context.Context, o RunOptions) error {
	if o.MySQL != nil {
		pool, err := o.MySQL.open("")
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := pool.PingContext(ctx); err != nil {
			return connectError(*o.MySQL, err)
		}
		si, err := readServerInfo(ctx, pool)
		if err != nil {
			return err
		}
		if o.PointInTime {
			if err := si.checkPointInTime(o.MySQL.addr()); err != nil {
				return err
			}
		}
		for _, db := range o.Databases {
			var n int
			if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db).Scan(&n); err != nil {
				return fmt.Errorf("checking database %s: %w", db, err)
			}
			if n == 0 {
				return fmt.Errorf("database %s does not exist on %s, or user %q may not see it", db, o.MySQL.addr(), o.MySQL.User)
			}
		}
	}
	if o.Bucket != nil {
		if _, err := o.Bucket.List(ctx, ".spinops-preflight-"); err != nil {
			return fmt.Errorf("the bucket source cannot be read: %w", err)
		}
	}
	return CheckWritable(ctx, e.Dest)
}

// CheckWritable writes and deletes a small object at the destination.
func CheckWritable(ctx context.Context, dest Store) error {
	key := ".spinops-write-check-" + newBackupID(time.Now())
	if err := dest.Put(ctx, key, bytes.NewReader([]byte("spinops"))); err != nil {
		return fmt.Errorf("the destination %s is not writable: %w", dest, err)
	}
	if err := dest.Delete(ctx, key); err != nil {
		return fmt.Errorf("the destination %s does not allow deleting (retention needs it): %w", dest, err)
	}
	return nil
}

// Run takes one backup: preflight, a lease on its folder, MySQL snapshot,
// bucket copy, a check that every part is still there, the signed
// manifest (last), then retention. It returns the manifest.
func (e *Engine) Run(ctx context.Context, o RunOptions) (*Manifest, error) {
	if err := e.Preflight(ctx, o); err != nil {
		return nil, err
	}
	started := e.now().UTC()
	m := &Manifest{Format: ManifestFormat, ID: newBackupID(started), ToolVersion: e.ToolVersion, StartedAt: started, SnapshotAt: started}
	dir := backupDir(m.ID)
	lease, err := e.holdLease(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	defer lease.stop()
	e.log().Info("backup started", "backup", m.ID, "destination", e.Dest.String())
	if o.MySQL != nil {
		mm, snapAt, err := dumpMySQL(ctx, *o.MySQL, o.Databases, e.Dest, dir, e.Dump, e.log())
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", m.ID, err)
		}
		m.MySQL, m.SnapshotAt = mm, snapAt
		for _, d := range mm.Databases {
			for _, t := range d.Tables {
				for _, p := range t.Parts {
					m.StoredBytes += p.Size
				}
			}
		}
	}
	if o.Bucket != nil {
		var prev *BucketPart
		l, err := List(ctx, e.Dest)
		if err != nil {
			return nil, fmt.Errorf("backup %s: reading the previous backup: %w", m.ID, err)
		}
		for i := len(l.Complete) - 1; i >= 0 && prev == nil; i-- {
			if b := l.Complete[i].Bucket; b != nil && b.Source == o.Bucket.String() {
				// Its unchanged objects' parts become this backup's: the
				// lease says so first, and retention keeps it meanwhile;
				// then its manifest must still be there (else a retention
				// that read the leases before took it: copy everything).
				id := l.Complete[i].ID
				if err := lease.reuse(ctx, id); err != nil {
					return nil, fmt.Errorf("backup %s: %w", m.ID, err)
				}
				objs, err := e.Dest.List(ctx, manifestKey(id))
				if err != nil {
					return nil, fmt.Errorf("backup %s: checking backup %s is still there to build on: %w", m.ID, id, err)
				}
				if slices.ContainsFunc(objs, func(o ObjectInfo) bool { return o.Key == manifestKey(id) }) {
					prev = b
				} else {
					e.log().Info("the previous backup went while this one started: every object is copied", "backup", m.ID, "previous", id)
					break
				}
			}
		}
		bp, n, err := copyBucket(ctx, o.Bucket, e.Dest, dir, prev, e.log())
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", m.ID, err)
		}
		m.Bucket, m.StoredBytes = bp, m.StoredBytes+n
	}
	if err := e.checkPartsPresent(ctx, m); err != nil {
		return nil, fmt.Errorf("backup %s: %w", m.ID, err)
	}
	m.CompletedAt = e.now().UTC()
	if err := writeManifest(ctx, e.Dest, m, e.Keys); err != nil {
		return nil, err
	}
	lease.stop()
	e.log().Info("backup complete", "backup", m.ID, "stored_bytes", m.StoredBytes, "seconds", m.CompletedAt.Sub(started).Seconds(), "signed", e.Keys.canSign())
	if _, err := e.ApplyRetention(ctx, o.Retention); err != nil {
		return m, fmt.Errorf("backup %s is complete, but retention failed: %w", m.ID, err)
	}
	return m, nil
}

// leaseRecord is backups/<id>/lease.json: a running backup, renewed
// every LeaseInterval, and the complete backups whose parts it reuses.
type leaseRecord struct {
	Backup    string    `json:"backup"`
	RenewedAt time.Time `json:"renewed_at"`
	Host      string    `json:"host"`
	Reuses    []string  `json:"reuses,omitempty"`
}

// lease is a running backup's hold on its folder.
type lease struct {
	e            *Engine
	key          string
	mu           sync.Mutex
	rec          leaseRecord
	stopRenewing func() // the renewals
	once         sync.Once
}

// put writes the lease; the lock is held through the write, so a renewal
// never lands after (and undoes) a reuse recorded since.
func (l *lease) put(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.RenewedAt = time.Now().UTC()
	b, _ := json.Marshal(l.rec)
	return l.e.Dest.Put(ctx, l.key, bytes.NewReader(b))
}

// reuse records that the backup names parts of backup id (written at
// once, before any of them is named).
func (l *lease) reuse(ctx context.Context, id string) error {
	l.mu.Lock()
	l.rec.Reuses = append(l.rec.Reuses, id)
	l.mu.Unlock() // put takes it again for the write
	if err := l.put(ctx); err != nil {
		return fmt.Errorf("recording in its lease that it reuses backup %s's parts: %w", id, err)
	}
	return nil
}

// stop ends the renewals and removes the lease.
func (l *lease) stop() {
	l.once.Do(func() {
		l.stopRenewing()
		_ = l.e.Dest.Delete(context.WithoutCancel(context.Background()), l.key)
	})
}

// holdLease writes backups/<id>/lease.json and rewrites it every
// LeaseInterval until stop is called (which removes it).
func (e *Engine) holdLease(ctx context.Context, id string) (*lease, error) {
	l := &lease{e: e, key: backupDir(id) + leaseName, rec: leaseRecord{Backup: id, Host: hostname()}}
	if err := l.put(ctx); err != nil {
		return nil, fmt.Errorf("backup %s: writing its lease: %w", id, err)
	}
	every := e.LeaseInterval
	if every <= 0 {
		every = time.Minute
	}
	l.stopRenewing = repeat(ctx, every, func(ctx context.Context) {
		if err := l.put(ctx); err != nil && ctx.Err() == nil {
			e.log().Warn("renewing the backup's lease failed", "backup", id, "error", err)
		}
	})
	return l, nil
}

// repeat runs fn every interval, from a goroutine, until the returned
// stop is called (or ctx ends); stop waits for a run under way to return.
func repeat(ctx context.Context, every time.Duration, fn func(context.Context)) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				fn(rctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// checkPartsPresent lists the folders of the backup's parts (its own and
// those of the older backups it reuses parts of) and checks every part is
// there with its size, so no manifest is ever written for parts something
// else removed.
func (e *Engine) checkPartsPresent(ctx context.Context, m *Manifest) error {
	have := map[string]int64{}
	listed := map[string]bool{}
	for _, p := range m.allParts() {
		dir := partFolder(p.Path)
		if listed[dir] {
			continue
		}
		listed[dir] = true
		objs, err := e.Dest.List(ctx, dir)
		if err != nil {
			return fmt.Errorf("listing its parts: %w", err)
		}
		for _, o := range objs {
			have[o.Key] = o.Size
		}
	}
	for _, p := range m.allParts() {
		if size, ok := have[p.Path]; !ok || size != p.Size {
			return fmt.Errorf("part %s disappeared or changed while the backup ran (%d bytes, want %d): no manifest written", p.Path, size, p.Size)
		}
	}
	return nil
}

// partFolder is the backup folder a part is stored in.
func partFolder(path string) string {
	rest := strings.TrimPrefix(path, backupsDir)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return backupsDir + rest[:i+1]
	}
	return path
}

func (m *Manifest) allParts() []Part {
	var out []Part
	if m.MySQL != nil {
		for _, d := range m.MySQL.Databases {
			for _, t := range d.Tables {
				for _, p := range t.parts() {
					out = append(out, p.Part)
				}
			}
		}
	}
	if m.Bucket != nil {
		for _, o := range m.Bucket.Objects {
			out = append(out, o.Stored)
		}
	}
	return out
}

// RestoreOptions say what to restore where. Exactly one of BackupID and At
// is set; At restores the newest backup before it and replays the archived
// binlog up to it.
type RestoreOptions struct {
	BackupID string
	At       time.Time
	MySQL    *MySQLTarget
	Bucket   *BucketTarget
	// BinlogTool and ClientTool override mariadb-binlog and mariadb.
	BinlogTool, ClientTool string
}

// Restore never replaces anything before everything is verified: it checks
// the manifest's signature, the targets and, for --at, that the binlog
// archive reaches the time without a gap; loads and checks every part into
// staging databases (and replays the binlog there); reads every bucket
// part; and only then swaps the databases in and writes the bucket.
func (e *Engine) Restore(ctx context.Context, o RestoreOptions) (*Manifest, error) {
	if (o.BackupID == "") == o.At.IsZero() {
		return nil, errors.New("restore: give either a backup id or a point in time (--at), not both")
	}
	if o.MySQL == nil && o.Bucket == nil {
		return nil, errors.New("restore: nothing to restore into: give a MySQL target, a bucket target or both")
	}
	l, err := List(ctx, e.Dest)
	if err != nil {
		return nil, err
	}
	var picked *Manifest
	if o.BackupID != "" {
		picked, err = l.Find(o.BackupID)
	} else {
		picked, err = l.Before(o.At)
	}
	if err != nil {
		return nil, err
	}
	m, err := VerifiedManifest(ctx, e.Dest, picked.ID, e.Keys)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	var binlogPaths []string
	if o.MySQL != nil {
		if m.MySQL == nil {
			return nil, fmt.Errorf("backup %s has no MySQL snapshot", m.ID)
		}
		if err := preflightMySQLRestore(ctx, *o.MySQL, m.MySQL); err != nil {
			return nil, err
		}
		if !o.At.IsZero() {
			dir, err := os.MkdirTemp("", "spinops-binlogs-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			if binlogPaths, err = e.binlogsUntil(ctx, m, o.At, dir); err != nil {
				return nil, err
			}
		}
	}
	var existing []ObjectInfo
	if o.Bucket != nil {
		if m.Bucket == nil {
			return nil, fmt.Errorf("backup %s has no bucket copy", m.ID)
		}
		if existing, err = preflightBucketRestore(ctx, *o.Bucket, m.Bucket.Source); err != nil {
			return nil, err
		}
		// The bucket has no staging area to swap from: read and check
		// every part first, so a damaged backup never touches the target.
		for _, be := range m.Bucket.Objects {
			if err := e.checkPart(ctx, be.Stored, -1); err != nil {
				return nil, fmt.Errorf("restoring backup %s (nothing was changed): %w", m.ID, err)
			}
		}
	}
	e.log().Info("restore started", "backup", m.ID, "snapshot_at", m.SnapshotAt)
	var stages []staged
	var sw *swapped
	if o.MySQL != nil {
		if stages, err = stageMySQL(ctx, e.Dest, m.MySQL, *o.MySQL, e.log()); err != nil {
			return m, fmt.Errorf("restoring backup %s: %w", m.ID, err)
		}
		if len(binlogPaths) > 0 {
			into := map[string]string{}
			for _, st := range stages {
				into[st.dump.Name] = st.stage
			}
			r := replay{tool: o.BinlogTool, client: o.ClientTool, log: e.log()}
			if err := r.run(ctx, m.MySQL, binlogPaths, o.At, into, o.MySQL.Server); err != nil {
				e.dropStages(ctx, *o.MySQL, stages)
				return m, fmt.Errorf("replaying the binlog of backup %s up to %s (nothing in the targets was changed): %w", m.ID, o.At.UTC().Format(time.RFC3339), err)
			}
		}
		if sw, err = swapIn(ctx, *o.MySQL, m.ID, stages, e.log()); err != nil {
			if !errors.Is(err, errJournalKept) {
				e.dropStages(context.WithoutCancel(ctx), *o.MySQL, stages)
			}
			return m, fmt.Errorf("restoring backup %s: %w", m.ID, err)
		}
	}
	if o.Bucket != nil {
		if err := restoreBucket(ctx, e.Dest, m.ID, m.Bucket, *o.Bucket, existing, e.log()); err != nil {
			if sw != nil {
				// The databases go back too: a backup is restored whole
				// or not at all.
				if rbErr := sw.rollBack(ctx); rbErr != nil {
					return m, fmt.Errorf("restoring backup %s: the bucket was not restored: %w; putting the databases back failed too (they hold the backup's data): %v", m.ID, err, rbErr)
				}
				e.dropStages(context.WithoutCancel(ctx), *o.MySQL, stages)
				return m, fmt.Errorf("restoring backup %s: the bucket was not restored, and the databases were put back as they were: %w", m.ID, err)
			}
			return m, fmt.Errorf("restoring backup %s: %w", m.ID, err)
		}
	}
	if sw != nil {
		if err := sw.commit(ctx); err != nil {
			return m, fmt.Errorf("restoring backup %s: %w", m.ID, err)
		}
	}
	e.log().Info("restore complete", "backup", m.ID)
	return m, nil
}

func (e *Engine) dropStages(ctx context.Context, t MySQLTarget, stages []staged) {
	admin, err := t.Server.open("")
	if err != nil {
		return
	}
	defer admin.Close()
	dropStages(context.WithoutCancel(ctx), admin, stages, e.log())
}

// binlogsUntil downloads and proves the archive from m's position to at.
func (e *Engine) binlogsUntil(ctx context.Context, m *Manifest, at time.Time, dir string) ([]string, error) {
	if !at.After(m.SnapshotAt) {
		// The snapshot is that moment: nothing to replay (binlog events
		// carry whole seconds, so the archive may prove only the second
		// before it).
		return nil, nil
	}
	c, paths, err := fetchChain(ctx, e.Dest, e.Keys, m, dir)
	if err != nil {
		return nil, fmt.Errorf("restore --at %s: %w", at.UTC().Format(time.RFC3339), err)
	}
	if c.Until.Before(at) {
		if c.Gap != nil {
			return nil, fmt.Errorf("restore --at %s: %w", at.UTC().Format(time.RFC3339), c.Gap)
		}
		return nil, fmt.Errorf("restore --at %s: the binlog archive of server %s reaches only %s (its last archived event or caught-up check): is `spinops backup archive-binlogs` running?",
			at.UTC().Format(time.RFC3339), c.Server, c.Until.UTC().Format(time.RFC3339))
	}
	return paths, nil
}

// VerifyReport is what Verify checked.
type VerifyReport struct {
	Parts, Rows, Bytes int64
}

// Verify checks the manifest's signature and reads every part of a backup,
// checking sizes, SHA-256 and row counts against the manifest, without
// restoring anything.
func (e *Engine) Verify(ctx context.Context, id string) (*VerifyReport, error) {
	m, err := VerifiedManifest(ctx, e.Dest, id, e.Keys)
	if err != nil {
		return nil, err
	}
	return e.verifyParts(ctx, m)
}

func (e *Engine) verifyParts(ctx context.Context, m *Manifest) (*VerifyReport, error) {
	rep := &VerifyReport{}
	if m.MySQL != nil {
		for _, d := range m.MySQL.Databases {
			for _, t := range d.Tables {
				for _, p := range t.parts() {
					if err := e.checkPart(ctx, p.Part, p.Rows); err != nil {
						return rep, fmt.Errorf("verifying backup %s: %w", m.ID, err)
					}
					rep.Parts++
					rep.Bytes += p.Size
					rep.Rows += p.Rows
				}
			}
		}
	}
	if m.Bucket != nil {
		for _, o := range m.Bucket.Objects {
			if err := e.checkPart(ctx, o.Stored, -1); err != nil {
				return rep, fmt.Errorf("verifying backup %s: %w", m.ID, err)
			}
			rep.Parts++
			rep.Bytes += o.Stored.Size
		}
	}
	return rep, nil
}

func (e *Engine) checkPart(ctx context.Context, p Part, wantRows int64) error {
	rc, _, err := e.Dest.Get(ctx, p.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	hr := NewHashReader(rc)
	rows, raw, err := countRows(hr)
	if err != nil {
		return fmt.Errorf("decompressing %s: %w", p.Path, err)
	}
	if hr.Sum() != p.SHA256 || hr.n != p.Size {
		return fmt.Errorf("%s: %d bytes with SHA-256 %s, the manifest says %d bytes with %s", p.Path, hr.n, hr.Sum(), p.Size, p.SHA256)
	}
	if raw != p.RawSize {
		return fmt.Errorf("%s: %d bytes uncompressed, the manifest says %d", p.Path, raw, p.RawSize)
	}
	if wantRows >= 0 && rows != wantRows {
		return fmt.Errorf("%s: %d rows, the manifest says %d", p.Path, rows, wantRows)
	}
	return nil
}

// countRows decompresses r and counts newline-terminated rows.
func countRows(r io.Reader) (rows, raw int64, err error) {
	zr, err := newZstdReader(r)
	if err != nil {
		return 0, 0, err
	}
	defer zr.Close()
	buf := make([]byte, 256<<10)
	for {
		n, err := zr.Read(buf)
		raw += int64(n)
		rows += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			return rows, raw, nil
		}
		if err != nil {
			return rows, raw, err
		}
	}
}
