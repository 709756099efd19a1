package backup

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

const drillsDir = "drills/"

// DrillResult is one restore drill, stored as drills/<started>.json.
type DrillResult struct {
	StartedAt time.Time `json:"started_at"`
	BackupID  string    `json:"backup_id,omitempty"`
	// OK is true when every check passed; Error says what failed.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// RecoverySeconds is from the start to the restore verified (the
	// recovery time a real restore of this size would take here).
	RecoverySeconds float64 `json:"recovery_seconds"`
	// DataLossSeconds is how much would have been lost at the end of the
	// drill: from the newest time a restore could reach to then.
	DataLossSeconds float64 `json:"data_loss_seconds"`
	// PointInTime is the time the point-in-time part of the drill restored
	// to (zero when there was no archive to roll forward).
	PointInTime time.Time `json:"point_in_time,omitzero"`
	Tables      int       `json:"tables"`
	Rows        int64     `json:"rows"`
	// EventsLeftOut counts the backup's events the drill checked but did
	// not create (the event scheduler would run them on the source server).
	EventsLeftOut int `json:"events_left_out,omitempty"`
}

// DrillOptions say where a drill restores (scratch databases on Server,
// dropped afterwards) and with which tools the binlog is replayed.
type DrillOptions struct {
	Server                 MySQLServer
	BinlogTool, ClientTool string
	// NoRecord skips writing the result to the destination.
	NoRecord bool
}

// Drill restores the newest backup into scratch databases, re-reads every
// restored table and compares its row count and row digest with the
// manifest, checks every bucket part, then restores a point in time inside
// the window (the newest the binlog archive proves) the same way. It
// records the result at the destination and returns it; the error is the
// drill's failure.
func (e *Engine) Drill(ctx context.Context, o DrillOptions) (*DrillResult, error) {
	start := e.now()
	res := &DrillResult{StartedAt: start.UTC()}
	err := e.drill(ctx, o, res)
	end := e.now()
	res.RecoverySeconds = end.Sub(start).Seconds()
	if err != nil {
		res.Error = err.Error()
	} else {
		res.OK = true
	}
	if !o.NoRecord {
		b, _ := json.MarshalIndent(res, "", "  ")
		if perr := e.Dest.Put(context.WithoutCancel(ctx), drillsDir+res.StartedAt.Format(idLayout)+".json", bytes.NewReader(b)); perr != nil && err == nil {
			err = fmt.Errorf("recording the drill: %w", perr)
		}
	}
	e.log().Info("drill finished", "backup", res.BackupID, "ok", res.OK, "recovery_seconds", res.RecoverySeconds, "data_loss_seconds", res.DataLossSeconds, "error", res.Error)
	return res, err
}

func (e *Engine) drill(ctx context.Context, o DrillOptions, res *DrillResult) error {
	l, err := List(ctx, e.Dest)
	if err != nil {
		return err
	}
	latest := l.Latest()
	if latest == nil {
		return errors.New("there is no complete backup to drill")
	}
	res.BackupID = latest.ID
	m, err := VerifiedManifest(ctx, e.Dest, latest.ID, e.Keys)
	if err != nil {
		return err
	}
	if m.Bucket != nil {
		for _, be := range m.Bucket.Objects {
			if err := e.checkPart(ctx, be.Stored, -1); err != nil {
				return fmt.Errorf("bucket part: %w", err)
			}
		}
	}
	if m.MySQL != nil {
		if err := e.drillRestore(ctx, o, m, time.Time{}, res); err != nil {
			return err
		}
		if w, ok := l.RestoreWindow(); ok && l.Chain != nil && w.Latest.After(m.SnapshotAt.Add(time.Second)) {
			at := w.Latest.Truncate(time.Second)
			if err := e.drillRestore(ctx, o, m, at, nil); err != nil {
				return fmt.Errorf("point in time %s: %w", at.Format(time.RFC3339), err)
			}
			res.PointInTime = at
		}
	}
	w, _ := l.RestoreWindow()
	res.DataLossSeconds = e.now().Sub(w.Latest).Seconds()
	return nil
}

