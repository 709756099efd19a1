package backup_test

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// twoDatabaseRestore backs up two databases (the second with a view, a
// trigger and a procedure) and makes two live targets with rows and
// objects of their own. It returns the backup, the engine, the database
// map and the targets.
func twoDatabaseRestore(t *testing.T, e *env) (*backup.Manifest, *backup.Engine, map[string]string, []string) {
	t.Helper()
	return twoDatabaseRestoreTo(t, e, e.store(e.bucket(), ""))
}

// twoDatabaseRestoreTo is twoDatabaseRestore with the backup kept in dest.
func twoDatabaseRestoreTo(t *testing.T, e *env, dest backup.Store) (*backup.Manifest, *backup.Engine, map[string]string, []string) {
	t.Helper()
	ctx := ctxTimeout(t, 2*time.Minute)
	db1, db2 := e.db.Database(t), e.db.Database(t)
	seed(t, e, db1)
	exec(t, e.sql(db2), "CREATE TABLE executions (id INT PRIMARY KEY, status TEXT)")
	exec(t, e.sql(db2), "INSERT INTO executions VALUES (1, 'SUCCEEDED'), (2, 'RUNNING')")
	exec(t, e.sql(db2), "CREATE TABLE audit (id INT)")
	exec(t, e.sql(db2), "CREATE VIEW running AS SELECT id FROM executions WHERE status = 'RUNNING'")
	exec(t, e.sql(db2), "CREATE TRIGGER audit_ins BEFORE INSERT ON audit FOR EACH ROW SET NEW.id = NEW.id * 10")
	exec(t, e.sql(db2), "CREATE PROCEDURE count_runs() SELECT COUNT(*) FROM executions")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db1, db2}})
	if err != nil {
		t.Fatal(err)
	}
	t1, t2 := e.db.Database(t), e.db.Database(t)
	for _, target := range []string{t1, t2} {
		exec(t, e.sql(target), "CREATE TABLE pipelines (id INT PRIMARY KEY, name TEXT)")
		exec(t, e.sql(target), "INSERT INTO pipelines VALUES (1, 'live data that must survive')")
		exec(t, e.sql(target), "CREATE TABLE other (id INT)")
		exec(t, e.sql(target), "CREATE VIEW v AS SELECT name FROM pipelines")
		exec(t, e.sql(target), "CREATE TRIGGER tr BEFORE INSERT ON other FOR EACH ROW SET NEW.id = NEW.id + 1")
		exec(t, e.sql(target), "CREATE FUNCTION live_rows() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM pipelines)")
	}
	return m, eng, map[string]string{db1: t1, db2: t2}, []string{t1, t2}
}

// TestRestoreRefusedObjectLeavesEveryTarget: a restore of two databases
// with --overwrite, where the second's trigger is one the target server
// refuses (signed by the key's holder: as a definition of another server
// version, or a privilege the restore user lacks, would be). It fails
// before any target is touched, so the first database, which is swapped
// first, stays identical too.
func TestRestoreRefusedObjectLeavesEveryTarget(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	m, eng, dbMap, targets := twoDatabaseRestore(t, e)
	second := &m.MySQL.Databases[len(m.MySQL.Databases)-1]
	forged := false
	for i, o := range second.Objects {
		if o.Kind == backup.ObjectTrigger {
			second.Objects[i].CreateSQL = "CREATE TRIGGER `audit_ins` BEFORE INSERT ON `no_such_table` FOR EACH ROW SET NEW.id = 1"
			forged = true
		}
	}
	if !forged {
		t.Fatalf("the second database's backup has no trigger: %+v", second.Objects)
	}
	if err := backup.WriteManifest(ctx, eng.Dest, m, testKeys()); err != nil {
		t.Fatal(err)
	}
	before := schemasOf(t, e, targets)
	_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: dbMap, Overwrite: true}})
	if err == nil {
		t.Fatal("a restore with an object the server refuses succeeded")
	}
	for _, tg := range targets {
		if after := schemaOf(t, e, tg); after != before[tg] {
			t.Errorf("the failed restore changed %s:\n--- before\n%s\n--- after\n%s", tg, before[tg], after)
		}
	}
	if !strings.Contains(err.Error(), "no_such_table") || !strings.Contains(err.Error(), "nothing in the targets was changed") {
		t.Errorf("the error does not name the refused object or say the targets are untouched: %v", err)
	}
	noStagingLeft(t, e)
}

