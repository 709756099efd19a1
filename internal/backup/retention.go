package backup

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Retention says which complete backups to keep: a backup is kept when it
// is one of the newest Count, or when its snapshot is younger than Days
// days. Zero disables a rule; with both zero everything is kept. The newest
// complete backup is always kept.
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

// RetentionResult is what ApplyRetention removed.
type RetentionResult struct {
	Deleted           []string // complete backups removed
	IncompleteRemoved []string // interrupted backups older than the newest complete one
	BinlogsRemoved    []string // archived binlogs older than every kept backup
}

// ApplyRetention deletes the complete backups r does not keep, interrupted
// backups older than the newest complete one, and archived binlog files no
// kept backup needs for point-in-time recovery. A deleted backup loses its
// manifest first, so it is never listed half-deleted; bucket objects a kept
// backup still refers to are left in place.
func ApplyRetention(ctx context.Context, dest Store, r Retention, now time.Time, log *slog.Logger) (*RetentionResult, error) {
	l, err := List(ctx, dest)
	if err != nil {
		return nil, fmt.Errorf("applying retention: %w", err)
	}
	res := &RetentionResult{}
	if len(l.Complete) == 0 {
		return res, nil
	}
	var keep, drop []*Manifest
	for i := len(l.Complete) - 1; i >= 0; i-- {
		m := l.Complete[i]
		if r.keeps(len(l.Complete)-1-i, m, now) {
			keep = append(keep, m)
		} else {
			drop = append(drop, m)
		}
	}
	slices.Reverse(drop) // delete the oldest first
	referenced := map[string]bool{}
	for _, m := range keep {
		for _, p := range m.parts() {
			referenced[p] = true
		}
	}
	objs, err := dest.List(ctx, backupsDir)
	if err != nil {
		return nil, fmt.Errorf("applying retention: %w", err)
	}
	removeFolder := func(id string) error {
		dir := backupDir(id)
		for _, o := range objs {
			if strings.HasPrefix(o.Key, dir) && !referenced[o.Key] {
				if err := dest.Delete(ctx, o.Key); err != nil {
					return fmt.Errorf("applying retention to backup %s: %w", id, err)
				}
			}
		}
		return nil
	}
	for _, m := range drop {
		if err := dest.Delete(ctx, manifestKey(m.ID)); err != nil {
			return res, fmt.Errorf("applying retention to backup %s: %w", m.ID, err)
		}
		if err := removeFolder(m.ID); err != nil {
			return res, err
		}
		log.Info("retention deleted backup", "backup", m.ID, "snapshot_at", m.SnapshotAt)
		res.Deleted = append(res.Deleted, m.ID)
	}
	newest := l.Latest().ID
	for _, id := range l.Incomplete {
		// Started no later than the newest complete backup (ids begin with
		// their start time to the second): it can no longer be running.
		if len(id) >= len(idLayout) && len(newest) >= len(idLayout) && id[:len(idLayout)] <= newest[:len(idLayout)] {
			if err := removeFolder(id); err != nil {
				return res, err
			}
			log.Info("retention removed an interrupted backup", "backup", id)
			res.IncompleteRemoved = append(res.IncompleteRemoved, id)
		}
	}
	oldest := keep[len(keep)-1]
	if oldest.MySQL != nil && oldest.MySQL.BinlogFile != "" {
		for _, b := range l.Binlogs {
			name := strings.TrimPrefix(b.Key, binlogsDir)
			if binlogBefore(name, oldest.MySQL.BinlogFile) {
				if err := dest.Delete(ctx, b.Key); err != nil {
					return res, fmt.Errorf("applying retention to binlog %s: %w", name, err)
				}
				res.BinlogsRemoved = append(res.BinlogsRemoved, name)
			}
		}
	}
	return res, nil
}

// parts lists every stored key a backup needs.
func (m *Manifest) parts() []string {
	var ps []string
	if m.MySQL != nil {
		for _, d := range m.MySQL.Databases {
			for _, t := range d.Tables {
				ps = append(ps, t.Data.Path)
			}
		}
	}
	if m.Bucket != nil {
		for _, o := range m.Bucket.Objects {
			ps = append(ps, o.Stored.Path)
		}
	}
	return append(ps, manifestKey(m.ID))
}

// binlogBefore orders binlog file names (basename.NNNNNN) by sequence number.
func binlogBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
