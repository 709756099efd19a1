package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Retention says which complete backups to keep: a backup is kept when it
// is one of the newest Count, or when its snapshot is younger than Days
// days. Zero disables a rule; with both zero everything is kept. The newest
// complete backup, and the newest one that verifies, are always kept.
type Retention struct {
	Count int `json:"count,omitempty"`
	Days  int `json:"days,omitempty"`
}

func (r Retention) keeps(i int, m *Manifest, now time.Time) bool {
	if r.Count == 0 && r.Days == 0 {
		return true
	}
	if i == 0 {
		return true // the newest complete backup, whatever the rules say
	}
	if r.Count > 0 && i < r.Count {
		return true
	}
	return r.Days > 0 && now.Sub(m.SnapshotAt) < time.Duration(r.Days)*24*time.Hour
}

// RetentionResult is what ApplyRetention removed and kept.
type RetentionResult struct {
	Deleted           []string // complete backups removed
	IncompleteRemoved []string // interrupted backups (no manifest, nothing written for LeaseTTL)
	BinlogsRemoved    []string // archived binlogs (folder/file) no kept backup needs
	// NewestVerified is the newest backup whose signature and parts
	// verified; it is kept whatever the rules say.
	NewestVerified string
}

// ApplyRetention applies r at dest with checksum verification only (no
// signature keys); Engine.ApplyRetention also checks signatures.
func ApplyRetention(ctx context.Context, dest Store, r Retention, now time.Time, log *slog.Logger) (*RetentionResult, error) {
	e := &Engine{Dest: dest, Log: log, Now: func() time.Time { return now }, Keys: &Keys{AllowUnsigned: true}}
	return e.ApplyRetention(ctx, r)
}

// ApplyRetention deletes the complete backups r does not keep, backup
// folders without a manifest in which nothing was written for LeaseTTL (a
// running backup renews its lease, so overlapping runs never delete each
// other's parts), and archived binlog files that no kept backup of the
// same server needs. The newest backup that verifies (signature, every
// part's checksum and row count) is always kept, so retention never leaves
// only unusable backups. A deleted backup loses its manifest first, so it
// is never listed half-deleted; parts a kept backup still refers to stay.
func (e *Engine) ApplyRetention(ctx context.Context, r Retention) (*RetentionResult, error) {
	l, err := List(ctx, e.Dest)
	if err != nil {
		return nil, fmt.Errorf("applying retention: %w", err)
	}
	res := &RetentionResult{}
	now := e.now()
	objs, err := e.Dest.List(ctx, backupsDir)
	if err != nil {
		return nil, fmt.Errorf("applying retention: %w", err)
	}
	reused := e.leasedReuses(ctx, objs, now)
	keepIDs := map[string]bool{}
	var keep, drop []*Manifest
	if len(l.Complete) > 0 {
		for i := len(l.Complete) - 1; i >= 0; i-- {
			m := l.Complete[i]
			if r.keeps(len(l.Complete)-1-i, m, now) {
				keepIDs[m.ID] = true
			}
		}
		// A running backup reuses parts of older ones: they stay while it
		// holds its lease (its manifest keeps those parts afterwards).
		for id := range reused {
			keepIDs[id] = true
		}
		if len(keepIDs) < len(l.Complete) {
			// Something would be deleted: make sure a usable backup stays.
			for i := len(l.Complete) - 1; i >= 0; i-- {
				m := l.Complete[i]
				err := e.verifyForRetention(ctx, m)
				if err == nil {
					res.NewestVerified = m.ID
					keepIDs[m.ID] = true
					break
				}
				e.log().Warn("retention: backup does not verify; keeping an older one that does", "backup", m.ID, "error", err)
			}
		}
		for i := len(l.Complete) - 1; i >= 0; i-- {
			if m := l.Complete[i]; keepIDs[m.ID] {
				keep = append(keep, m)
			} else {
				drop = append(drop, m)
			}
		}
	}
	referenced := map[string]bool{}
	for _, m := range keep {
		for _, p := range m.parts() {
			referenced[p] = true
		}
	}
	removeFolder := func(id string) error {
		dir := backupDir(id)
		for _, o := range objs {
			if strings.HasPrefix(o.Key, dir) && !referenced[o.Key] {
				if err := e.Dest.Delete(ctx, o.Key); err != nil {
					return fmt.Errorf("applying retention to backup %s: %w", id, err)
				}
			}
		}
		return nil
	}
	for i := len(drop) - 1; i >= 0; i-- { // the oldest first
		m := drop[i]
		if err := e.Dest.Delete(ctx, manifestKey(m.ID)); err != nil {
			return res, fmt.Errorf("applying retention to backup %s: %w", m.ID, err)
		}
		// A backup that started since the leases were read may have
		// chosen this one to build on before its manifest went: it says
		// so in its lease before it checks the manifest is still there.
		listed, err := e.Dest.List(ctx, backupsDir)
		if err != nil {
			return res, fmt.Errorf("applying retention to backup %s: %w", m.ID, err)
		}
		if e.leasedReuses(ctx, listed, now)[m.ID] {
			e.log().Info("retention deleted backup's manifest; its parts stay while a running backup reuses them", "backup", m.ID)
			res.Deleted = append(res.Deleted, m.ID)
			continue
		}
		if err := removeFolder(m.ID); err != nil {
			return res, err
		}
		e.log().Info("retention deleted backup", "backup", m.ID, "snapshot_at", m.SnapshotAt)
		res.Deleted = append(res.Deleted, m.ID)
	}
	ttl := e.leaseTTL()
	for _, id := range l.Incomplete {
		// A folder is abandoned only when nothing in it (its lease
		// included) was written for ttl: a running backup renews its lease.
		var newest time.Time
		for _, o := range objs {
			if strings.HasPrefix(o.Key, backupDir(id)) && o.Updated.After(newest) {
				newest = o.Updated
			}
		}
		if now.Sub(newest) < ttl || reused[id] {
			continue
		}
		if err := removeFolder(id); err != nil {
			return res, err
		}
		e.log().Info("retention removed an interrupted backup", "backup", id, "last_write", newest)
		res.IncompleteRemoved = append(res.IncompleteRemoved, id)
	}
	if err := e.pruneBinlogs(ctx, keep, now, res); err != nil {
		return res, err
	}
	return res, nil
}

