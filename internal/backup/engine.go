// Package backup is the spinops backup engine: consistent logical snapshots
// of MySQL-compatible databases with their binlog position, incremental
// copies of a bucket, manifests with checksums, retention, restore, and
// point-in-time recovery from an archived binary log. It knows nothing
// about Terraform.
package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Engine runs backups into, and restores from, one destination.
type Engine struct {
	Dest        Store
	Log         *slog.Logger
	Now         func() time.Time
	ToolVersion string
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

// Run takes one backup: preflight, MySQL snapshot, bucket copy, then the
// manifest (last), then retention. It returns the manifest.
func (e *Engine) Run(ctx context.Context, o RunOptions) (*Manifest, error) {
	if err := e.Preflight(ctx, o); err != nil {
		return nil, err
	}
	started := e.now().UTC()
	m := &Manifest{Format: ManifestFormat, ID: newBackupID(started), ToolVersion: e.ToolVersion, StartedAt: started, SnapshotAt: started}
	dir := backupDir(m.ID)
	e.log().Info("backup started", "backup", m.ID, "destination", e.Dest.String())
	if o.MySQL != nil {
		mm, snapAt, err := dumpMySQL(ctx, *o.MySQL, o.Databases, e.Dest, dir, e.log())
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", m.ID, err)
		}
		m.MySQL, m.SnapshotAt = mm, snapAt
		for _, d := range mm.Databases {
			for _, t := range d.Tables {
				m.StoredBytes += t.Data.Size
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
				prev = b
			}
		}
		bp, n, err := copyBucket(ctx, o.Bucket, e.Dest, dir, prev, e.log())
		if err != nil {
			return nil, fmt.Errorf("backup %s: %w", m.ID, err)
		}
		m.Bucket, m.StoredBytes = bp, m.StoredBytes+n
	}
	m.CompletedAt = e.now().UTC()
	if err := writeManifest(ctx, e.Dest, m); err != nil {
		return nil, err
	}
	e.log().Info("backup complete", "backup", m.ID, "stored_bytes", m.StoredBytes, "seconds", m.CompletedAt.Sub(started).Seconds())
	if _, err := ApplyRetention(ctx, e.Dest, o.Retention, e.now(), e.log()); err != nil {
		return m, fmt.Errorf("backup %s is complete, but retention failed: %w", m.ID, err)
	}
	return m, nil
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

// Restore checks everything it can first (backup exists and is complete,
// credentials, empty targets or Overwrite, binlogs for At), then restores.
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
	var m *Manifest
	if o.BackupID != "" {
		m, err = l.Find(o.BackupID)
	} else {
		m, err = l.Before(o.At)
	}
	if err != nil {
		return nil, err
	}
	var binlogs []string
	if o.MySQL != nil {
		if m.MySQL == nil {
			return nil, fmt.Errorf("backup %s has no MySQL snapshot", m.ID)
		}
		if err := preflightMySQLRestore(ctx, *o.MySQL, m.MySQL); err != nil {
			return nil, err
		}
		if !o.At.IsZero() {
			if binlogs, err = binlogsFor(l, m, o.At); err != nil {
				return nil, err
			}
		}
	}
	var existing []ObjectInfo
	if o.Bucket != nil {
		if m.Bucket == nil {
			return nil, fmt.Errorf("backup %s has no bucket copy", m.ID)
		}
		if existing, err = preflightBucketRestore(ctx, *o.Bucket); err != nil {
			return nil, err
		}
	}
	e.log().Info("restore started", "backup", m.ID, "snapshot_at", m.SnapshotAt)
	if o.MySQL != nil {
		if err := restoreMySQL(ctx, e.Dest, m.MySQL, *o.MySQL, e.log()); err != nil {
			return m, fmt.Errorf("restoring backup %s: %w", m.ID, err)
		}
		if len(binlogs) > 0 {
			r := replay{dest: e.Dest, tool: o.BinlogTool, client: o.ClientTool, log: e.log()}
			if err := r.run(ctx, m.MySQL, binlogs, o.At, *o.MySQL); err != nil {
				return m, fmt.Errorf("replaying the binlog of backup %s up to %s: %w", m.ID, o.At.UTC().Format(time.RFC3339), err)
			}
		}
	}
	if o.Bucket != nil {
		if err := restoreBucket(ctx, e.Dest, m.Bucket, *o.Bucket, existing, e.log()); err != nil {
			return m, fmt.Errorf("restoring backup %s: %w", m.ID, err)
		}
	}
	e.log().Info("restore complete", "backup", m.ID)
	return m, nil
}

// VerifyReport is what Verify checked.
type VerifyReport struct {
	Parts, Rows, Bytes int64
}

// Verify reads every part of a backup and checks sizes, SHA-256 and row
// counts against its manifest, without restoring anything.
func (e *Engine) Verify(ctx context.Context, id string) (*VerifyReport, error) {
	m, err := ReadManifest(ctx, e.Dest, id)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{}
	check := func(p Part, wantRows int64) error {
		rc, _, err := e.Dest.Get(ctx, p.Path)
		if err != nil {
			return err
		}
		defer rc.Close()
		hr := newHashReader(rc)
		rows, raw, err := countRows(hr)
		if err != nil {
			return fmt.Errorf("decompressing %s: %w", p.Path, err)
		}
		if hr.sum() != p.SHA256 || hr.n != p.Size {
			return fmt.Errorf("%s: %d bytes with SHA-256 %s, the manifest says %d bytes with %s", p.Path, hr.n, hr.sum(), p.Size, p.SHA256)
		}
		if raw != p.RawSize {
			return fmt.Errorf("%s: %d bytes uncompressed, the manifest says %d", p.Path, raw, p.RawSize)
		}
		if wantRows >= 0 && rows != wantRows {
			return fmt.Errorf("%s: %d rows, the manifest says %d", p.Path, rows, wantRows)
		}
		rep.Parts++
		rep.Bytes += p.Size
		if wantRows > 0 {
			rep.Rows += wantRows
		}
		return nil
	}
	if m.MySQL != nil {
		for _, d := range m.MySQL.Databases {
			for _, t := range d.Tables {
				if err := check(t.Data, t.Rows); err != nil {
					return rep, fmt.Errorf("verifying backup %s: %w", id, err)
				}
			}
		}
	}
	if m.Bucket != nil {
		for _, o := range m.Bucket.Objects {
			if err := check(o.Stored, -1); err != nil {
				return rep, fmt.Errorf("verifying backup %s: %w", id, err)
			}
		}
	}
	return rep, nil
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
