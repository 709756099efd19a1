package backup_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// archiving runs an archiver until the returned stop is called.
func archiving(t *testing.T, a *backup.Archiver) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var err error
	wg.Add(1)
	go func() { defer wg.Done(); err = a.Run(ctx) }()
	once := sync.Once{}
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("archive-binlogs: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (e *env) archiver(dest backup.Store) *backup.Archiver {
	return &backup.Archiver{Server: *e.server(), Dest: dest, WorkDir: filepath.Join(e.t.TempDir(), "binlogs"), FlushInterval: 300 * time.Millisecond, Log: testLogger(e.t), Keys: testKeys()}
}

func serverTime(t *testing.T, e *env) time.Time {
	t.Helper()
	var s string
	if err := e.sql("").QueryRowContext(t.Context(), "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')").Scan(&s); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func currentBinlog(t *testing.T, e *env) string {
	t.Helper()
	file, _ := serverPosition(t, e)
	return file
}

// A file missing from the middle of the archive ends the restore window at
// the gap: list reports the gap, a restore past it fails naming the
// missing file, and a restore before it still works.
func TestBinlogGapEndsTheWindow(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "gap/")
	eng := e.engine(dest)
	stop := archiving(t, e.archiver(dest))
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO events VALUES (1)")
	time.Sleep(1100 * time.Millisecond)
	beforeGap := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "FLUSH BINARY LOGS")
	lost := currentBinlog(t, e)
	exec(t, d, "INSERT INTO events VALUES (2)")
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "FLUSH BINARY LOGS")
	exec(t, d, "INSERT INTO events VALUES (3)")
	time.Sleep(1100 * time.Millisecond)
	afterGap := serverTime(t, e)
	time.Sleep(time.Second)
	stop()

	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := l.RestoreWindow()
	if w.Gap != nil || !w.Latest.After(afterGap.Add(-time.Second)) {
		t.Fatalf("before the file goes missing the window must reach the last insert (%s): %+v, gap %v", afterGap, w, w.Gap)
	}
	// The file holding insert 2 disappears from the bucket.
	var lostKey string
	for server, a := range l.Archives {
		for _, f := range a.Files {
			if strings.HasSuffix(f.Key, "/"+lost) {
				lostKey = f.Key
				_ = server
			}
		}
	}
	if lostKey == "" {
		t.Fatalf("%s was not archived: %+v", lost, l.Archives)
	}
	if err := dest.Delete(ctx, lostKey); err != nil {
		t.Fatal(err)
	}

	l, err = backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	w, _ = l.RestoreWindow()
	if w.Gap == nil || w.Gap.Missing != lost {
		t.Fatalf("list does not report the gap at %s: window %+v, gap %v", lost, w, w.Gap)
	}
	if !w.Latest.Before(afterGap.Add(-time.Second)) {
		t.Errorf("the window reaches %s, past the gap (insert 3 at %s is not restorable)", w.Latest, afterGap)
	}
	_, err = eng.Restore(ctx, backup.RestoreOptions{At: afterGap, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
	if err == nil || !strings.Contains(err.Error(), lost) || !strings.Contains(err.Error(), "gap") {
		t.Fatalf("restore --at past the gap: %v, want an error naming the missing %s", err, lost)
	}
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: beforeGap, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at before the gap: %v", err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM events"); got != "1" {
		t.Errorf("restored before the gap: %q, want 1", got)
	}
}

