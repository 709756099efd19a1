package backup_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	osexec "os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// crashEnv carries a crashSpec to TestSwapCrashChild.
const crashEnv = "SPINOPS_TEST_SWAP_CRASH"

// crashSpec is a restore for the child process to run and the step of the
// swap at which it kills itself.
type crashSpec struct {
	Server   backup.MySQLServer
	Store    string
	Backup   string
	DBMap    map[string]string
	Step, DB string
}

// TestSwapCrashChild is not a test of its own: TestRestoreKilledMidSwap
// runs the test binary again with only it selected, and it restores with
// --overwrite and kills its own process with SIGKILL at the step asked (no
// deferred function, no rollback runs: what a node drained or the OOM
// killer leaves).
func TestSwapCrashChild(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("run by TestRestoreKilledMidSwap")
	}
	var c crashSpec
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	backup.SetSwapFault(t, func(step, db string) error {
		if step == c.Step && db == c.DB {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	})
	eng := &backup.Engine{Dest: backup.NewFileStore(c.Store), Keys: testKeys()}
	_, err := eng.Restore(t.Context(), backup.RestoreOptions{BackupID: c.Backup, MySQL: &backup.MySQLTarget{Server: c.Server, DatabaseMap: c.DBMap, Overwrite: true}})
	t.Fatalf("the restore was not killed at %s of %s: %v", c.Step, c.DB, err)
}

