package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// A server restored from a disk snapshot (a volume snapshot, a copied
// data directory) crash-recovers to what the snapshot held: its binary
// log ends where the snapshot's did, inside a file the archive holds more
// of, and the server writes its next transactions under names the
// archive already has. The events the archive holds past the snapshot
// are the only record left of what the server lost. Before, the
// archiver compared only a file's format description (the same: the
// file was opened at the same time by the same server) and uploaded the
// server's shorter copy over the archived one, destroying them. Now it
// compares the bytes: the archived history is preserved, whole and byte
// for byte, and the files the snapshot kept are left to it (the current
// folder starts with the first file the server opened after the
// rollback), so a backup taken before the rollback restores a point in
// the lost course, events the server no longer has included, and one
// taken after has its window in the new course. A restart of the
// archiver after the server closed a file is not taken for a rollback,
// and a second rollback to the same snapshot preserves the second course
// beside the first.
func TestBinlogRollbackPreservesTheArchivedEvents(t *testing.T) {
	t.Parallel() // (its own MariaDB server)
	r := startRollback(t, 4*time.Minute)
	e, ctx, db, d, dest, eng, arch, stop := r.e, r.ctx, r.db, r.d, r.dest, r.eng, r.arch, r.stop
	old, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // (InnoDB writes its log every second)
	snapshot := e.db.Snapshot(t)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (2)") // lost by the rollback: only the archive has it
	time.Sleep(1100 * time.Millisecond)
	lost := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (3)")

	server := arch.ServerKey()
	dir := "binlogs/" + server + "/"
	file, pos := serverPosition(t, e)
	waitArchived(t, dest, dir+file, pos)
	stop()
	before := archivedObjects(t, dest, dir)

	// The rollback, while no archiver runs (as after a node's loss): the
	// archiver starts again from its newest file, mysql-bin.<file>,
	// which the server now holds less of.
	e.db.CrashRestart(t, snapshot)
	d = e.sql(db)
	exec(t, d, "INSERT INTO events VALUES (20)") // the new course
	arch = e.archiver(dest)
	stop = archiving(t, arch)
	var preserved string
	eventually(t, 60*time.Second, "the new course archived", func() bool {
		l, err := backup.List(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		for folder := range l.Archives {
			if strings.HasPrefix(folder, server+"~") {
				preserved = folder
			}
		}
		cur := l.Archives[server]
		return cur != nil && len(cur.Files) > 0 && strings.TrimPrefix(cur.Files[len(cur.Files)-1].Key, dir) > file
	})
	if preserved == "" {
		t.Fatalf("no history preserved after the rollback: the archived %s holds %d bytes, %d before (the events past the snapshot overwritten)", file, len(readAll(t, dest, dir+file)), len(before[file]))
	}
	pdir := "binlogs/" + preserved + "/"
	for name, b := range before {
		if got := readAll(t, dest, pdir+name); !bytes.Equal(got, b) {
			t.Errorf("the preserved %s%s differs from the archived one before the rollback (%d bytes, was %d)", pdir, name, len(got), len(b))
		}
	}
	if objs, err := dest.List(ctx, dir+file); err != nil || len(objs) != 0 {
		t.Errorf("the current folder holds %v (%v): want the file the snapshot kept left to the preserved course, and the current folder starting after it", objs, err)
	}

	// A backup taken before the rollback keeps its window in the
	// preserved course: a point in it restores the events the server
	// lost; a point after the rollback is past its window.
	got, err := restoreEvents(ctx, e, eng, db, lost)
	if err != nil {
		t.Fatalf("restore --at %s of %s, taken before the rollback: %v", lost, old.ID, err)
	}
	if got != "1,2" {
		t.Errorf("restored %s at %s, in the course the server lost: %q, want 1,2", old.ID, lost, got)
	}
	time.Sleep(1100 * time.Millisecond)
	after := serverTime(t, e)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: after, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}}); err == nil {
		t.Errorf("restore --at %s (after the rollback) of %s, taken before it: no error; want its window to end in the preserved course", after, old.ID)
	}

	// The archiver restarted after the server closed the file it was
	// writing: the same history, nothing moved again.
	file, pos = serverPosition(t, e)
	waitArchived(t, dest, dir+file, pos)
	stop()
	exec(t, d, "FLUSH BINARY LOGS")
	exec(t, d, "INSERT INTO events VALUES (21)")
	stop = archiving(t, e.archiver(dest))
	next, pos := serverPosition(t, e)
	waitArchived(t, dest, dir+next, pos)
	stop()
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for folder := range l.Archives {
		folders = append(folders, folder)
	}
	if len(folders) != 2 {
		t.Fatalf("archive folders after the archiver restarted past a closed file: %v; want %s and %s only", folders, server, preserved)
	}
	// A backup taken after the rollback has its window in the new course.
	recent, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	stop = archiving(t, e.archiver(dest))
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (22)")
	time.Sleep(1100 * time.Millisecond)
	atNew := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (23)")
	next, pos = serverPosition(t, e)
	waitArchived(t, dest, dir+next, pos)
	stop()
	got, err = restoreEvents(ctx, e, eng, db, atNew)
	if err != nil {
		t.Fatalf("restore --at %s of %s, taken after the rollback: %v", atNew, recent.ID, err)
	}
	if got != "1,20,21,22" {
		t.Errorf("restored %s at %s, in the new course: %q, want 1,20,21,22", recent.ID, atNew, got)
	}

	// Rolled back to the same snapshot again: the second course is
	// preserved beside the first, and archiving goes on.
	second := archivedObjects(t, dest, dir)
	e.db.CrashRestart(t, snapshot)
	d = e.sql(db)
	exec(t, d, "INSERT INTO events VALUES (30)")
	stop = archiving(t, e.archiver(dest))
	next, pos = serverPosition(t, e)
	var again string
	eventually(t, 60*time.Second, "the third course archived", func() bool {
		l, err := backup.List(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		for folder := range l.Archives {
			if strings.HasPrefix(folder, server+"~") && folder != preserved {
				again = folder
			}
		}
		objs, err := dest.List(ctx, dir+next)
		return again != "" && err == nil && len(objs) > 0 && objs[0].Key == dir+next && objs[0].Size >= atoi(t, pos) &&
			!bytes.Equal(readAll(t, dest, dir+next), second[next])
	})
	stop()
	for name, b := range before {
		if got := readAll(t, dest, pdir+name); !bytes.Equal(got, b) {
			t.Errorf("the first preserved %s%s changed after the second rollback", pdir, name)
		}
	}
	for name, b := range second {
		if got := readAll(t, dest, "binlogs/"+again+"/"+name); !bytes.Equal(got, b) {
			t.Errorf("the second course's %s was not preserved in binlogs/%s/ byte for byte", name, again)
		}
	}
	// The backup taken in the second course keeps its window there.
	got, err = restoreEvents(ctx, e, eng, db, atNew)
	if err != nil {
		t.Fatalf("restore --at %s of %s, taken in the second course, after the second rollback: %v", atNew, recent.ID, err)
	}
	if got != "1,20,21,22" {
		t.Errorf("restored %s at %s after the second rollback: %q, want 1,20,21,22", recent.ID, atNew, got)
	}
}