// TestRestoreFailingMidSwapPutsEveryTargetBack: a restore of two databases
// with --overwrite fails at each step of the swap (the connection lost, a
// statement refused), of the first database and of the second (the first
// already swapped in). Every target is put back as it was, its rows and
// its views, triggers and routines, and no staging or trash database is
// left.
func TestRestoreFailingMidSwapPutsEveryTargetBack(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	m, eng, dbMap, targets := twoDatabaseRestore(t, e)
	before := schemasOf(t, e, targets)
	for _, tc := range []struct{ step, db string }{
		{"drop", targets[0]}, {"rename", targets[0]}, {"objects", targets[0]}, {"created", targets[0]},
		{"drop", targets[1]}, {"rename", targets[1]}, {"objects", targets[1]}, {"created", targets[1]},
	} {
		t.Run(tc.step+" of "+map[string]string{targets[0]: "the first", targets[1]: "the second"}[tc.db], func(t *testing.T) {
			lost := errors.New("invalid connection")
			backup.SetSwapFault(t, func(step, db string) error {
				if step == tc.step && db == tc.db {
					return lost
				}
				return nil
			})
			_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: dbMap, Overwrite: true}})
			if !errors.Is(err, lost) || !strings.Contains(err.Error(), "every target was put back as it was") {
				t.Fatalf("restore failing at %s of %s: %v", tc.step, tc.db, err)
			}
			for _, tg := range targets {
				if after := schemaOf(t, e, tg); after != before[tg] {
					t.Errorf("%s after the failed restore:\n--- before\n%s\n--- after\n%s", tg, before[tg], after)
				}
			}
			noStagingLeft(t, e)
		})
	}
	// Into a database that does not exist yet: a failure leaves none.
	fresh := strings.Replace(targets[1], "tf_acc_test_", "tf_acc_test_new_", 1)
	backup.SetSwapFault(t, func(step, db string) error {
		if step == "created" && db == fresh {
			return errors.New("invalid connection")
		}
		return nil
	})
	newMap := map[string]string{}
	for src, tg := range dbMap {
		newMap[src] = tg
		if tg == targets[1] {
			newMap[src] = fresh
		}
	}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: newMap, Overwrite: true}}); err == nil {
		t.Fatal("a restore into a new database with a fault succeeded")
	}
	if got := rowsOf(t, e.sql(""), "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '"+fresh+"'"); got != "" {
		t.Errorf("the failed restore left the database it created: %s", got)
	}
	if after := schemaOf(t, e, targets[0]); after != before[targets[0]] {
		t.Errorf("%s after the failed restore into a new database beside it:\n%s", targets[0], after)
	}
	noStagingLeft(t, e)
	backup.SetSwapFault(t, nil)

	// And without a fault, the same restore replaces both.
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: dbMap, Overwrite: true}}); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, e.sql(targets[1]), "SELECT id FROM running"); got != "2" {
		t.Errorf("the second target's view after the restore: %q", got)
	}
	if got := rowsOf(t, e.sql(targets[0]), "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()"); got != "0" {
		t.Errorf("the first target kept %s of its own routines", got)
	}
	noStagingLeft(t, e)
}

// TestRestoreDatabasesFollowTheBucketBack: a backup of a database and
// Front50's bucket restored with --overwrite, a write into the bucket
// failing half-way, after the database was swapped in. The bucket is
// rolled back, and the database is put back too: a backup is restored
// whole or not at all.
func TestRestoreDatabasesFollowTheBucketBack(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	seed(t, e, db)
	src := e.store(e.bucket(), "front50/")
	putAll(t, src, map[string]string{
		"applications/app1/specification.json": `{"name":"app1"}`,
		"projects/x/project.json":              `{"name":"x"}`,
	})
	eng := e.engine(e.store(e.bucket(), "spinops/"))
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, Bucket: src})
	if err != nil {
		t.Fatal(err)
	}
	target := e.db.Database(t)
	exec(t, e.sql(target), "CREATE TABLE pipelines (id INT PRIMARY KEY, name TEXT)")
	exec(t, e.sql(target), "INSERT INTO pipelines VALUES (1, 'live data that must survive')")
	exec(t, e.sql(target), "CREATE VIEW v AS SELECT name FROM pipelines")
	beforeDB := schemaOf(t, e, target)
	bucket := e.store(e.bucket(), "front50/")
	beforeBucket := map[string]string{"applications/app1/specification.json": `{"name":"app1","edited":"after the backup"}`}
	putAll(t, bucket, beforeBucket)

	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID,
		MySQL:  &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}, Overwrite: true},
		Bucket: &backup.BucketTarget{Store: &dyingStore{Store: bucket, failKey: "projects/x/project.json"}, Overwrite: true}})
	if err == nil {
		t.Fatal("a restore whose bucket write fails succeeded")
	}
	if got := bucketContents(t, bucket); !maps.Equal(got, beforeBucket) {
		t.Errorf("the bucket after the failed restore: %v", keysOf(got))
	}
	if after := schemaOf(t, e, target); after != beforeDB {
		t.Errorf("the database after the failed restore (the bucket failed, the database stayed restored):\n--- before\n%s\n--- after\n%s", beforeDB, after)
	}
	if !strings.Contains(err.Error(), "the databases were put back as they were") {
		t.Errorf("the error does not say the databases were put back: %v", err)
	}
	noStagingLeft(t, e)
}

