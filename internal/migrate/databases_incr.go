package migrate

// This file: the incremental copy. From the position recorded on the new
// server, each database's events of the old server's binary log are read
// remotely and applied (the backup engine's replay pipe, with the position
// filter of databases_binlog.go), after checks that the recorded position
// still describes both servers.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

const fullHint = "run `spinops migrate data` with --full (and --overwrite) to copy the databases whole"

func copyIncremental(ctx context.Context, c DatabaseCopy, target *sql.DB, recs map[string]copyRecord, log *slog.Logger) (*CopyResult, error) {
	// The record: complete, unaltered, one copy of this database set,
	// no statement left half-applied, and the tables as left.
	var copyID string
	for _, d := range c.Databases {
		t := c.target(d)
		r, ok := recs[t]
		switch {
		case !ok:
			return nil, fmt.Errorf("the new server records an earlier copy, but not of database %s (its row in %s is missing): the new databases may not be at one position; %s", t, positionTable, fullHint)
		case r.Seal != r.seal():
			return nil, fmt.Errorf("the recorded position of %s on the new server (%s) was altered: it no longer matches its seal; %s", t, positionTable, fullHint)
		case r.Databases != databaseSet(c) || r.SourceDB != d:
			return nil, fmt.Errorf("the recorded copy was of databases %s, this run copies %s: %s", r.Databases, databaseSet(c), fullHint)
		case copyID != "" && r.CopyID != copyID:
			return nil, fmt.Errorf("the recorded positions of the databases belong to different copies: %s", fullHint)
		case r.Pending != 0:
			return nil, fmt.Errorf("an earlier copy stopped while applying a statement outside a transaction (DDL) to %s, ending at %s:%d: whether it took effect cannot be known; %s",
				t, r.File, r.Pending, fullHint)
		}
		copyID = r.CopyID
		digest, err := tablesDigest(ctx, target, t)
		if err != nil {
			return nil, err
		}
		if digest != r.Tables {
			return nil, fmt.Errorf("the tables of %s on the new server changed since the last copy (a table was created, dropped or altered there): something other than the copy writes to it, so the old server's changes cannot be applied on top; %s", t, fullHint)
		}
		if err := checkNoWritesSince(ctx, target, t, r, log); err != nil {
			return nil, err
		}
	}

	// The old server: the same instance, a ROW binary log read by
	// mariadb-binlog, still holding the recorded position.
	src, err := backup.ReadServerState(ctx, c.From)
	if err != nil {
		return nil, fmt.Errorf("reading the old server: %w", err)
	}
	first := recs[c.target(c.Databases[0])]
	switch {
	case src.Instance != first.SourceInstance || src.Key != first.SourceKey:
		return nil, fmt.Errorf("the recorded position is in the binary log of another server (instance %s, %s), and --from-mysql %s is %s (%s): %s",
			first.SourceInstance, first.SourceKey, c.From.Addr(), src.Instance, src.Key, fullHint)
	case !src.MariaDB:
		return nil, fmt.Errorf("incremental copies read the old server's binary log with mariadb-binlog, and %s is %s (not MariaDB): %s", c.From.Addr(), src.Version, fullHint)
	case !src.LogBin:
		return nil, fmt.Errorf("the old server %s has log_bin=OFF now: its changes cannot be read; %s", c.From.Addr(), fullHint)
	case !strings.EqualFold(src.BinlogFormat, "ROW"):
		return nil, fmt.Errorf("the old server %s has binlog_format=%s: only ROW events can be applied safely to a filtered or renamed database (statements would run against whatever database is current); set binlog_format=ROW, then %s",
			c.From.Addr(), src.BinlogFormat, fullHint)
	}
	srcDB, err := c.From.Open("")
	if err != nil {
		return nil, err
	}
	defer srcDB.Close()
	// With Verify, the copy ends where a consistent snapshot of the old
	// server stands, and the new databases are compared with it at the
	// end (databases_verify.go).
	var snap *oldSnapshot
	if c.Verify {
		if snap, err = openOldSnapshot(ctx, srcDB); err != nil {
			return nil, err
		}
		defer snap.close()
		if c.afterSnapshot != nil {
			c.afterSnapshot()
		}
	}
	logs, err := backup.BinaryLogs(ctx, c.From)
	if err != nil {
		return nil, err
	}
	// The end: the snapshot's position, or the binary log's end now.
	var endFile string
	var endPos uint64
	if snap != nil {
		endFile, endPos = snap.at.File, snap.at.Position
	} else if endFile, endPos, err = backup.BinaryLogEnd(ctx, c.From); err != nil {
		return nil, err
	}
	endGTID, err := gtidAt(ctx, srcDB, endFile, endPos)
	if err != nil {
		return nil, err
	}
	index := func(name string) int {
		return slices.IndexFunc(logs, func(f backup.BinaryLogFile) bool { return f.Name == name })
	}
	endIdx := index(endFile)
	if endIdx < 0 {
		return nil, fmt.Errorf("the old server's binary log ends in %s, which SHOW BINARY LOGS does not list", endFile)
	}
	res := &CopyResult{Incremental: true, To: Position{File: endFile, Position: endPos, GTID: endGTID}}
	// The bytes of the binary log each database's pass reads: its
	// progress step's total.
	rangeBytes := map[string]int64{}
	for i, d := range c.Databases {
		r := recs[c.target(d)]
		idx := index(r.File)
		if idx < 0 || idx > endIdx {
			oldest := "none"
			if len(logs) > 0 {
				oldest = logs[0].Name
			}
			return nil, fmt.Errorf("the old server no longer has binary log %s, where the copy of %s stands (its oldest is %s): it was purged (binlog_expire_logs_seconds too short for the time between copies?); %s",
				r.File, d, oldest, fullHint)
		}
		if r.GTID != "" {
			g, err := gtidAt(ctx, srcDB, r.File, r.Position.Position)
			if err != nil {
				return nil, err
			}
			if !sameGTIDs(g, r.GTID) {
				return nil, fmt.Errorf("at the recorded position %s:%d the old server's binary log is at GTID %q, and the record says %q: the binary log was reset or the record altered; %s",
					r.File, r.Position.Position, g, r.GTID, fullHint)
			}
		}
		if i == 0 || positionBefore(r.Position, res.From) {
			res.From = r.Position
		}
		// Bytes of the binary log this database's pass reads.
		for j := idx; j <= endIdx; j++ {
			size := logs[j].Size
			if j == endIdx {
				size = endPos
			}
			if j == idx {
				size -= min(size, r.Position.Position)
			}
			res.Bytes += int64(size)
			rangeBytes[d] += int64(size)
		}
	}

	// The databases a qualified name in a statement may name: the old
	// server's and the new one's.
	known, err := backup.ServerDatabases(ctx, c.To)
	if err != nil {
		return nil, fmt.Errorf("reading the new server's databases: %w", err)
	}
	if old, err := backup.ServerDatabases(ctx, c.From); err == nil {
		maps.Copy(known, old)
	}
	for _, d := range c.Databases {
		r := recs[c.target(d)]
		if r.File == endFile && r.Position.Position == endPos {
			continue
		}
		var files []string
		for j := index(r.File); j <= endIdx; j++ {
			files = append(files, logs[j].Name)
		}
		f := newPositionFilter(r)
		f.plan = func(q string) (string, string) { return backup.PlanStatement(q, d, c.target(d), known) }
		f.crashAfterCommits, f.crashInStatement = c.crashAfterCommits, c.crashInStatement
		f.progressEvery = c.progressEvery()
		f.every = func(st applyStats, at Position) {
			log.Info("copy progress", "database", d, "at", at.String(), "until", res.To.String(), "transactions", st.Transactions, "row_events", st.RowEvents)
		}
		var applied atomic.Int64
		if c.Progress != nil {
			// The bytes of the range up to the last committed event.
			start := map[string]int64{}
			var off int64
			for j := index(r.File); j <= endIdx; j++ {
				start[logs[j].Name] = off
				off += int64(logs[j].Size)
			}
			f.progressEvery = progressTick
			f.every = func(_ applyStats, at Position) {
				applied.Store(min(rangeBytes[d], max(0, start[at.File]+int64(at.Position)-int64(r.Position.Position))))
			}
		}
		log.Info("applying the old server's binary log", "database", d, "into", c.target(d), "from", r.String(), "to", res.To.String())
		stopBar := trackStep(c.Progress, "applying the binary log to "+c.target(d), rangeBytes[d], applied.Load)
		err := backup.RemoteBinlogApply{Source: c.From, Target: c.To, Files: files, StartPosition: r.Position.Position, StopPosition: endPos,
			Database: d, Into: c.target(d), Tool: c.BinlogTool, Client: c.ClientTool, Filter: f.run}.Run(ctx)
		if err == nil {
			applied.Store(rangeBytes[d])
		}
		stopBar()
		res.Transactions += f.stats.Transactions
		res.Statements += f.stats.Statements
		res.RowEvents += f.stats.RowEvents
		res.SQLBytes += f.stats.SQLBytes
		if err != nil {
			return nil, fmt.Errorf("applying the old server's binary log to %s (what was applied is recorded; run again to go on): %w", c.target(d), err)
		}
	}
	if c.afterApply != nil {
		c.afterApply()
	}
	// The tables' checksums are recorded first and compared with the old
	// server after: a write on the new server before the checksums are
	// read is in the comparison, one after it in the next copy's check.
	recsEnd, err := recordsFor(ctx, c, target, first.CopyID, src, res.To)
	var verr error
	if err == nil && snap != nil {
		// Marks a database that differs, so the next copy refuses it.
		verr = verifyIncremental(ctx, snap, target, recsEnd)
	}
	if err == nil {
		err = writeRecords(ctx, target, recsEnd)
	}
	if err != nil {
		return nil, fmt.Errorf("the changes were applied, but recording the end position failed (the next copy goes on from the last applied transaction): %w", err)
	}
	if verr != nil {
		return nil, verr
	}
	res.Verified = snap != nil
	log.Info("databases migrated incrementally", "from", res.From.String(), "to", res.To.String(), "transactions", res.Transactions,
		"statements", res.Statements, "binlog_bytes", res.Bytes)
	return res, nil
}