// TestRestoreKilledMidSwap: a restore of two databases with --overwrite,
// its process killed (SIGKILL, in a child process) at each step of the
// swap of each database, and while it commits. After the kill the targets
// are half-swapped (their views, triggers and routines dropped, their
// tables in a trash database): the next restore into them is refused,
// naming rollback-sql, and RollbackSQL puts every target back as it was —
// or, killed while it commits (the restore had completed), leaves the
// restored data and drops what it replaced. No staging, trash or journal
// database is left, and a second RollbackSQL finds nothing to do.
func TestRestoreKilledMidSwap(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 5*time.Minute)
	dir := t.TempDir()
	m, eng, dbMap, targets := twoDatabaseRestoreTo(t, e, backup.NewFileStore(dir))
	before := map[string]string{}
	for _, tg := range targets {
		before[tg] = schemaOf(t, e, tg)
	}
	kill := func(t *testing.T, step, db string) {
		t.Helper()
		spec, err := json.Marshal(crashSpec{Server: *e.server(), Store: dir, Backup: m.ID, DBMap: dbMap, Step: step, DB: db})
		if err != nil {
			t.Fatal(err)
		}
		cmd := osexec.CommandContext(ctx, os.Args[0], "-test.run=^TestSwapCrashChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), crashEnv+"="+string(spec))
		out, err := cmd.CombinedOutput()
		var ee *osexec.ExitError
		if !errors.As(err, &ee) || !ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
			t.Fatalf("the restore at %s of %s was not killed: %v\n%s", step, db, err, out)
		}
	}
	restore := func() error {
		_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: dbMap, Overwrite: true}})
		return err
	}
	which := map[string]string{targets[0]: "the first", targets[1]: "the second"}
	for _, tc := range []struct{ step, db string }{
		{"drop", targets[0]}, {"rename", targets[0]}, {"objects", targets[0]}, {"created", targets[0]},
		{"drop", targets[1]}, {"rename", targets[1]}, {"objects", targets[1]}, {"created", targets[1]},
	} {
		t.Run("killed at "+tc.step+" of "+which[tc.db], func(t *testing.T) {
			kill(t, tc.step, tc.db)
			if tc.step == "rename" {
				// What the kill leaves: the target without its own views,
				// triggers and routines (before the journal, nothing said
				// what they were but the restore's log).
				if after := schemaOf(t, e, tc.db); after == before[tc.db] {
					t.Fatalf("killed after dropping %s's objects, it is unchanged: the kill was not mid-swap", tc.db)
				}
			}
			if err := restore(); !errors.Is(err, backup.ErrInterruptedSwap) || !strings.Contains(err.Error(), "rollback-sql") {
				t.Fatalf("a restore into a half-swapped target: %v; want it refused, naming rollback-sql", err)
			}
			rec, err := eng.RollbackSQL(ctx, *e.server())
			if err != nil || len(rec) != 1 || rec[0].Completed || rec[0].Backup != m.ID {
				t.Fatalf("RollbackSQL: %+v, %v; want one journal put back", rec, err)
			}
			for _, tg := range targets {
				if after := schemaOf(t, e, tg); after != before[tg] {
					t.Errorf("%s after RollbackSQL:\n--- before\n%s\n--- after\n%s", tg, before[tg], after)
				}
			}
			noStagingLeft(t, e)
			if rec, err := eng.RollbackSQL(ctx, *e.server()); err != nil || len(rec) != 0 {
				t.Errorf("a second RollbackSQL: %+v, %v; want nothing to do", rec, err)
			}
		})
	}

	// RollbackSQL itself stopped half-way (after putting the second
	// database back): the journal stays, a rerun finishes.
	t.Run("rollback stopped half-way", func(t *testing.T) {
		kill(t, "created", targets[1])
		stop := errors.New("killed")
		backup.SetSwapFaultRecovery(t, func(db string) error {
			if db == targets[1] {
				return stop
			}
			return nil
		})
		if _, err := eng.RollbackSQL(ctx, *e.server()); !errors.Is(err, stop) {
			t.Fatalf("RollbackSQL with a fault: %v", err)
		}
		backup.SetSwapFaultRecovery(t, nil)
		if err := restore(); !errors.Is(err, backup.ErrInterruptedSwap) {
			t.Fatalf("a restore after a rollback stopped half-way: %v; want it refused", err)
		}
		if rec, err := eng.RollbackSQL(ctx, *e.server()); err != nil || len(rec) != 1 {
			t.Fatalf("RollbackSQL again: %+v, %v", rec, err)
		}
		for _, tg := range targets {
			if after := schemaOf(t, e, tg); after != before[tg] {
				t.Errorf("%s after the second RollbackSQL:\n--- before\n%s\n--- after\n%s", tg, before[tg], after)
			}
		}
		noStagingLeft(t, e)
	})

	// A journal whose restore still holds its lock is a running restore:
	// neither RollbackSQL nor another restore touches it.
	t.Run("a running restore is left alone", func(t *testing.T) {
		kill(t, "rename", targets[0])
		jdb := rowsOf(t, e.sql(""), `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'spinops\_swap\_%'`)
		if jdb == "" {
			t.Fatal("no journal after the kill")
		}
		holder := e.sql("")
		conn, err := holder.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOfConn(t, conn, "SELECT GET_LOCK('"+jdb+"', 0)"); got != "1" {
			t.Fatalf("GET_LOCK: %s", got)
		}
		if _, err := eng.RollbackSQL(ctx, *e.server()); err == nil || !strings.Contains(err.Error(), "still running") {
			t.Errorf("RollbackSQL while the lock is held: %v; want it refused", err)
		}
		if err := restore(); !errors.Is(err, backup.ErrInterruptedSwap) || !strings.Contains(err.Error(), "running now") {
			t.Errorf("a restore while the lock is held: %v; want it refused as running", err)
		}
		// The restore's connection goes (its process died): the lock with it.
		conn.Close()
		holder.Close()
		if rec, err := eng.RollbackSQL(ctx, *e.server()); err != nil || len(rec) != 1 {
			t.Fatalf("RollbackSQL after the lock was freed: %+v, %v", rec, err)
		}
		if after := schemaOf(t, e, targets[0]); after != before[targets[0]] {
			t.Errorf("%s after RollbackSQL:\n%s", targets[0], after)
		}
	})

	// Killed while it commits: every database holds the backup already;
	// RollbackSQL keeps it and drops what it replaced. The result is what
	// a restore that was not killed leaves.
	var completed []string
	for _, db := range targets {
		t.Run("killed while committing "+which[db], func(t *testing.T) {
			kill(t, "commit", db)
			if err := restore(); !errors.Is(err, backup.ErrInterruptedSwap) {
				t.Fatalf("a restore after one killed while committing: %v; want it refused", err)
			}
			rec, err := eng.RollbackSQL(ctx, *e.server())
			if err != nil || len(rec) != 1 || !rec[0].Completed {
				t.Fatalf("RollbackSQL: %+v, %v; want the completed restore finished", rec, err)
			}
			noStagingLeft(t, e)
			var now []string
			for _, tg := range targets {
				now = append(now, schemaOf(t, e, tg))
			}
			if completed != nil && strings.Join(now, "\n") != strings.Join(completed, "\n") {
				t.Errorf("the targets differ between two completed restores of one backup")
			}
			completed = now
		})
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	for i, tg := range targets {
		if completed != nil && schemaOf(t, e, tg) != completed[i] {
			t.Errorf("%s after a restore that was not killed differs from one killed while committing and finished by RollbackSQL", tg)
		}
	}
	if got := rowsOf(t, e.sql(targets[1]), "SELECT id FROM running"); got != "2" {
		t.Errorf("the second target's view after the restore: %q", got)
	}
	noStagingLeft(t, e)
}

// rowsOfConn is rowsOf on one connection (a named lock belongs to it).
func rowsOfConn(t *testing.T, conn *sql.Conn, q string) string {
	t.Helper()
	var s sql.NullString
	if err := conn.QueryRowContext(t.Context(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s.String
}