// Without the archiver's status file the window still comes from the
// archived files themselves: a restore past the last archived event fails.
func TestCoverageCheckedWithoutStatusFile(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "nostatus/")
	eng := e.engine(dest)
	a := e.archiver(dest)
	stop := archiving(t, a)
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO events VALUES (1)")
	time.Sleep(1500 * time.Millisecond)
	stop()
	if err := dest.Delete(ctx, "binlogs/"+a.ServerKey()+"/status.json"); err != nil {
		t.Fatal(err)
	}
	at := serverTime(t, e).Add(time.Hour)
	_, err := eng.Restore(ctx, backup.RestoreOptions{At: at, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
	if err == nil || !strings.Contains(err.Error(), "reaches only") {
		t.Fatalf("restore --at an hour past the archive with no status file: %v, want a refusal", err)
	}
}

// A stream that stops receiving (mariadb-binlog stopped with SIGSTOP)
// stops the window: ArchivedUntil is the last archived event, not the last
// flush; the archiver's status and metrics show it is behind; and the
// window moves again when the stream resumes.
func TestStalledArchiverStopsTheWindow(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "stall/")
	eng := e.engine(dest)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	wrapper := filepath.Join(dir, "binlog-tool")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho $$ > "+pidFile+"\nexec mariadb-binlog \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	a := e.archiver(dest)
	a.Tool = wrapper
	reg := prometheus.NewRegistry()
	a.Metrics = backup.NewMetrics(reg)
	stop := archiving(t, a)
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO events VALUES (1)")
	time.Sleep(1500 * time.Millisecond)
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	time.Sleep(1100 * time.Millisecond)
	stalledAt := serverTime(t, e)
	exec(t, d, "INSERT INTO events VALUES (2)")
	// The first event the stopped stream does not archive was written by
	// insertedBy. Until then the server's position is still inside the
	// archive, so a flush may rightly prove the archive caught up a few
	// microseconds after stalledAt (a loaded run of e40d0ab: 55 µs); none
	// may after the insert.
	insertedBy := serverTime(t, e)
	time.Sleep(2 * time.Second) // several flushes while the stream is stopped

	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if !l.ArchivedUntil.Before(insertedBy) {
		t.Errorf("ArchivedUntil %s is past the first event not archived (written by %s): the window advances with flushes, not with archived events", l.ArchivedUntil, insertedBy)
	}
	if behind := gaugeValue(t, reg, "spinops_backup_binlog_behind_bytes"); behind <= 0 {
		t.Errorf("spinops_backup_binlog_behind_bytes = %v while the stream is stopped", behind)
	}
	st := l.Archives[a.ServerKey()].Status
	if st == nil || st.BehindBytes <= 0 || !st.HeartbeatAt.After(stalledAt) {
		t.Errorf("archive status while stalled: %+v", st)
	}
	_, err = eng.Restore(ctx, backup.RestoreOptions{At: stalledAt.Add(time.Second), MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
	if err == nil || !strings.Contains(err.Error(), "reaches only") {
		t.Errorf("restore --at past the stall: %v, want a refusal", err)
	}

	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	stop()
	l, err = backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if !l.ArchivedUntil.After(stalledAt) {
		t.Errorf("after the stream resumed the window still ends at %s", l.ArchivedUntil)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func startSecondMariaDB(t *testing.T) *testenv.MariaDB {
	t.Helper()
	m := testenv.StartMariaDB(t)
	d, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	exec(t, d, "SET GLOBAL server_id = 2")
	return m
}

// A failover: the new primary's files, numbered from 1 again, go to its
// own folder; the old primary's files stay byte for byte, and retention of
// the new primary's backups does not prune them.
func TestFailoverKeepsTheOldPrimarysArchive(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE events (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO events VALUES (1)")
	dest := e.store(e.bucket(), "failover/")
	eng := e.engine(dest)
	oldArch := e.archiver(dest)
	stop := archiving(t, oldArch)
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	stop()
	before, err := dest.List(ctx, "binlogs/"+oldArch.ServerKey()+"/")
	if err != nil || len(before) == 0 {
		t.Fatalf("old primary archived nothing: %v", err)
	}
	oldBytes := map[string]string{}
	for _, o := range before {
		oldBytes[o.Key] = string(readAll(t, dest, o.Key))
	}

	// The new primary: another server, server_id 2, same GTID domain.
	primary := startSecondMariaDB(t)
	ne := &env{t: t, db: primary, moto: e.moto, s3: e.s3}
	ndb := primary.Database(t)
	exec(t, ne.sql(ndb), "CREATE TABLE events (id INT PRIMARY KEY)")
	exec(t, ne.sql(ndb), "INSERT INTO events VALUES (2)")
	newArch := ne.archiver(dest)
	stop = archiving(t, newArch)
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: ne.server(), Databases: []string{ndb}, PointInTime: true, Retention: backup.Retention{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	stop()
	if newArch.ServerKey() == oldArch.ServerKey() {
		t.Fatalf("both servers archive under %s", newArch.ServerKey())
	}
	after, err := dest.List(ctx, "binlogs/"+oldArch.ServerKey()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the old primary's archive went from %d to %d objects", len(before), len(after))
	}
	for k, v := range oldBytes {
		if got := string(readAll(t, dest, k)); got != v {
			t.Errorf("%s changed after the failover (%d → %d bytes)", k, len(v), len(got))
		}
	}
	if got, _ := dest.List(ctx, "binlogs/"+newArch.ServerKey()+"/"); len(got) == 0 {
		t.Error("the new primary archived nothing")
	}
}
