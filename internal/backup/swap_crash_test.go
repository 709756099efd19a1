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
		t.Skip("not a test of its own: TestRestoreKilledMidSwap runs it in a child process, with " + crashEnv + " set, to be killed mid-restore")
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
	before := schemasOf(t, e, targets)
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
			// The first database's swap had completed when the second's
			// was killed: its restored tables are kept, not dropped.
			kept := 0
			if tc.db == targets[1] {
				kept = 1
			}
			rec := rollbackSQL(t, e, eng, false, kept)
			if rec.Completed || rec.Backup != m.ID {
				t.Fatalf("RollbackSQL: %+v; want one journal put back", rec)
			}
			sameAs(t, e, before, "after RollbackSQL")
			noStagingLeft(t, e)
			if rec, err := eng.RollbackSQL(ctx, *e.server(), false); err != nil || len(rec) != 0 {
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
		if _, err := eng.RollbackSQL(ctx, *e.server(), false); !errors.Is(err, stop) {
			t.Fatalf("RollbackSQL with a fault: %v", err)
		}
		backup.SetSwapFaultRecovery(t, nil)
		if err := restore(); !errors.Is(err, backup.ErrInterruptedSwap) {
			t.Fatalf("a restore after a rollback stopped half-way: %v; want it refused", err)
		}
		rollbackSQL(t, e, eng, false, 1)
		sameAs(t, e, before, "after the second RollbackSQL")
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
		// The killed restore's session holds the lock until the server
		// reads its closed socket, which under load takes a moment: wait
		// for it as RollbackSQL does (a timeout of 0 failed a CI run).
		if got := rowsOfConn(t, conn, "SELECT GET_LOCK('"+jdb+"', 30)"); got != "1" {
			t.Fatalf("GET_LOCK: %s", got)
		}
		if _, err := eng.RollbackSQL(ctx, *e.server(), false); err == nil || !strings.Contains(err.Error(), "still running") {
			t.Errorf("RollbackSQL while the lock is held: %v; want it refused", err)
		}
		if err := restore(); !errors.Is(err, backup.ErrInterruptedSwap) || !strings.Contains(err.Error(), "running now") {
			t.Errorf("a restore while the lock is held: %v; want it refused as running", err)
		}
		// The restore's connection goes (its process died): the lock with it.
		conn.Close()
		holder.Close()
		if rec, err := eng.RollbackSQL(ctx, *e.server(), false); err != nil || len(rec) != 1 {
			t.Fatalf("RollbackSQL after the lock was freed: %+v, %v", rec, err)
		}
		if after := schemaOf(t, e, targets[0]); after != before[targets[0]] {
			t.Errorf("%s after RollbackSQL:\n%s", targets[0], after)
		}
	})

	// Killed after every database was swapped in, before the journal
	// recorded the restore complete (a restore whose error says it could
	// not record it): put back without --complete; --complete is refused
	// for a swap that did not reach every database.
	t.Run("killed before recording its completion", func(t *testing.T) {
		kill(t, "created", targets[1])
		if _, err := eng.RollbackSQL(ctx, *e.server(), true); err == nil || !strings.Contains(err.Error(), "did not swap every database") {
			t.Fatalf("RollbackSQL --complete of a swap killed half-way: %v; want it refused", err)
		}
		if rec := rollbackSQL(t, e, eng, false, 1); rec.Completed {
			t.Fatalf("RollbackSQL: %+v", rec)
		}
		kill(t, "record", "")
		if rec := rollbackSQL(t, e, eng, false, 2); rec.Completed {
			t.Fatalf("RollbackSQL: %+v; want it put back", rec)
		}
		sameAs(t, e, before, "after RollbackSQL")
		noStagingLeft(t, e)
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
			if rec := rollbackSQL(t, e, eng, false, 0); !rec.Completed {
				t.Fatalf("RollbackSQL: %+v; want the completed restore finished", rec)
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
	t.Run("kept with --complete", func(t *testing.T) {
		kill(t, "record", "")
		if rec := rollbackSQL(t, e, eng, true, 0); !rec.Completed {
			t.Fatalf("RollbackSQL --complete: %+v", rec)
		}
		noStagingLeft(t, e)
		for i, tg := range targets {
			if completed != nil && schemaOf(t, e, tg) != completed[i] {
				t.Errorf("%s kept with --complete differs from a completed restore", tg)
			}
		}
	})
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

// TestRestoreKeepsItsJournalLock: the lock that says a restore is alive
// belongs to one connection. An idle connection is closed by the server
// after wait_timeout (a bucket restore can take hours after the swap):
// a keepalive keeps it. A lock connection lost anyway stops the restore
// without touching the targets again, whether or not another session (a
// rollback-sql) took the lock in between: from then on the journal is
// RollbackSQL's. Lost just before the restore records its completion,
// the restore fails saying so, and --complete keeps it.
func TestRestoreKeepsItsJournalLock(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	m, eng, dbMap, targets := twoDatabaseRestore(t, e)
	before := schemasOf(t, e, targets)
	admin := e.sql("")
	holder := func(t *testing.T) (journal, id string) {
		t.Helper()
		journal = rowsOf(t, admin, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'spinops\_swap\_%'`)
		if journal == "" {
			t.Fatal("no journal during the swap")
		}
		return journal, rowsOf(t, admin, "SELECT COALESCE(IS_USED_LOCK('"+journal+"'), 'free')")
	}
	restore := func() error {
		_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: dbMap, Overwrite: true}})
		return err
	}

	t.Run("taken by another session", func(t *testing.T) {
		other := e.sql("")
		backup.SetSwapFault(t, func(step, db string) error {
			if step == "created" && db == targets[0] {
				journal, id := holder(t)
				exec(t, admin, "KILL CONNECTION "+id)
				conn, err := other.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if got := rowsOfConn(t, conn, "SELECT GET_LOCK('"+journal+"', 5)"); got != "1" {
					t.Fatalf("GET_LOCK after the restore's connection was killed: %s", got)
				}
				conn.Close() // back to the pool, the lock with the session
			}
			return nil
		})
		err := restore()
		if err == nil || !strings.Contains(err.Error(), "not put back here") || !strings.Contains(err.Error(), "rollback-sql") {
			t.Fatalf("a restore whose lock another session took: %v", err)
		}
		backup.SetSwapFault(t, nil)
		other.Close() // the other session ends: its lock is free
		rollbackSQL(t, e, eng, false, 0)
		sameAs(t, e, before, "after RollbackSQL")
		noStagingLeft(t, e)
	})

	t.Run("lost", func(t *testing.T) {
		backup.SetSwapFault(t, func(step, db string) error {
			if step == "created" && db == targets[0] {
				_, id := holder(t)
				exec(t, admin, "KILL CONNECTION "+id)
			}
			return nil
		})
		err := restore()
		if err == nil || !strings.Contains(err.Error(), "lost the lock") || !strings.Contains(err.Error(), "rollback-sql") {
			t.Fatalf("a restore whose lock connection was killed: %v", err)
		}
		backup.SetSwapFault(t, nil)
		rollbackSQL(t, e, eng, false, 0)
		sameAs(t, e, before, "after RollbackSQL")
		noStagingLeft(t, e)
	})

	// Before, a commit that could not record the restore complete
	// returned success, and the rollback-sql it advised then undid the
	// restore, with what had been written since.
	t.Run("lost before recording its completion", func(t *testing.T) {
		backup.SetSwapFault(t, func(step, db string) error {
			if step == "record" {
				_, id := holder(t)
				exec(t, admin, "KILL CONNECTION "+id)
			}
			return nil
		})
		err := restore()
		if err == nil || !strings.Contains(err.Error(), "rollback-sql --complete") {
			t.Fatalf("a restore that could not record its completion: %v; want an error naming rollback-sql --complete", err)
		}
		backup.SetSwapFault(t, nil)
		exec(t, e.sql(targets[1]), "INSERT INTO executions VALUES (99, 'written after the restore')")
		if rec := rollbackSQL(t, e, eng, true, 0); !rec.Completed {
			t.Fatalf("RollbackSQL --complete: %+v", rec)
		}
		if got := rowsOf(t, e.sql(targets[1]), "SELECT status FROM executions WHERE id = 99"); got != "written after the restore" {
			t.Errorf("the row written after the restore, after RollbackSQL --complete: %q", got)
		}
		noStagingLeft(t, e)
	})

	t.Run("kept alive past wait_timeout", func(t *testing.T) {
		old := rowsOf(t, admin, "SELECT @@GLOBAL.wait_timeout")
		exec(t, admin, "SET GLOBAL wait_timeout = 2")
		t.Cleanup(func() { _, _ = admin.Exec("SET GLOBAL wait_timeout = " + old) })
		backup.SetSwapKeepalive(t, 300*time.Millisecond)
		backup.SetSwapFault(t, func(step, db string) error {
			if step == "created" && db == targets[0] {
				_, id := holder(t)
				time.Sleep(4 * time.Second) // twice wait_timeout
				if _, now := holder(t); now != id {
					t.Errorf("the lock was held by %s, after twice wait_timeout by %s: the lock connection was closed", id, now)
				}
			}
			return nil
		})
		if err := restore(); err != nil {
			t.Fatal(err)
		}
		noStagingLeft(t, e)
	})
}

// rollbackSQL runs RollbackSQL, which must recover one journal and keep
// kept staging databases (each with the restored tables: they are then
// dropped).
func rollbackSQL(t *testing.T, e *env, eng *backup.Engine, complete bool, kept int) backup.SwapRecovery {
	t.Helper()
	rec, err := eng.RollbackSQL(t.Context(), *e.server(), complete)
	if err != nil || len(rec) != 1 {
		t.Fatalf("RollbackSQL: %+v, %v; want one journal recovered", rec, err)
	}
	if len(rec[0].Kept) != kept {
		t.Errorf("RollbackSQL kept %v, want %d staging database(s)", rec[0].Kept, kept)
	}
	for _, db := range rec[0].Kept {
		if n := rowsOf(t, e.sql(""), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+db+"'"); n == "0" {
			t.Errorf("kept %s has no tables", db)
		}
		exec(t, e.sql(""), "DROP DATABASE "+db)
	}
	return rec[0]
}

// TestRollbackSQLRefusesForeignJournal: RollbackSQL renames and drops the
// databases a journal names. A journal planted by someone who can create
// a spinops_swap_* database, naming another database as the trash (whose
// tables would move into the "target", the database then dropped) or as
// the staging database, is refused and nothing is touched.
func TestRollbackSQLRefusesForeignJournal(t *testing.T) {
	e := newEnv(t)
	victim, loot := e.db.Database(t), e.db.Database(t)
	exec(t, e.sql(victim), "CREATE TABLE secrets (id INT, v TEXT)")
	exec(t, e.sql(victim), "INSERT INTO secrets VALUES (1, 'production data')")
	admin := e.sql("")
	for _, tc := range []struct{ name, state, final, stage, trash string }{
		{"another database as the trash", "swapping", loot, "spinops_stage_0123456789ab", victim},
		{"another database as the staging database", "committed", loot, victim, "spinops_old_0123456789ab"},
		{"a system database as the target", "swapping", "mysql", "spinops_stage_0123456789ab", "spinops_old_0123456789ab"},
		{"a state no restore writes", "gone", loot, "spinops_stage_0123456789ab", "spinops_old_0123456789ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jdb := "spinops_swap_0123456789ab"
			t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + jdb) })
			exec(t, admin, "CREATE DATABASE "+jdb)
			exec(t, admin, "CREATE TABLE "+jdb+".journal (ord INT PRIMARY KEY, final VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, entry LONGTEXT NOT NULL)")
			entry, _ := json.Marshal(map[string]any{"backup": "x", "final": tc.final, "stage": tc.stage, "trash": tc.trash, "existed": true, "tables": []string{"nope"}})
			exec(t, admin, "INSERT INTO "+jdb+".journal VALUES (0, ?, ?, ?)", tc.final, tc.state, string(entry))
			rec, err := (&backup.Engine{}).RollbackSQL(t.Context(), *e.server(), false)
			if err == nil || !strings.Contains(err.Error(), "not one a restore writes") {
				t.Errorf("RollbackSQL of a planted journal: %+v, %v; want it refused", rec, err)
			}
			if got := rowsOf(t, e.sql(victim), "SELECT v FROM secrets"); got != "production data" {
				t.Errorf("%s after RollbackSQL of a planted journal: %q", victim, got)
			}
		})
	}
}

// sameAs checks that every database of want still has the schema and
// rows it had (what says when).
func sameAs(t *testing.T, e *env, want map[string]string, what string) {
	t.Helper()
	for db, before := range want {
		if after := schemaOf(t, e, db); after != before {
			t.Errorf("%s %s:\n--- before\n%s\n--- after\n%s", db, what, before, after)
		}
	}
}