// pruneBinlogs deletes the archived binlogs no kept backup needs. Each
// kept backup's chain is in one archive folder (backupChain: its server's
// current one, or the history preserved after a reset it was taken in);
// in each folder the files before the oldest kept backup's file there go.
// A preserved history no kept backup's chain is in goes whole, once
// nothing was written in it for the lease TTL. While a server's history
// is being moved (preserveHistory's marker), none of its folders is
// touched. A backup whose chain cannot be told keeps its file in every
// folder it may be in.
func (e *Engine) pruneBinlogs(ctx context.Context, keep []*Manifest, now time.Time, res *RetentionResult) error {
	if len(keep) == 0 {
		return nil // nothing to tell what is needed by
	}
	archives, all, err := listArchives(ctx, e.Dest)
	if err != nil {
		return fmt.Errorf("applying retention to the binlog archive: %w", err)
	}
	oldest := map[string]string{} // folder → the oldest kept backup's file there
	need := func(folder, file string) {
		if cur, ok := oldest[folder]; !ok || binlogBefore(file, cur) {
			oldest[folder] = file
		}
	}
	sc := &scanner{dest: e.Dest, cache: map[string]*BinlogFile{}, trustCache: true}
	for _, m := range keep {
		mm := m.MySQL
		if mm == nil || mm.BinlogFile == "" || mm.ArchiveServer == "" {
			continue
		}
		if c, err := backupChain(ctx, archives, all, sc, m); err == nil {
			need(c.Server, mm.BinlogFile)
			continue
		}
		for folder, ar := range archives {
			if ar.Key == mm.ArchiveServer && !ar.Opened.After(m.SnapshotAt) {
				need(folder, mm.BinlogFile)
			}
		}
	}
	// A server whose history is being moved (a marker in its folder)
	// keeps every file until the move is done: until then a backup's
	// chain may be found in either folder, or be split between them.
	moving := map[string]bool{}
	for _, ar := range archives {
		if _, ok := all[serverBinlogDir(ar.Server)+movingMarker]; ok {
			moving[ar.Key] = true
			e.log().Info("retention leaves a server's binlog archive alone while its history is moved after a reset", "archive", binlogsDir+ar.Server+"/")
		}
	}
	for folder, ar := range archives {
		if moving[ar.Key] {
			continue
		}
		first, used := oldest[folder]
		if !used {
			if !ar.Opened.IsZero() {
				if err := e.dropHistory(ctx, ar, all, now, res); err != nil {
					return err
				}
			}
			continue
		}
		for _, b := range ar.Files {
			name := strings.TrimPrefix(b.Key, serverBinlogDir(folder))
			if binlogBefore(name, first) {
				for _, k := range []string{b.Key, b.Key + scanSuffix, b.Key + sigSuffix} {
					if err := e.Dest.Delete(ctx, k); err != nil {
						return fmt.Errorf("applying retention to binlog %s of %s: %w", name, folder, err)
					}
				}
				res.BinlogsRemoved = append(res.BinlogsRemoved, folder+"/"+name)
			}
		}
	}
	return nil
}