// drillRestore stages m (rolled forward to at when set) into scratch
// databases, checks them (the snapshot: row counts and digests against the
// manifest; a point in time: that the replay succeeded and the schema
// objects are created, events only checked), and drops them.
func (e *Engine) drillRestore(ctx context.Context, o DrillOptions, m *Manifest, at time.Time, res *DrillResult) error {
	t := MySQLTarget{Server: o.Server, DatabaseMap: map[string]string{}}
	for _, d := range m.MySQL.Databases {
		t.DatabaseMap[d.Name] = "spinops_drill_" + randHex(4)
	}
	stages, err := stageMySQL(ctx, e.Dest, m.MySQL, t, e.log())
	if err != nil {
		return err
	}
	defer e.dropStages(ctx, t, stages)
	if !at.IsZero() {
		dir, err := os.MkdirTemp("", "spinops-drill-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		paths, err := e.binlogsUntil(ctx, m, at, dir)
		if err != nil {
			return err
		}
		into := map[string]string{}
		for _, st := range stages {
			into[st.dump.Name] = st.stage
		}
		if err := (replay{tool: o.BinlogTool, client: o.ClientTool, log: e.log()}).run(ctx, m.MySQL, paths, at, into, o.Server); err != nil {
			return err
		}
	}
	for _, st := range stages {
		if res != nil {
			if err := checkStaged(ctx, o.Server, st, res); err != nil {
				return err
			}
		}
		// The backup's events are checked but not created: a drill runs
		// on the source server, where the event scheduler would run them
		// in the scratch database (at once for one scheduled AT
		// CURRENT_TIMESTAMP), as the restoring user (their DEFINER is
		// dropped) and, through a qualified name, against the live
		// database; the restore's rehearsal leaves them out for the same
		// reason.
		d := st.dump
		d.Objects = nil
		for _, obj := range st.dump.Objects {
			if obj.Kind != ObjectEvent {
				d.Objects = append(d.Objects, obj)
				continue
			}
			if _, err := checkCreate(obj.Kind, obj.Name, obj.CreateSQL, st.dump.Name); err != nil {
				return err
			}
			if res != nil {
				res.EventsLeftOut++
			}
		}
		if err := createObjects(ctx, o.Server, st.stage, d, nil); err != nil {
			return err
		}
	}
	return nil
}

// checkStaged re-reads every table of a staged database in its dump
// format and compares the row count and digest with the manifest.
func checkStaged(ctx context.Context, s MySQLServer, st staged, res *DrillResult) error {
	pool, err := s.open(st.stage)
	if err != nil {
		return err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := prepareDumpSession(ctx, conn); err != nil {
		return err
	}
	for _, td := range st.dump.Tables {
		var sel []string
		for _, c := range td.Columns {
			if c.Bit {
				sel = append(sel, "CAST("+quoteIdent(c.Name)+" AS UNSIGNED)")
			} else {
				sel = append(sel, quoteIdent(c.Name))
			}
		}
		rows, err := conn.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+quoteIdent(td.Name))
		if err != nil {
			return fmt.Errorf("reading the restored table %s: %w", td.Name, err)
		}
		vals := make([]sql.RawBytes, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var n int64
		var d rowDigest
		var line []byte
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			line = appendTSVRow(line[:0], vals)
			d.add(line)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n != td.Rows {
			return fmt.Errorf("restored table %s.%s has %d rows, the manifest says %d", st.dump.Name, td.Name, n, td.Rows)
		}
		if td.RowDigest != "" && strconv.FormatUint(uint64(d), 16) != td.RowDigest {
			return fmt.Errorf("restored table %s.%s does not hold the rows that were backed up (row digest %x, the manifest says %s)", st.dump.Name, td.Name, uint64(d), td.RowDigest)
		}
		res.Tables++
		res.Rows += n
	}
	return nil
}

func listDrills(ctx context.Context, dest Store) ([]DrillResult, error) {
	objs, err := dest.List(ctx, drillsDir)
	if err != nil {
		return nil, err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	// Only the newest few are read: listing stays cheap however many drills ran.
	if len(objs) > 20 {
		objs = objs[len(objs)-20:]
	}
	var out []DrillResult
	for _, o := range objs {
		rc, _, err := dest.Get(ctx, o.Key)
		if err != nil {
			continue
		}
		var r DrillResult
		err = json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&r)
		rc.Close()
		if err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// LastDrill is the newest recorded drill, or nil.
func (l *Listing) LastDrill() *DrillResult {
	if len(l.Drills) == 0 {
		return nil
	}
	return &l.Drills[len(l.Drills)-1]
}