// checkNoWritesSince compares the new database's rows with the checksums
// recorded when the last copy ended: rows written there since by anything
// else (the new installation's Clouddriver, Orca or Front50 started
// early, a hand-made fix) would be overwritten, duplicated or contradicted
// by the old server's changes, and the new database would match neither
// server without an error.
func checkNoWritesSince(ctx context.Context, target *sql.DB, db string, r copyRecord, log *slog.Logger) error {
	if diff, ok := strings.CutPrefix(r.Rows, divergedPrefix); ok {
		return fmt.Errorf("the last copy into %s found it differing from the old server at the copied position (tables %s): something other than the copy wrote to it, and an incremental copy cannot repair that; stop what writes there, then %s",
			db, diff, fullHint)
	}
	if r.Rows == "" {
		log.Warn("the last copy into this database stopped before it ended (or was made by a spinops that did not record its tables' checksums): rows written there since by anything else cannot be detected in this copy; the copy records them again when it ends",
			"database", db)
		return nil
	}
	now, err := tableChecksums(ctx, target, db)
	if err != nil {
		return err
	}
	changed, err := changedTables(r.Rows, now)
	if err != nil {
		return fmt.Errorf("the recorded copy of %s on the new server: %w; %s", db, err, fullHint)
	}
	if len(changed) > 0 {
		return fmt.Errorf("rows of %s on the new server changed since the last copy ended (tables %s): something other than the copy writes to it (the new installation's services started against it, or a change by hand), and the old server's changes applied on top would leave it matching neither server; stop what writes there (nothing may write to the copied databases until the cutover), then %s",
			db, strings.Join(changed, ", "), fullHint)
	}
	return nil
}

// gtidAt is the old server's GTID position at file:pos (MariaDB's
// BINLOG_GTID_POS; "" where there is none).
func gtidAt(ctx context.Context, db *sql.DB, file string, pos uint64) (string, error) {
	var g sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, pos).Scan(&g); err != nil {
		return "", fmt.Errorf("reading the old server's GTID position at %s:%d: %w", file, pos, err)
	}
	return g.String, nil
}

// sameGTIDs compares two GTID lists as sets.
func sameGTIDs(a, b string) bool {
	split := func(s string) []string {
		var out []string
		for _, g := range strings.Split(s, ",") {
			if g = strings.TrimSpace(g); g != "" {
				out = append(out, g)
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(split(a), split(b))
}

// positionBefore orders positions (binary log file names sort by their
// number, which has a fixed width).
func positionBefore(a, b Position) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Position < b.Position
}
