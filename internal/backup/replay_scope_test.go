package backup_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// A point-in-time restore replays the archived binlog into a staging
// database renamed with mariadb-binlog's --rewrite-db, which leaves
// qualified names alone. Schema migrations name the database in their DDL
// (Liquibase, which Spinnaker's services run at start, does for every
// object), and an application may: `ALTER TABLE <db>.sessions` or
// `TRUNCATE <db>.sessions` inside the window ran again against the live
// database, during a restore that says it changed nothing (and during
// every drill, which replays on the source server): the live rows written
// since were gone, or the replay failed on the live table's column. Such a
// statement must run against the restored copy instead.
func TestReplayRewritesQualifiedNamesOfTheSourceDatabase(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE sessions (id INT PRIMARY KEY)")
	exec(t, d, "INSERT INTO sessions VALUES (1), (2)")
	dest := e.store(e.bucket(), "replay-scope/")
	eng := e.engine(dest)
	stop := archiving(t, e.archiver(dest))
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO sessions VALUES (3)")
	time.Sleep(1100 * time.Millisecond)
	beforeTruncate := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	// A migration names the database (default database the same), then
	// the application truncates the same way and goes on writing.
	exec(t, d, "ALTER TABLE `"+db+"`.sessions ADD COLUMN note VARCHAR(10)")
	exec(t, d, "/*!40000 TRUNCATE TABLE `"+db+"` . sessions */")
	exec(t, d, "INSERT INTO sessions VALUES (10, 'a'), (11, 'b')")
	time.Sleep(1100 * time.Millisecond)
	after := serverTime(t, e)
	time.Sleep(time.Second)
	stop()

	target := e.db.Database(t)
	_, err := eng.Restore(ctx, backup.RestoreOptions{At: after, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}})
	if got := rowsOf(t, d, "SELECT CONCAT(id, note) FROM sessions ORDER BY id"); got != "10a,11b" {
		t.Errorf("the live database after the restore into %s: %q, want 10a,11b (the replay truncated it again)", target, got)
	}
	if err != nil {
		t.Fatalf("restore --at past the qualified ALTER and TRUNCATE into %s: %v", target, err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT CONCAT(id, note) FROM sessions ORDER BY id"); got != "10a,11b" {
		t.Errorf("restored: %q, want 10a,11b (the ALTER and the TRUNCATE applied to the restored copy)", got)
	}

	// A drill replays on the source server too: it must pass and leave the
	// live rows alone.
	res, err := eng.Drill(ctx, backup.DrillOptions{Server: *e.server(), NoRecord: true})
	if err != nil || res.PointInTime.IsZero() {
		t.Errorf("drill over the window with the qualified statements: %v (%+v)", err, res)
	}
	if got := rowsOf(t, d, "SELECT CONCAT(id, note) FROM sessions ORDER BY id"); got != "10a,11b" {
		t.Fatalf("the live database after the drill: %q, want 10a,11b", got)
	}

	// Before the statements, the restore does not see them.
	target = e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: beforeTruncate, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at before the ALTER: %v", err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM sessions ORDER BY id"); got != "1,2,3" {
		t.Errorf("restored before the ALTER: %q, want 1,2,3", got)
	}
}

// A statement logged for the restored database but naming another one
// (`TRUNCATE other.audit` with the restored database as the default) would
// change that other database, which the restore does not own; and one that
// is not about a database's own data at all (`DROP DATABASE`, `GRANT`, an
// event) is refused too.
func TestReplayRefusesStatementsReachingPastTheDatabase(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db, other := e.db.Database(t), e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE t (id INT PRIMARY KEY)")
	exec(t, e.sql(other), "CREATE TABLE audit (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "replay-other/")
	eng := e.engine(dest)
	stop := archiving(t, e.archiver(dest))
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO t VALUES (1)")
	// Executable comment, spaces around the dot, the name quoted: the
	// server runs it as TRUNCATE other.audit.
	exec(t, d, "/*!40000 TRUNCATE `"+other+"` . audit */")
	exec(t, e.sql(other), "INSERT INTO audit VALUES (7)")
	time.Sleep(1100 * time.Millisecond)
	after := serverTime(t, e)
	time.Sleep(time.Second)
	stop()

	target := e.db.Database(t)
	_, err := eng.Restore(ctx, backup.RestoreOptions{At: after, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}})
	if got := rowsOf(t, e.sql(other), "SELECT id FROM audit"); got != "7" {
		t.Errorf("%s.audit after the restore of %s: %q, want 7 (the replay truncated it again)", other, db, got)
	}
	var refused *backup.ReplayRefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "naming database "+other) {
		t.Fatalf("restore over `TRUNCATE %s.audit`: %v, want a refusal naming %s", other, err, other)
	}
}