// dropHistory deletes a preserved history no kept backup needs, unless
// something was written in it within the lease TTL.
func (e *Engine) dropHistory(ctx context.Context, ar *ServerArchive, all map[string]ObjectInfo, now time.Time, res *RetentionResult) error {
	dir := serverBinlogDir(ar.Server)
	var keys []string
	var newest time.Time
	for k, o := range all {
		if strings.HasPrefix(k, dir) {
			keys = append(keys, k)
			if o.Updated.After(newest) {
				newest = o.Updated
			}
		}
	}
	if now.Sub(newest) < e.leaseTTL() {
		return nil
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := e.Dest.Delete(ctx, k); err != nil {
			return fmt.Errorf("applying retention to the preserved binlog history %s: %w", ar.Server, err)
		}
	}
	for _, b := range ar.Files {
		res.BinlogsRemoved = append(res.BinlogsRemoved, ar.Server+"/"+strings.TrimPrefix(b.Key, dir))
	}
	e.log().Info("retention deleted a binlog history preserved after a reset: no kept backup was taken in it", "history", binlogsDir+ar.Server+"/", "files", len(ar.Files))
	return nil
}

func (e *Engine) verifyForRetention(ctx context.Context, m *Manifest) error {
	if e.Keys.CanVerify() {
		if _, err := VerifiedManifest(ctx, e.Dest, m.ID, e.Keys); err != nil {
			return err
		}
	}
	_, err := e.verifyParts(ctx, m)
	return err
}

// parts lists every stored key a backup needs.
func (m *Manifest) parts() []string {
	var ps []string
	for _, p := range m.allParts() {
		ps = append(ps, p.Path)
	}
	return append(ps, manifestKey(m.ID), sigKey(m.ID))
}

// binlogBefore orders binlog file names (basename.NNNNNN) by sequence number.
func binlogBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// leasedReuses is the set of backups whose parts running backups (a
// lease in objs, the listing of backups/, written within the lease TTL)
// reuse. A lease that cannot be read keeps nothing: its backup fails its
// final check of the parts rather than write a manifest naming deleted
// ones.
func (e *Engine) leasedReuses(ctx context.Context, objs []ObjectInfo, now time.Time) map[string]bool {
	ttl := e.leaseTTL()
	out := map[string]bool{}
	for _, o := range objs {
		if !strings.HasSuffix(o.Key, "/"+leaseName) || now.Sub(o.Updated) >= ttl {
			continue
		}
		rc, _, err := e.Dest.Get(ctx, o.Key)
		if err != nil {
			continue // finished meanwhile
		}
		var rec leaseRecord
		err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&rec)
		_ = rc.Close()
		if err != nil {
			e.log().Warn("retention: a running backup's lease cannot be read", "lease", o.Key, "error", err)
			continue
		}
		for _, id := range rec.Reuses {
			out[id] = true
		}
	}
	return out
}

// leaseTTL is how long a lease keeps its backup's folder: LeaseTTL, or 15
// minutes.
func (e *Engine) leaseTTL() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return 15 * time.Minute
}
