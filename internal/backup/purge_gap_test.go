package backup_test

import (
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// The archiver is stopped (its pod evicted, a node drained) while the
// server rotates and purges its binary log (binlog_expire_logs_seconds,
// or RDS's binlog retention hours). Restarted, it archives from what the
// server still has; the file it never received ends the window: list
// reports the gap, a restore --at past it fails naming the file, and one
// at the window's end (the last event archived before it) works. Its own server: PURGE would cut the shared one's
// binlogs under the other tests' archivers.
func TestPurgeWhileTheArchiverIsStoppedEndsTheWindow(t *testing.T) {
	t.Parallel() // (its own MariaDB server)
	requireTool(t, "mariadb-binlog")
	e := newOwnServerEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "purged/")
	eng := e.engine(dest)
	stop := archiving(t, e.archiver(dest))
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // insert 1's event a second after the snapshot
	exec(t, d, "INSERT INTO events VALUES (1)")
	time.Sleep(1100 * time.Millisecond)
	beforeGap := serverTime(t, e).Truncate(time.Second)
	// A later event, so the archive proves the second of insert 1 whole
	// (an event's time is its second: a restore --at that second stops
	// before it).
	exec(t, d, "INSERT INTO events VALUES (10)")
	time.Sleep(1100 * time.Millisecond)
	stop() // the archiver is away from here

	exec(t, d, "FLUSH BINARY LOGS")
	lost := currentBinlog(t, e)
	exec(t, d, "INSERT INTO events VALUES (2)") // only in lost, which is purged
	exec(t, d, "FLUSH BINARY LOGS")
	kept := currentBinlog(t, e)
	// The server purges only files no binlog dump thread still reads (the
	// stopped archiver's connection must be gone first),
	eventually(t, 30*time.Second, "the stopped archiver's dump thread gone", func() bool {
		return rowsOf(t, e.sql(""), "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'") == "0"
	})
	// and MariaDB keeps a file until its binlog checkpoint has passed it.
	eventually(t, 30*time.Second, "the server purged to "+kept, func() bool {
		exec(t, d, "PURGE BINARY LOGS TO '"+kept+"'")
		return firstBinlog(t, e) == kept
	})
	exec(t, d, "INSERT INTO events VALUES (3)")
	time.Sleep(1100 * time.Millisecond)
	afterGap := serverTime(t, e)

	stop = archiving(t, e.archiver(dest))
	time.Sleep(2 * time.Second)
	stop()

	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := l.RestoreWindow()
	// The archiver was stopped before the server's FLUSH wrote the
	// rotate that ends the file it was on, and that file was purged with
	// lost: the gap is after it.
	if w.Gap == nil || w.Gap.After == "" || !strings.Contains(w.Gap.Error(), w.Gap.After) || binlogAfter(w.Gap.After, lost) {
		t.Fatalf("list does not report the gap before the purged %s: window %+v, gap %v", lost, w, w.Gap)
	}
	if !w.Latest.Before(afterGap.Add(-time.Second)) {
		t.Errorf("the window reaches %s, past the purged file (insert 3 at %s is not restorable)", w.Latest, afterGap)
	}
	_, err = eng.Restore(ctx, backup.RestoreOptions{At: afterGap, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
	if err == nil || !strings.Contains(err.Error(), w.Gap.After) || !strings.Contains(err.Error(), "gap") {
		t.Fatalf("restore --at past the purged file: %v, want an error naming the gap after %s", err, w.Gap.After)
	}
	target := e.db.Database(t)
	if w.Latest.Before(beforeGap.Add(-3 * time.Second)) {
		t.Errorf("the window ends at %s, before insert 1 (%s)", w.Latest, beforeGap)
	}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: w.Latest, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at the window's end, before the purged file: %v", err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM events"); got != "1" {
		t.Errorf("restored before the gap: %q, want 1", got)
	}
	// The window starts at the snapshot itself: restorable with no binlog
	// (events carry whole seconds, so the archive may prove only the
	// second before it).
	target = e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: w.Earliest, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at the snapshot's own time %s: %v", w.Earliest, err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM events"); got != "" {
		t.Errorf("restored at the snapshot: %q, want no rows", got)
	}
}

// binlogAfter says whether binlog file a comes after b (same basename).
func binlogAfter(a, b string) bool { return a > b }

// firstBinlog is the oldest binary log file the server has.
func firstBinlog(t *testing.T, e *env) string {
	t.Helper()
	names, err := backup.ServerBinlogs(t.Context(), e.sql(""))
	if err != nil || len(names) == 0 {
		t.Fatalf("the server's binary logs: %v %v", names, err)
	}
	return names[0]
}

// restore --at a backup's own snapshot time is that snapshot: it needs no
// binlog (binlog events carry whole seconds, so an archive may prove only
// the second before the snapshot, and a backup without point in time has
// none), and list reports that moment as the window's start.
func TestRestoreAtTheSnapshotNeedsNoBinlog(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE events (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO events VALUES (1)")
	dest := e.store(e.bucket(), "no-archive/")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: m.SnapshotAt, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at the snapshot's time: %v", err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM events"); got != "1" {
		t.Errorf("restored: %q, want 1", got)
	}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: m.SnapshotAt.Add(time.Second), MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}}); err == nil {
		t.Error("restore --at a second after the snapshot, with no binlog archive, succeeded")
	}
}