// The target's own views and triggers belong to another definer (the
// application's user), and the restore runs as a user without SUPER or
// SET USER, as on RDS and Cloud SQL. A failure mid-swap puts them back:
// saved before anything changed without their DEFINER (the restoring user
// becomes it, as for the backup's own objects), so the managed server
// accepts them again.
func TestRestoreRollbackPutsBackAnotherDefinersObjects(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	src := e.db.Database(t)
	exec(t, e.sql(src), "CREATE TABLE pipelines (id INT PRIMARY KEY, name TEXT)")
	exec(t, e.sql(src), "INSERT INTO pipelines VALUES (1, 'from the backup')")
	eng := e.engine(e.store(e.bucket(), ""))
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	target := e.db.Database(t)
	user := "restorer_" + strings.TrimPrefix(target, "tf_acc_test_")
	// The managed server's parameter group lets a user without SUPER
	// create and drop triggers and routines while the binary log is on
	// (RDS: log_bin_trust_function_creators = 1).
	exec(t, e.sql(""), "SET GLOBAL log_bin_trust_function_creators = 1")
	for _, q := range []string{
		"CREATE USER IF NOT EXISTS 'spinnaker_app'@'%'",
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'restorer-pass'",
		// Everything a restore does, without SUPER, SET USER or GRANT.
		"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, CREATE VIEW, SHOW VIEW, TRIGGER, CREATE ROUTINE, ALTER ROUTINE, EXECUTE, EVENT, CREATE TEMPORARY TABLES, LOCK TABLES ON *.* TO '" + user + "'@'%'",
	} {
		exec(t, e.sql(""), q)
	}
	exec(t, e.sql(""), "GRANT SELECT, INSERT, UPDATE, DELETE, TRIGGER ON `"+target+"`.* TO 'spinnaker_app'@'%'")
	exec(t, e.sql(target), "CREATE TABLE pipelines (id INT PRIMARY KEY, name TEXT)")
	exec(t, e.sql(target), "INSERT INTO pipelines VALUES (1, 'live data that must survive')")
	exec(t, e.sql(target), "CREATE TABLE audit (id INT)")
	exec(t, e.sql(target), "CREATE DEFINER = 'spinnaker_app'@'%' VIEW names AS SELECT name FROM pipelines")
	exec(t, e.sql(target), "CREATE DEFINER = 'spinnaker_app'@'%' TRIGGER audit_ins BEFORE INSERT ON audit FOR EACH ROW SET NEW.id = NEW.id + 100")
	before := schemaOf(t, e, target)

	backup.SetSwapFault(t, func(step, db string) error {
		if step == "objects" && db == target {
			return errors.New("invalid connection")
		}
		return nil
	})
	restorer := *e.server()
	restorer.User, restorer.Password = user, "restorer-pass"
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: restorer, DatabaseMap: map[string]string{src: target}, Overwrite: true}})
	if err == nil {
		t.Fatal("the restore with a fault succeeded")
	}
	if after := schemaOf(t, e, target); after != before {
		t.Errorf("the target after the failed restore (%v):\n--- before\n%s\n--- after\n%s", err, before, after)
	}
	if !strings.Contains(err.Error(), "every target was put back as it was") {
		t.Errorf("the error does not say the target was put back: %v", err)
	}
}
