package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Layout of a destination (keys relative to its prefix):
//
//	backups/<id>/mysql/<database>/<table>.tsv.zst   table rows
//	backups/<id>/bucket/<object key>.zst            changed bucket objects
//	backups/<id>/manifest.json                      written last
//	binlogs/<binlog file name>                      archive-binlogs
//
// A backup folder without manifest.json is incomplete and never listed.
const (
	backupsDir   = "backups/"
	binlogsDir   = "binlogs/"
	manifestName = "manifest.json"

	// ManifestFormat is the version of the manifest layout.
	ManifestFormat = 1
	idLayout       = "20060102T150405Z"
)

// Manifest describes one complete backup.
type Manifest struct {
	Format      int            `json:"format"`
	ID          string         `json:"id"`
	ToolVersion string         `json:"tool_version"`
	StartedAt   time.Time      `json:"started_at"`
	SnapshotAt  time.Time      `json:"snapshot_at"`
	CompletedAt time.Time      `json:"completed_at"`
	MySQL       *MySQLManifest `json:"mysql,omitempty"`
	Bucket      *BucketPart    `json:"bucket,omitempty"`
	// StoredBytes is what this backup wrote (shared bucket objects not included).
	StoredBytes int64 `json:"stored_bytes"`
}

// MySQLManifest is the consistent snapshot of the MySQL databases.
type MySQLManifest struct {
	Server         string         `json:"server"`
	ServerVersion  string         `json:"server_version"`
	BinlogFile     string         `json:"binlog_file,omitempty"`
	BinlogPosition uint64         `json:"binlog_position,omitempty"`
	GTID           string         `json:"gtid,omitempty"`
	BinlogFormat   string         `json:"binlog_format,omitempty"`
	Databases      []DatabaseDump `json:"databases"`
}

// DatabaseDump is one database of the snapshot.
type DatabaseDump struct {
	Name      string      `json:"name"`
	CreateSQL string      `json:"create_sql"`
	Tables    []TableDump `json:"tables"`
}

// TableDump is one table: its definition, its rows and where they are.
type TableDump struct {
	Name      string   `json:"name"`
	CreateSQL string   `json:"create_sql"`
	Columns   []Column `json:"columns"`
	Rows      int64    `json:"rows"`
	Data      Part     `json:"data"`
}

// Column is a dumped column; Bit columns travel as numbers.
type Column struct {
	Name string `json:"name"`
	Bit  bool   `json:"bit,omitempty"`
}

// Part is one stored object: its key, stored (compressed) size, the
// uncompressed size and the SHA-256 of the stored bytes.
type Part struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	RawSize int64  `json:"raw_size"`
	SHA256  string `json:"sha256"`
}

// BucketPart is the copy of a bucket source.
type BucketPart struct {
	Source  string        `json:"source"`
	Objects []BucketEntry `json:"objects"`
}

// BucketEntry is one source object. Stored may live in an older backup's
// folder when the object did not change (same ETag or generation).
type BucketEntry struct {
	Key     string `json:"key"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"` // of the original bytes
	Stored  Part   `json:"stored"`
}

// newBackupID returns a sortable id: UTC time to the second and 4 random hex digits.
func newBackupID(now time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format(idLayout) + "-" + hex.EncodeToString(b[:])
}

func backupDir(id string) string { return backupsDir + id + "/" }

func manifestKey(id string) string { return backupDir(id) + manifestName }

func writeManifest(ctx context.Context, dest Store, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the manifest: %w", err)
	}
	if err := dest.Put(ctx, manifestKey(m.ID), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("writing the manifest of backup %s: %w", m.ID, err)
	}
	return nil
}

// ReadManifest reads the manifest of backup id.
func ReadManifest(ctx context.Context, dest Store, id string) (*Manifest, error) {
	rc, _, err := dest.Get(ctx, manifestKey(id))
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of backup %s: %w", id, err)
	}
	defer rc.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(rc, 256<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding the manifest of backup %s: %w", id, err)
	}
	if m.Format > ManifestFormat {
		return nil, fmt.Errorf("backup %s has manifest format %d; this spinops reads up to %d: upgrade spinops", id, m.Format, ManifestFormat)
	}
	return &m, nil
}

// Listing is what a destination holds.
type Listing struct {
	// Complete backups, oldest first.
	Complete []*Manifest
	// Incomplete backup ids (no manifest: interrupted or still running).
	Incomplete []string
	// Binlogs are the archived binary-log files, oldest first.
	Binlogs []ObjectInfo
	// ArchivedUntil is when archive-binlogs last flushed (zero: no archive).
	ArchivedUntil time.Time
}

// List reads every complete backup's manifest and the binlog archive.
func List(ctx context.Context, dest Store) (*Listing, error) {
	objs, err := dest.List(ctx, backupsDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	complete := map[string]bool{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, backupsDir)
		id, file, ok := strings.Cut(rest, "/")
		if !ok {
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		if file == manifestName {
			complete[id] = true
		}
	}
	sort.Strings(ids)
	l := &Listing{}
	for _, id := range ids {
		if !complete[id] {
			l.Incomplete = append(l.Incomplete, id)
			continue
		}
		m, err := ReadManifest(ctx, dest, id)
		if err != nil {
			return nil, err
		}
		l.Complete = append(l.Complete, m)
	}
	if l.Binlogs, err = dest.List(ctx, binlogsDir); err != nil {
		return nil, err
	}
	if l.ArchivedUntil, err = ArchivedUntil(ctx, dest); err != nil {
		return nil, err
	}
	return l, nil
}

// Latest returns the newest complete backup, or nil.
func (l *Listing) Latest() *Manifest {
	if len(l.Complete) == 0 {
		return nil
	}
	return l.Complete[len(l.Complete)-1]
}

// Window is the span a restore can reach.
type Window struct {
	Earliest, Latest time.Time
}

// RestoreWindow is from the oldest complete backup's snapshot to the newest
// snapshot, or, with a binlog archive flushed after it, to the last flush.
func (l *Listing) RestoreWindow() (Window, bool) {
	if len(l.Complete) == 0 {
		return Window{}, false
	}
	w := Window{Earliest: l.Complete[0].SnapshotAt, Latest: l.Latest().SnapshotAt}
	if mm := l.Latest().MySQL; mm != nil && mm.BinlogFile != "" && l.ArchivedUntil.After(w.Latest) {
		w.Latest = l.ArchivedUntil
	}
	return w, true
}

// Find returns the complete backup with id, or an error listing what exists.
func (l *Listing) Find(id string) (*Manifest, error) {
	for _, m := range l.Complete {
		if m.ID == id {
			return m, nil
		}
	}
	for _, inc := range l.Incomplete {
		if inc == id {
			return nil, fmt.Errorf("backup %s is incomplete (no manifest): it was interrupted or is still running", id)
		}
	}
	return nil, fmt.Errorf("no complete backup %s (run `spinops backup list`)", id)
}

// Before returns the newest complete backup whose snapshot is at or before t.
func (l *Listing) Before(t time.Time) (*Manifest, error) {
	for i := len(l.Complete) - 1; i >= 0; i-- {
		if !l.Complete[i].SnapshotAt.After(t) {
			return l.Complete[i], nil
		}
	}
	if len(l.Complete) == 0 {
		return nil, fmt.Errorf("there is no complete backup")
	}
	return nil, fmt.Errorf("no backup was taken at or before %s: the oldest snapshot is %s", t.UTC().Format(time.RFC3339), l.Complete[0].SnapshotAt.UTC().Format(time.RFC3339))
}
