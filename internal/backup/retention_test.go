package backup_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// Retention keeps the newest N or those younger than D days, never the
// newest complete backup, and keeps bucket copies kept backups refer to.
func TestRetentionDeletesOnlyWhatItShould(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	src := e.store(e.bucket(), "")
	_ = src.Put(ctx, "shared.json", strings.NewReader("unchanged in every backup"))
	dest := e.store(e.bucket(), "r/")
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	eng := &backup.Engine{Dest: dest, Now: func() time.Time { return clock }, Keys: testKeys()}
	var ids []string
	for i := 0; i < 5; i++ {
		m, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		clock = clock.Add(24 * time.Hour)
	}
	// now = day 5; backups at days 0..4. Keep newest 2, or younger than 4 days (days 2,3,4 → ages 3,2,1).
	res, err := backup.ApplyRetention(ctx, dest, backup.Retention{Count: 2, Days: 4}, clock, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, ids[:2]) {
		t.Errorf("deleted %v, want %v", res.Deleted, ids[:2])
	}
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Complete) != 3 || l.Complete[0].ID != ids[2] {
		t.Fatalf("after retention: %d backups, oldest %s", len(l.Complete), l.Complete[0].ID)
	}
	// The object every backup shares was stored by the first (deleted) one and must survive.
	eng2 := e.engine(dest)
	if _, err := eng2.Verify(ctx, ids[2]); err != nil {
		t.Errorf("a kept backup lost a shared object: %v", err)
	}
	// Rules that would drop everything still keep the newest complete backup.
	res, err = backup.ApplyRetention(ctx, dest, backup.Retention{Days: 1}, clock.Add(100*24*time.Hour), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, _ = backup.List(ctx, dest)
	if len(l.Complete) != 1 || l.Complete[0].ID != ids[4] || len(res.Deleted) != 2 {
		t.Errorf("kept %d backups (%v deleted); want only the newest %s", len(l.Complete), res.Deleted, ids[4])
	}
	if _, err := eng2.Verify(ctx, ids[4]); err != nil {
		t.Errorf("the newest backup is damaged after retention: %v", err)
	}
}

// A backup interrupted before its manifest is never listed, and a later
// complete backup's retention run removes its parts.
func TestInterruptedBackupIsNotListed(t *testing.T) {
	e := newEnv(t)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE big (id INT PRIMARY KEY AUTO_INCREMENT, pad TEXT)")
	exec(t, d, "INSERT INTO big (pad) SELECT REPEAT(UUID(), 20) FROM seq_1_to_20000")
	dest := e.store(e.bucket(), "")
	// An upload that stops half-way: the store fails after the first part has been written.
	failing := &failOn{Store: dest, match: "/second."} // table "big" is stored, then "second" fails
	eng := &backup.Engine{Dest: failing, Keys: testKeys(), Dump: backup.DumpOptions{Parallel: 1}}
	exec(t, d, "CREATE TABLE second (id INT PRIMARY KEY)")
	_, err := eng.Run(ctxTimeout(t, time.Minute), backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err == nil {
		t.Fatal("the interrupted backup succeeded")
	}
	l, err := backup.List(t.Context(), dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Complete) != 0 || len(l.Incomplete) != 1 {
		t.Fatalf("listing after an interrupted backup: %d complete, %v incomplete", len(l.Complete), l.Incomplete)
	}
	// Nothing was written in the interrupted folder for longer than the
	// lease TTL (here: 1ns), so it is abandoned.
	full := &backup.Engine{Dest: dest, Keys: testKeys(), LeaseTTL: time.Nanosecond}
	if _, err := full.Run(t.Context(), backup.RunOptions{MySQL: e.server(), Databases: []string{db}, Retention: backup.Retention{Count: 5}}); err != nil {
		t.Fatal(err)
	}
	l, _ = backup.List(t.Context(), dest)
	if len(l.Complete) != 1 || len(l.Incomplete) != 0 {
		t.Errorf("after a complete backup: %d complete, incomplete %v (want the interrupted one removed)", len(l.Complete), l.Incomplete)
	}
}

// failOn is an upload that stops half-way for keys containing match.
type failOn struct {
	backup.Store
	match string
}

func (f *failOn) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.Contains(key, f.match) {
		_, _ = io.CopyN(io.Discard, r, 1024)
		return errors.New("connection reset (simulated)")
	}
	return f.Store.Put(ctx, key, r)
}

// Refusals happen before anything is written.
func TestBackupRefusesClearly(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, time.Minute)
	db := e.db.Database(t)
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)

	bad := *e.server()
	bad.Password = "wrong"
	_, err := eng.Run(ctx, backup.RunOptions{MySQL: &bad, Databases: []string{db}})
	if err == nil || !strings.Contains(err.Error(), "wrong user or password") {
		t.Errorf("wrong password: %v", err)
	}
	_, err = eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{"no_such_db"}})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing database: %v", err)
	}
	nowhere := e.engine(e.store("tf-acc-test-does-not-exist", ""))
	_, err = nowhere.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("unwritable destination: %v", err)
	}
	if l, _ := backup.List(ctx, dest); len(l.Complete)+len(l.Incomplete) != 0 {
		t.Errorf("a refused backup wrote something: %+v", l)
	}
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: "nope", MySQL: &backup.MySQLTarget{Server: *e.server()}})
	if err == nil || !strings.Contains(err.Error(), "no complete backup") {
		t.Errorf("unknown backup: %v", err)
	}
	_ = testenv.Required
}
