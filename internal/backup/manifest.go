package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Layout of a destination (keys relative to its prefix):
//
//	backups/<id>/lease.json                         rewritten while the run is alive
//	backups/<id>/mysql/<database>/<table>.<n>.tsv.zst  table rows, one part per chunk
//	backups/<id>/bucket/<object key>.zst            changed bucket objects
//	backups/<id>/manifest.sig                       signatures of manifest.json
//	backups/<id>/manifest.json                      written last
//	binlogs/<server>/<binlog file name>             archive-binlogs (binlog_archive.go)
//	drills/<time>.json                              results of `verify --drill`
//
// A backup folder without manifest.json is incomplete and never listed.
const (
	backupsDir   = "backups/"
	binlogsDir   = "binlogs/"
	manifestName = "manifest.json"
	sigName      = "manifest.sig"
	leaseName    = "lease.json"

	// ManifestFormat is the version of the manifest layout.
	ManifestFormat = 2
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
	Server        string `json:"server"`
	ServerVersion string `json:"server_version"`
	// ServerID, ServerUUID (MySQL) and GTIDDomain (MariaDB) identify the
	// server; ArchiveServer is the folder of its binlog archive.
	ServerID      uint32 `json:"server_id,omitempty"`
	ServerUUID    string `json:"server_uuid,omitempty"`
	GTIDDomain    uint32 `json:"gtid_domain,omitempty"`
	ArchiveServer string `json:"archive_server,omitempty"`
	// Instance is the server's @@hostname:@@port:@@datadir (see
	// serverInfo.Instance); empty in manifests written before it existed.
	Instance       string         `json:"instance,omitempty"`
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
	// Objects are the views, triggers, routines and events, created after
	// the tables.
	Objects []SchemaObject `json:"objects,omitempty"`
}

// Kinds of SchemaObject.
const (
	ObjectView      = "VIEW"
	ObjectTrigger   = "TRIGGER"
	ObjectProcedure = "PROCEDURE"
	ObjectFunction  = "FUNCTION"
	ObjectEvent     = "EVENT"
)

// SchemaObject is a view, trigger, routine or event: SHOW CREATE's
// statement and the sql_mode it was created under.
type SchemaObject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	CreateSQL string `json:"create_sql"`
	SQLMode   string `json:"sql_mode,omitempty"`
}

// TableDump is one table: its definition, its rows and where they are.
type TableDump struct {
	Name      string   `json:"name"`
	CreateSQL string   `json:"create_sql"`
	Columns   []Column `json:"columns"`
	Rows      int64    `json:"rows"`
	// RowDigest is the sum (mod 2^64) of the xxHash64 of every row in its
	// dump format, so it does not depend on row order or chunking: a
	// drill re-reads the restored table and compares.
	RowDigest string      `json:"row_digest,omitempty"`
	Parts     []TablePart `json:"parts,omitempty"`
	// Data is the single part of format-1 manifests.
	Data *Part `json:"data,omitempty"`
}

// TablePart is one chunk of a table's rows.
type TablePart struct {
	Part
	Rows int64 `json:"rows"`
}

// parts returns the table's parts (format 1: the single Data part).
func (t *TableDump) parts() []TablePart {
	if len(t.Parts) == 0 && t.Data != nil {
		return []TablePart{{Part: *t.Data, Rows: t.Rows}}
	}
	return t.Parts
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

func sigKey(id string) string { return backupDir(id) + sigName }

// writeManifest writes the signatures (when keys can sign), then the manifest.
func writeManifest(ctx context.Context, dest Store, m *Manifest, keys *Keys) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the manifest: %w", err)
	}
	if keys.canSign() {
		sig, err := keys.sign(b)
		if err != nil {
			return fmt.Errorf("signing the manifest of backup %s: %w", m.ID, err)
		}
		if err := dest.Put(ctx, sigKey(m.ID), bytes.NewReader(sig)); err != nil {
			return fmt.Errorf("writing the signature of backup %s: %w", m.ID, err)
		}
	}
	if err := dest.Put(ctx, manifestKey(m.ID), bytes.NewReader(b)); err != nil {
		return fmt.Errorf("writing the manifest of backup %s: %w", m.ID, err)
	}
	return nil
}

// ReadManifest reads the manifest of backup id, without checking its
// signature (VerifiedManifest does).
func ReadManifest(ctx context.Context, dest Store, id string) (*Manifest, error) {
	m, _, err := readManifest(ctx, dest, id)
	return m, err
}

// VerifiedManifest reads the manifest of backup id and checks its
// signature with keys: a manifest is trusted only when signed.
func VerifiedManifest(ctx context.Context, dest Store, id string, keys *Keys) (*Manifest, error) {
	m, raw, err := readManifest(ctx, dest, id)
	if err != nil {
		return nil, err
	}
	rc, _, err := dest.Get(ctx, sigKey(id))
	var sig []byte
	if err == nil {
		sig, err = io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("reading the signature of backup %s: %w", id, err)
	}
	if err := keys.verify(raw, sig); err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, err)
	}
	return m, nil
}

func readManifest(ctx context.Context, dest Store, id string) (*Manifest, []byte, error) {
	rc, _, err := dest.Get(ctx, manifestKey(id))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the manifest of backup %s: %w", id, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the manifest of backup %s: %w", id, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("decoding the manifest of backup %s: %w", id, err)
	}
	if m.ID != id {
		return nil, nil, fmt.Errorf("the manifest in backups/%s/ says it is backup %q: it was moved or tampered with", id, m.ID)
	}
	if m.Format > ManifestFormat {
		return nil, nil, fmt.Errorf("backup %s has manifest format %d; this spinops reads up to %d: upgrade spinops", id, m.Format, ManifestFormat)
	}
	return &m, raw, nil
}

