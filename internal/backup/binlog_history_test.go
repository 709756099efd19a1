package backup_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// RESET MASTER, while the archiver runs, numbers the server's binlogs
// from 1 again under the same server key. The archiver must not upload the new history over the
// archived one: it moves the old history to a folder of its own, byte
// for byte, where a backup taken before the reset still finds its chain
// (list, restore --at inside the old history), a backup after the reset
// has its own window in the current folder, and retention keeps the old
// history while a backup taken in it is kept. Its own server: RESET
// MASTER would cut the shared one's binlogs under the other tests.
func TestBinlogResetPreservesTheArchivedHistory(t *testing.T) {
	t.Parallel() // (its own MariaDB server)
	requireTool(t, "mariadb-binlog")
	e := newOwnServerEnv(t)
	ctx := ctxTimeout(t, 4*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "reset/")
	eng := e.engine(dest)
	arch := e.archiver(dest)
	stop := archiving(t, arch)
	old, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (1)")
	exec(t, d, "FLUSH BINARY LOGS") // the old history has two files
	exec(t, d, "INSERT INTO events VALUES (2)")
	time.Sleep(1100 * time.Millisecond)
	atOld := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (3)") // after atOld: the window reaches past it
	time.Sleep(1500 * time.Millisecond)         // flushed

	server := arch.ServerKey()
	dir := "binlogs/" + server + "/"
	before := map[string][]byte{}
	objs, err := dest.List(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if name := strings.TrimPrefix(o.Key, dir); !strings.HasPrefix(name, "status.json") {
			before[name] = readAll(t, dest, o.Key)
		}
	}
	if len(before) < 6 {
		t.Fatalf("the old history's archive holds %d objects, want two files with their scans and signatures", len(before))
	}

	// The archiver runs on: its stream ends (the server cannot find the
	// next file), it starts again from the server's mysql-bin.000001 and
	// finds it is not the archived one.
	exec(t, d, "RESET MASTER")
	exec(t, d, "INSERT INTO events VALUES (10)") // the new history
	exec(t, d, "FLUSH BINARY LOGS")
	exec(t, d, "INSERT INTO events VALUES (11)")
	var preserved string
	eventually(t, 30*time.Second, "the old history preserved and the new one archived", func() bool {
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
		if preserved == "" || cur == nil || len(cur.Files) < 2 {
			return false
		}
		// The new history is uploaded once the move is over.
		for _, o := range cur.Files {
			rc, _, err := dest.Get(ctx, o.Key)
			if err != nil {
				return false // moved meanwhile
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || bytes.Equal(b, before[strings.TrimPrefix(o.Key, dir)]) {
				return false
			}
		}
		return true
	})

	// (a) The old history, byte for byte, signatures and scans included.
	pdir := "binlogs/" + preserved + "/"
	for name, b := range before {
		if got := readAll(t, dest, pdir+name); !bytes.Equal(got, b) {
			t.Errorf("the preserved %s%s differs from the archived one before the reset (%d bytes, was %d)", pdir, name, len(got), len(b))
		}
	}

	// The listing gives the old backup (the newest still) its window in
	// the preserved history.
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := l.RestoreWindow(); l.ChainErr != nil || l.Chain == nil || l.Chain.Server != preserved || w.Gap != nil || w.Latest.Before(atOld) {
		t.Fatalf("list after the reset: chain %+v, error %v; want the old backup's chain in %s reaching %s", l.Chain, l.ChainErr, preserved, atOld)
	}

	// (b) restore --at inside the old history, its files verified.
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: atOld, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at %s of the backup taken before the reset: %v", atOld, err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM events ORDER BY id"); got != "1,2" {
		t.Errorf("restored the old backup at %s: %q, want 1,2", atOld, got)
	}

	// (c) A backup after the reset has its own window, in the current folder.
	recent, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (12)")
	time.Sleep(1100 * time.Millisecond)
	atNew := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (13)")
	time.Sleep(1100 * time.Millisecond)
	stop()
	if l, err = backup.List(ctx, dest); err != nil {
		t.Fatal(err)
	}
	if l.ChainErr != nil || l.Chain == nil || l.Chain.Server != server || l.Chain.Until.Before(atNew) {
		t.Fatalf("list after a backup in the new history: chain %+v, error %v; want its chain in %s reaching %s", l.Chain, l.ChainErr, server, atNew)
	}
	target = e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: atNew, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at %s of the backup taken after the reset: %v", atNew, err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM events ORDER BY id"); got != "1,2,3,10,11,12" {
		t.Errorf("restored the new backup %s at %s: %q, want 1,2,3,10,11,12", recent.ID, atNew, got)
	}

	// (d) Retention keeps the preserved history while the old backup is
	// kept, and deletes it once it is not.
	ret := &backup.Engine{Dest: dest, Keys: testKeys(), LeaseTTL: time.Nanosecond, Log: testLogger(t)}
	if _, err := ret.ApplyRetention(ctx, backup.Retention{Count: 2}); err != nil {
		t.Fatal(err)
	}
	for name, b := range before {
		if got := readAll(t, dest, pdir+name); !bytes.Equal(got, b) {
			t.Errorf("retention keeping the old backup changed %s%s", pdir, name)
		}
	}
	res, err := ret.ApplyRetention(ctx, backup.Retention{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	left, err := dest.List(ctx, pdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 1 || res.Deleted[0] != old.ID || len(left) != 0 {
		t.Errorf("retention keeping only %s: deleted %v, %d objects left in %s; want the old backup and its history gone", recent.ID, res.Deleted, len(left), pdir)
	}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: atNew, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}}); err != nil {
		t.Errorf("restore --at %s after retention: %v", atNew, err)
	}
}