// serverPosition is the server's binlog file and position (SHOW MASTER
// STATUS).
func serverPosition(t *testing.T, e *env) (file, pos string) {
	t.Helper()
	rows, err := e.sql("").QueryContext(t.Context(), "SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatal("SHOW MASTER STATUS: no row")
	}
	vals := make([]any, len(cols))
	vals[0], vals[1] = &file, &pos
	for i := 2; i < len(vals); i++ {
		vals[i] = new(any)
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file, pos
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The same rollback while the archiver runs on (it is another pod than
// the server), the old course two files past the snapshot's: the
// archive's newest file is not on the restored server, and the stream
// starts again from the server's oldest. Found by a review: the run's
// record of what it had uploaded still listed the snapshot's file, so
// the server's shorter copy went up over the archived one unchecked and
// nothing was preserved.
func TestBinlogRollbackUnderARunningArchiver(t *testing.T) {
	t.Parallel() // (its own MariaDB server)
	r := startRollback(t, 3*time.Minute)
	e, ctx, db, d, dest, eng, arch, stop := r.e, r.ctx, r.db, r.d, r.dest, r.eng, r.arch, r.stop
	exec(t, d, "FLUSH BINARY LOGS") // the snapshot's file is not the server's oldest
	old, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	x, _ := serverPosition(t, e)
	snapshot := e.db.Snapshot(t)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (2)") // in x, lost by the rollback
	time.Sleep(1100 * time.Millisecond)
	lost := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "FLUSH BINARY LOGS")
	exec(t, d, "INSERT INTO events VALUES (3)")
	exec(t, d, "FLUSH BINARY LOGS")
	exec(t, d, "INSERT INTO events VALUES (4)")
	server := arch.ServerKey()
	dir := "binlogs/" + server + "/"
	file, pos := serverPosition(t, e)
	waitArchived(t, dest, dir+file, pos)
	// Retention removes the server's oldest file: no kept backup needs
	// it (the backup starts in the next). Found by a CI run, where the
	// archiver happened to upload it before the backup's own retention
	// pass: the server keeps that file through the rollback, and the
	// archiver then took it for the new course's first file.
	if _, err := eng.ApplyRetention(ctx, backup.Retention{}); err != nil {
		t.Fatal(err)
	}
	if objs, err := dest.List(ctx, dir+"mysql-bin.000001"); err != nil || len(objs) > 0 {
		t.Fatalf("retention left the archived mysql-bin.000001, which no backup needs (%v)", err)
	}
	lostCopy := readAll(t, dest, dir+x)
	oldCourse := archivedObjects(t, dest, dir)

	e.db.CrashRestart(t, snapshot) // the archiver runs on
	d = e.sql(db)
	exec(t, d, "INSERT INTO events VALUES (20)")
	next, pos := serverPosition(t, e)
	want := atoi(t, pos)
	eventually(t, 60*time.Second, "the new course's "+next+" archived", func() bool {
		// Read, not listed: the archiver moves the old course's namesake
		// away while this polls, so the object may go between two calls.
		b, err := tryRead(ctx, dest, dir+next)
		return err == nil && int64(len(b)) >= want && !bytes.Equal(b, oldCourse[next])
	})
	stop()
	for _, name := range []string{"mysql-bin.000001", x} {
		if objs, err := dest.List(ctx, dir+name); err != nil || (len(objs) > 0 && objs[0].Key == dir+name) {
			t.Errorf("the current folder holds %s, a file of the course before the rollback (%v)", name, err)
		}
	}
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	found := ""
	for folder := range l.Archives {
		if strings.HasPrefix(folder, server+"~") {
			if objs, err := dest.List(ctx, "binlogs/"+folder+"/"+x); err == nil && len(objs) > 0 && bytes.Equal(readAll(t, dest, "binlogs/"+folder+"/"+x), lostCopy) {
				found = folder
			}
		}
	}
	if found == "" {
		t.Fatalf("the archived %s as it was before the rollback (%d bytes, holding a row the server lost) is nowhere in the archive any more", x, len(lostCopy))
	}
	got, err := restoreEvents(ctx, e, eng, db, lost)
	if err != nil {
		t.Fatalf("restore --at %s of %s, taken before the rollback: %v", lost, old.ID, err)
	}
	if got != "1,2" {
		t.Errorf("restored %s at %s, in the course the server lost: %q, want 1,2", old.ID, lost, got)
	}

	// The archive as an archiver of an earlier version left it: the
	// server's mysql-bin.000001, which retention had removed, uploaded
	// into the current folder after the rollback. The backup is still
	// found in the preserved history that holds its file.
	b, err := os.ReadFile(filepath.Join(e.db.DataDir, "mysql-bin.000001"))
	if err != nil {
		t.Fatal(err)
	}
	if err := backup.UploadBinlog(ctx, dest, testKeys(), server, "mysql-bin.000001", b); err != nil {
		t.Fatal(err)
	}
	got, err = restoreEvents(ctx, e, eng, db, lost)
	if err != nil {
		t.Fatalf("restore --at %s of %s, with the old course's mysql-bin.000001 in the current folder: %v", lost, old.ID, err)
	}
	if got != "1,2" {
		t.Errorf("restored %s at %s, with the old course's mysql-bin.000001 in the current folder: %q, want 1,2", old.ID, lost, got)
	}
}

// waitArchived waits until key is archived up to pos, a position the
// server gave (SHOW MASTER STATUS).
func waitArchived(t *testing.T, dest backup.Store, key, pos string) {
	t.Helper()
	eventually(t, 30*time.Second, key+" archived up to "+pos, func() bool {
		objs, err := dest.List(t.Context(), key)
		return err == nil && len(objs) > 0 && objs[0].Key == key && objs[0].Size >= atoi(t, pos)
	})
}

// archivedObjects reads every object of the archive folder dir but its
// status.
func archivedObjects(t *testing.T, dest backup.Store, dir string) map[string][]byte {
	t.Helper()
	objs, err := dest.List(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range objs {
		if name := strings.TrimPrefix(o.Key, dir); !strings.HasPrefix(name, "status.json") {
			out[name] = readAll(t, dest, o.Key)
		}
	}
	return out
}

// rollback is a MariaDB server of a test's own with a table events
// holding row 1, archived into a bucket of its own while the test runs.
type rollback struct {
	e    *env
	ctx  context.Context
	db   string
	d    *sql.DB
	dest backup.Store
	eng  *backup.Engine
	arch *backup.Archiver
	stop func()
}

func startRollback(t *testing.T, timeout time.Duration) rollback {
	t.Helper()
	requireTool(t, "mariadb-binlog")
	r := rollback{e: newOwnServerEnv(t), ctx: ctxTimeout(t, timeout)}
	r.db = r.e.db.Database(t)
	r.d = r.e.sql(r.db)
	exec(t, r.d, "CREATE TABLE events (id INT PRIMARY KEY)")
	exec(t, r.d, "INSERT INTO events VALUES (1)")
	r.dest = r.e.store(r.e.bucket(), "rollback/")
	r.eng = r.e.engine(r.dest)
	r.arch = r.e.archiver(r.dest)
	r.stop = archiving(t, r.arch)
	return r
}

// restoreEvents restores database db at at into a new database of e's
// server and returns the ids in its events table ("1,2").
func restoreEvents(ctx context.Context, e *env, eng *backup.Engine, db string, at time.Time) (string, error) {
	t := e.t
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: at, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		return "", err
	}
	return rowsOf(t, e.sql(target), "SELECT id FROM events ORDER BY id"), nil
}