// Listing is what a destination holds.
type Listing struct {
	// Complete backups, oldest first.
	Complete []*Manifest
	// Incomplete backup ids (no manifest: interrupted or still running).
	Incomplete []string
	// Unverified backup ids: complete, but their manifest's signature
	// does not verify with the listing's keys (ListVerified only). A
	// restore refuses them without --allow-unsigned; they are not in
	// Complete, nor in the window.
	Unverified []string
	// Archives are the binlog archives, by folder: a server's key, or
	// key~<unix seconds> for a history preserved after a reset.
	Archives map[string]*ServerArchive
	// Chain is the continuous binlog run from the newest backup with a
	// binlog position (nil: none, or its server has no archive).
	Chain *Chain
	// ChainErr says why the newest backup cannot be rolled forward.
	ChainErr error
	// ArchivedUntil is the time the archive provably reaches from the
	// newest backup: its last archived event, or a later caught-up check
	// matching the files (zero: no archive). From List it is what the
	// bucket claims (List reads no signatures: it needs no key); from
	// ListVerified, what signed files and a signed status reach.
	ArchivedUntil time.Time
	// Drills are the recorded restore drills, oldest first.
	Drills []DrillResult
}

// List reads every complete backup's manifest, the binlog archives (the
// continuity from the newest backup, from the cached scans; signatures are
// not checked here, see ListVerified) and the drill results.
func List(ctx context.Context, dest Store) (*Listing, error) { return list(ctx, dest, nil) }

// ListVerified is List with what a restore that verifies would trust
// (keys that can verify; with AllowUnsigned, or none, it is List): only
// manifests whose signature verifies are complete backups (the others are
// Unverified), the archiver's status extends the window only when signed,
// and the chain ends before the first binlog file without a valid
// signature covering the whole object (its .sig is read, not its bytes:
// a file whose bytes do not hash to what is signed is still found only by
// a restore or a drill).
func ListVerified(ctx context.Context, dest Store, keys *Keys) (*Listing, error) {
	if !keys.CanVerify() || keys.AllowUnsigned {
		keys = nil
	}
	return list(ctx, dest, keys)
}

func list(ctx context.Context, dest Store, keys *Keys) (*Listing, error) {
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
		if keys != nil {
			m, err := VerifiedManifest(ctx, dest, id, keys)
			if errors.Is(err, ErrUnsigned) {
				l.Unverified = append(l.Unverified, id)
				continue
			}
			if err != nil {
				return nil, err
			}
			l.Complete = append(l.Complete, m)
			continue
		}
		m, err := ReadManifest(ctx, dest, id)
		if err != nil {
			return nil, err
		}
		l.Complete = append(l.Complete, m)
	}
	var all map[string]ObjectInfo
	if l.Archives, all, err = listArchives(ctx, dest); err != nil {
		return nil, err
	}
	if keys != nil {
		for _, ar := range l.Archives {
			if ar.Status != nil {
				ar.Status = verifiedStatus(ctx, dest, keys, ar.Server)
			}
		}
	}
	for i := len(l.Complete) - 1; i >= 0; i-- {
		mm := l.Complete[i].MySQL
		if mm == nil || mm.BinlogFile == "" {
			continue
		}
		sc := &scanner{dest: dest, cache: map[string]*BinlogFile{}, trustCache: true}
		l.Chain, l.ChainErr = backupChain(ctx, l.Archives, all, sc, l.Complete[i])
		if errors.Is(l.ChainErr, errNoArchive) {
			l.ChainErr = nil
			break
		}
		if l.Chain != nil && keys != nil {
			if err := signedChain(ctx, dest, keys, l.Chain); err != nil {
				l.Chain, l.ChainErr = nil, err
			}
		}
		if l.Chain != nil {
			l.ArchivedUntil = l.Chain.Until
		}
		break
	}
	if l.Drills, err = listDrills(ctx, dest); err != nil {
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
	// Gap, when set, is where the binlog archive stops being continuous
	// (the window ends there).
	Gap *GapError
}

// RestoreWindow is from the oldest complete backup's snapshot to the newest
// snapshot or, when the binlog archive continues it without a gap, to the
// time the archive provably reaches.
func (l *Listing) RestoreWindow() (Window, bool) {
	if len(l.Complete) == 0 {
		return Window{}, false
	}
	w := Window{Earliest: l.Complete[0].SnapshotAt, Latest: l.Latest().SnapshotAt}
	if l.Chain != nil {
		w.Gap = l.Chain.Gap
		if l.Chain.Until.After(w.Latest) {
			w.Latest = l.Chain.Until
		}
	}
	// The archive lacks the very file the newest backup starts in: no
	// point in time past its snapshot, and the gap says why.
	var g *GapError
	if l.Chain == nil && errors.As(l.ChainErr, &g) {
		w.Gap = g
	}
	return w, true
}

// ArchiverStatus is the newest status an archiver wrote (by heartbeat,
// over every server's archive: after a failover the archiver writes under
// the new server's key), nil when there is none. Its heartbeat stops when
// the archiver is gone, and BehindBytes grows when its stream stalls
// while the server writes.
func (l *Listing) ArchiverStatus() *ArchiveStatus {
	var newest *ArchiveStatus
	for _, a := range l.Archives {
		if a.Status != nil && (newest == nil || a.Status.HeartbeatAt.After(newest.HeartbeatAt)) {
			newest = a.Status
		}
	}
	return newest
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
