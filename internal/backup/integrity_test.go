package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// schemaOf renders every table's rows plus the definitions of every object
// of db: "byte-identical" for the tests.
// schemasOf is schemaOf of each database, by name.
func schemasOf(t *testing.T, e *env, dbs []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, db := range dbs {
		out[db] = schemaOf(t, e, db)
	}
	return out
}

func schemaOf(t *testing.T, e *env, db string) string {
	t.Helper()
	d := e.sql(db)
	var out strings.Builder
	out.WriteString(dumpTables(t, d, db))
	for _, q := range []string{
		"SELECT CONCAT(TABLE_NAME, ':', TABLE_TYPE) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1",
		"SELECT CONCAT(TRIGGER_NAME, ':', ACTION_STATEMENT) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1",
		"SELECT CONCAT(ROUTINE_NAME, ':', ROUTINE_DEFINITION) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1",
		"SELECT CONCAT(TABLE_NAME, ':', VIEW_DEFINITION) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1",
	} {
		rows, err := d.QueryContext(t.Context(), q, db)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			out.WriteString(s + "\n")
		}
		rows.Close()
	}
	return out.String()
}

func noStagingLeft(t *testing.T, e *env) {
	t.Helper()
	if got := rowsOf(t, e.sql(""), "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'spinops\\_%'"); got != "" {
		t.Errorf("staging databases left behind: %s", got)
	}
}

// A damaged part (the last table's) fails the restore with --overwrite
// before the target is touched: it stays byte-identical.
func TestFailedRestoreLeavesTheTargetIdentical(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	seed(t, e, db)
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	target := e.db.Database(t)
	exec(t, e.sql(target), "CREATE TABLE pipelines (id INT PRIMARY KEY, name TEXT)")
	exec(t, e.sql(target), "INSERT INTO pipelines VALUES (1, 'live data that must survive')")
	exec(t, e.sql(target), "CREATE TABLE other (id INT)")
	exec(t, e.sql(target), "CREATE VIEW v AS SELECT name FROM pipelines")
	exec(t, e.sql(target), "CREATE TRIGGER tr BEFORE INSERT ON other FOR EACH ROW SET NEW.id = NEW.id + 1")
	before := schemaOf(t, e, target)

	tables := m.MySQL.Databases[0].Tables
	last := tables[len(tables)-1].Parts[0]
	raw := readAll(t, dest, last.Path)
	raw[len(raw)/2] ^= 0xff
	if err := dest.Put(ctx, last.Path, bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}, Overwrite: true}})
	if err == nil {
		t.Fatal("a restore from a damaged part succeeded")
	}
	t.Logf("refused: %v", err)
	if after := schemaOf(t, e, target); after != before {
		t.Errorf("the failed restore changed the target:\n--- before\n%s\n--- after\n%s", before, after)
	}
	noStagingLeft(t, e)
}

// LOAD DATA LOCAL turns conversion errors into warnings and goes on; a
// restore treats any warning as an error (and leaves the target alone).
func TestLoadDataWarningsAreErrors(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(64))")
	exec(t, e.sql(db), "INSERT INTO notes VALUES (1, 'a value longer than five characters')")
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	// The target would truncate the value (as a server with another
	// definition or character set would): signed, so only the load can tell.
	td := &m.MySQL.Databases[0].Tables[0]
	td.CreateSQL = strings.Replace(td.CreateSQL, "varchar(64)", "varchar(5)", 1)
	if err := backup.WriteManifest(ctx, dest, m, testKeys()); err != nil {
		t.Fatal(err)
	}
	target := e.db.Database(t)
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}})
	if err == nil || !strings.Contains(err.Error(), "warning") {
		t.Fatalf("restore with a truncating load: %v, want an error naming the warning", err)
	}
	if got := rowsOf(t, e.sql(""), "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+target+"'"); got != "0" {
		t.Errorf("the target got %s tables from a failed restore", got)
	}
	noStagingLeft(t, e)
}

// A manifest is trusted only when signed: changed without the key, signed
// with another key, or not signed at all, restore and verify refuse it.
func TestManifestMustBeSigned(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE notes (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO notes VALUES (1), (2)")
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	restore := func(keys *backup.Keys) error {
		en := &backup.Engine{Dest: dest, Keys: keys}
		_, err := en.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
		return err
	}
	if err := restore(testKeys()); err != nil {
		t.Fatalf("restore of a signed backup: %v", err)
	}
	if err := restore(nil); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("restore without a key: %v, want ErrUnsigned", err)
	}
	if err := restore(&backup.Keys{HMAC: []byte("another-key-another-key-another-key!")}); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("restore with another key: %v, want ErrUnsigned", err)
	}
	// Someone with write access to the bucket, but not the key, edits it.
	raw := readAll(t, dest, "backups/"+m.ID+"/manifest.json")
	edited := bytes.Replace(raw, []byte(`"rows": 2`), []byte(`"rows": 3`), 1)
	if bytes.Equal(raw, edited) {
		t.Fatal("test setup: no row count to edit")
	}
	if err := dest.Put(ctx, "backups/"+m.ID+"/manifest.json", bytes.NewReader(edited)); err != nil {
		t.Fatal(err)
	}
	if err := restore(testKeys()); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("restore of an edited manifest: %v, want ErrUnsigned", err)
	}
	if _, err := eng.Verify(ctx, m.ID); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("verify of an edited manifest: %v, want ErrUnsigned", err)
	}
	_ = dest.Delete(ctx, "backups/"+m.ID+"/manifest.sig")
	if err := restore(testKeys()); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("restore of an unsigned manifest: %v, want ErrUnsigned", err)
	}
}

// Even a signed manifest (a stolen key, a bug) can only create the objects
// it names: any other statement is refused before anything runs.
func TestRestoreRunsOnlyTheNamedCreates(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE notes (id INT PRIMARY KEY)")
	victim := e.db.Database(t)
	exec(t, e.sql(victim), "CREATE TABLE precious (id INT)")
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	for _, evil := range []string{
		"DROP DATABASE `" + victim + "`",
		"CREATE TABLE `" + victim + "`.`notes` (id INT)",
		"CREATE TABLE `notes` (id INT) SELECT * FROM `" + victim + "`.`precious`",
		"CREATE TABLE `notes` (id INT); DROP DATABASE `" + victim + "`",
		"CREATE TABLE `other` (id INT)",
	} {
		m.MySQL.Databases[0].Tables[0].CreateSQL = evil
		if err := backup.WriteManifest(ctx, dest, m, testKeys()); err != nil {
			t.Fatal(err)
		}
		_, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
		if err == nil || !strings.Contains(err.Error(), "refusing the manifest's statement") {
			t.Errorf("%q: %v, want a refusal", evil, err)
		}
	}
	if got := rowsOf(t, e.sql(""), "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+victim+"'"); got != "precious" {
		t.Errorf("the victim database holds %q after the attempts", got)
	}
}

func TestCheckCreate(t *testing.T) {
	for _, tc := range []struct {
		kind, name, stmt string
		ok               bool
		want             string
	}{
		{"TABLE", "t", "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='select me'", true, ""},
		{"TABLE", "t", "CREATE TABLE `t` (id INT) DATA DIRECTORY='/etc'", false, ""},
		{"TABLE", "t", "CREATE TABLE `t` (id INT) ENGINE=FEDERATED CONNECTION='mysql://x'", false, ""},
		{"TABLE", "t", "CREATE TABLE `t` LIKE `mysql`.`user`", false, ""},
		{"TABLE", "t", "CREATE VIEW `t` AS SELECT 1", false, ""},
		{"VIEW", "v", "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`", true, "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1 AS `1`"},
		{"TRIGGER", "tr", "CREATE DEFINER=`root`@`%` TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.id = NEW.id + 1", true, "CREATE TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.id = NEW.id + 1"},
		{"PROCEDURE", "p", "CREATE DEFINER=`root`@`127.0.0.1` PROCEDURE `p`()\nBEGIN SELECT 1; SELECT 2; END", true, ""},
		{"FUNCTION", "f", "CREATE DEFINER=`root`@`localhost` FUNCTION `f`(x INT) RETURNS int(11)\nRETURN x * 2", true, ""},
		{"EVENT", "ev", "CREATE DEFINER=`root`@`localhost` EVENT `ev` ON SCHEDULE EVERY 1 DAY STARTS '2026-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM t", true, ""},
		{"EVENT", "ev", "CREATE EVENT `other` ON SCHEDULE EVERY 1 DAY DO DELETE FROM t", false, ""},
		{"PROCEDURE", "p", "GRANT ALL ON *.* TO x", false, ""},
	} {
		got, err := backup.CheckCreate(tc.kind, tc.name, tc.stmt)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s %q: err %v, want ok=%t", tc.kind, tc.name, tc.stmt, err, tc.ok)
			continue
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("%q → %q, want %q", tc.stmt, got, tc.want)
		}
		if tc.ok && strings.Contains(got, "DEFINER=") {
			t.Errorf("%q kept its DEFINER: %q", tc.stmt, got)
		}
	}
}

// Views, triggers, procedures, functions and events are backed up and
// restored into another database (a view's references to its own database
// follow it there).
func TestSchemaObjectsRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE apps (id INT PRIMARY KEY, name VARCHAR(64), KEY by_name (name))")
	exec(t, d, "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(64))")
	exec(t, d, "INSERT INTO apps VALUES (1, 'deck'), (2, 'gate')")
	exec(t, d, "CREATE VIEW app_names AS SELECT name FROM `"+db+"`.apps")
	exec(t, d, "CREATE VIEW app_count AS SELECT COUNT(*) AS n FROM app_names")
	exec(t, d, "CREATE TRIGGER apps_audit AFTER INSERT ON apps FOR EACH ROW INSERT INTO audit (what) VALUES (NEW.name)")
	exec(t, d, "CREATE PROCEDURE add_app(IN n VARCHAR(64)) BEGIN INSERT INTO apps VALUES ((SELECT MAX(id) + 1 FROM apps a), n); END")
	exec(t, d, "CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2")
	exec(t, d, "CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit")
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.MySQL.Databases[0].Objects); n != 6 {
		t.Errorf("manifest has %d schema objects, want 6: %+v", n, m.MySQL.Databases[0].Objects)
	}
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatal(err)
	}
	td := e.sql(target)
	exec(t, d, "INSERT INTO apps VALUES (9, 'only in the source')")
	if got := rowsOf(t, td, "SELECT name FROM app_names ORDER BY name"); got != "deck,gate" {
		t.Errorf("restored view reads %q (does it still point at the source database?)", got)
	}
	if got := rowsOf(t, td, "SELECT CAST(n AS CHAR) FROM app_count"); got != "2" {
		t.Errorf("view on a view: %q", got)
	}
	exec(t, td, "CALL add_app('orca')")
	if got := rowsOf(t, td, "SELECT what FROM audit"); got != "orca" {
		t.Errorf("procedure + trigger: audit holds %q", got)
	}
	if got := rowsOf(t, td, "SELECT CAST(twice(21) AS CHAR)"); got != "42" {
		t.Errorf("function: %q", got)
	}
	if got := rowsOf(t, td, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()"); got != "nightly" {
		t.Errorf("event: %q", got)
	}
	if got := rowsOf(t, td, "SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'apps' AND INDEX_NAME <> 'PRIMARY'"); got != "by_name" {
		t.Errorf("secondary index after the load: %q", got)
	}
}

// blockingStore holds the upload of one key until released.
type blockingStore struct {
	backup.Store
	match   string
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.Contains(key, b.match) {
		b.once.Do(func() { close(b.reached) })
		<-b.release
	}
	return b.Store.Put(ctx, key, r)
}

// A slow backup and a quick one overlap: the quick one's retention does
// not delete the slow one's parts, which completes and verifies.
func TestOverlappingRunsKeepEachOthersParts(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE a_first (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "CREATE TABLE z_last (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO a_first VALUES (1), (2), (3)")
	dest := e.store(e.bucket(), "")
	slow := &blockingStore{Store: dest, match: "z_last", reached: make(chan struct{}), release: make(chan struct{})}
	slowEng := &backup.Engine{Dest: slow, Keys: testKeys(), Dump: backup.DumpOptions{Parallel: 1}}
	var slowM *backup.Manifest
	var slowErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		slowM, slowErr = slowEng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	}()
	<-slow.reached                      // a_first is stored; z_last is being uploaded
	time.Sleep(1100 * time.Millisecond) // the quick backup's id is a later second
	quick := e.engine(dest)
	if _, err := quick.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, Retention: backup.Retention{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	close(slow.release)
	<-done
	if slowErr != nil {
		t.Fatalf("the slow backup: %v", slowErr)
	}
	if _, err := e.engine(dest).Verify(ctx, slowM.ID); err != nil {
		t.Errorf("the slow backup lost parts to the quick one's retention: %v", err)
	}
}

// The newest backup is damaged: retention keeps the newest one that
// verifies, whatever count says.
func TestRetentionKeepsTheNewestVerifiedBackup(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE notes (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO notes VALUES (1)")
	dest := e.store(e.bucket(), "")
	clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	eng := &backup.Engine{Dest: dest, Keys: testKeys(), Now: func() time.Time { return clock }}
	var ids []string
	for i := 0; i < 3; i++ {
		m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
		clock = clock.Add(time.Hour)
		if i == 2 {
			p := m.MySQL.Databases[0].Tables[0].Parts[0].Path
			if err := dest.Put(ctx, p, strings.NewReader("damaged")); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := eng.ApplyRetention(ctx, backup.Retention{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.NewestVerified != ids[1] {
		t.Errorf("newest verified = %q, want %s", res.NewestVerified, ids[1])
	}
	l, _ := backup.List(ctx, dest)
	var kept []string
	for _, m := range l.Complete {
		kept = append(kept, m.ID)
	}
	if strings.Join(kept, ",") != ids[1]+","+ids[2] {
		t.Errorf("kept %v, want the damaged newest and the newest that verifies (%s)", kept, ids[1])
	}
	if _, err := eng.Verify(ctx, ids[1]); err != nil {
		t.Errorf("the kept backup does not verify: %v", err)
	}
	_ = slog.Default
}

// blockingGetStore holds the first Get of a key containing match until
// released: a source bucket read slowly.
type blockingGetStore struct {
	backup.Store
	match   string
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingGetStore) Get(ctx context.Context, key string) (io.ReadCloser, backup.ObjectInfo, error) {
	if strings.Contains(key, b.match) {
		b.once.Do(func() { close(b.reached) })
		<-b.release
	}
	return b.Store.Get(ctx, key)
}

// A running backup builds on an older one: the bucket objects that did
// not change are the older backup's parts, named in its manifest. A quick
// backup's retention meanwhile (of the databases only, count 1) would drop
// that older backup with its parts; while the running backup holds its
// lease the older one is kept, so the running one completes with every
// part it names present, and verifies.
func TestRetentionKeepsWhatARunningBackupReuses(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	src := e.store(e.bucket(), "front50/")
	putAll(t, src, map[string]string{
		"applications/app1/specification.json": `{"name":"app1"}`,
		"pipelines/p1/pipeline-metadata.json":  `{"name":"p1"}`,
	})
	dest := e.store(e.bucket(), "spinops/")
	eng := e.engine(dest)
	first, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
	if err != nil {
		t.Fatal(err)
	}
	putAll(t, src, map[string]string{"pipelines/p2/pipeline-metadata.json": `{"name":"p2"}`})
	time.Sleep(1100 * time.Millisecond) // the slow backup's id is a later second
	slowSrc := &blockingGetStore{Store: src, match: "pipelines/p2/", reached: make(chan struct{}), release: make(chan struct{})}
	var slowM *backup.Manifest
	var slowErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		slowM, slowErr = eng.Run(ctx, backup.RunOptions{Bucket: slowSrc})
	}()
	<-slowSrc.reached
	time.Sleep(1100 * time.Millisecond) // the quick backup's id is a later second
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE notes (id INT PRIMARY KEY)")
	res, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, Retention: backup.Retention{Count: 1}})
	if err != nil {
		t.Fatal(err)
	}
	close(slowSrc.release)
	<-done
	if slowErr != nil {
		t.Fatalf("the slow backup: %v", slowErr)
	}
	reused := 0
	for _, o := range slowM.Bucket.Objects {
		if strings.HasPrefix(o.Stored.Path, "backups/"+first.ID+"/") {
			reused++
		}
	}
	if reused != 2 {
		t.Fatalf("the slow backup reuses %d of the first backup's parts, want 2 (the test needs them)", reused)
	}
	if _, err := eng.Verify(ctx, slowM.ID); err != nil {
		t.Errorf("the slow backup names parts the quick backup's (%s) retention deleted: %v", res.ID, err)
	}
	// Once it is complete, its own manifest keeps those parts: the next
	// retention drops the first backup and the slow one still verifies.
	if _, err := eng.ApplyRetention(ctx, backup.Retention{Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Verify(ctx, slowM.ID); err != nil {
		t.Errorf("after the next retention: %v", err)
	}

	// A reused part removed by something else (no retention: a person, a
	// lifecycle rule) while a backup runs: no manifest names it.
	putAll(t, src, map[string]string{"pipelines/p3/pipeline-metadata.json": `{"name":"p3"}`})
	time.Sleep(1100 * time.Millisecond)
	slowSrc = &blockingGetStore{Store: src, match: "pipelines/p3/", reached: make(chan struct{}), release: make(chan struct{})}
	earlier := slowM
	done = make(chan struct{})
	go func() {
		defer close(done)
		slowM, slowErr = eng.Run(ctx, backup.RunOptions{Bucket: slowSrc})
	}()
	<-slowSrc.reached
	var gone string
	for _, o := range earlier.Bucket.Objects {
		if o.Key == "applications/app1/specification.json" {
			gone = o.Stored.Path
		}
	}
	if err := dest.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	close(slowSrc.release)
	<-done
	if slowErr == nil || !strings.Contains(slowErr.Error(), "disappeared or changed while the backup ran") {
		t.Errorf("a backup reusing a part deleted while it ran: %v", slowErr)
	}
}

// hookStore runs before on every Put or Delete whose key matches, then
// does it: another process acting at that very moment.
type hookStore struct {
	backup.Store
	match  func(op, key string, body []byte) bool
	before func()
	once   sync.Once
}

func (h *hookStore) Put(ctx context.Context, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if h.match("put", key, b) {
		h.once.Do(h.before)
	}
	return h.Store.Put(ctx, key, bytes.NewReader(b))
}

func (h *hookStore) Delete(ctx context.Context, key string) error {
	if h.match("delete", key, nil) {
		h.once.Do(h.before)
	}
	return h.Store.Delete(ctx, key)
}

// The two sides of one race. Retention reads the leases, then deletes an
// old backup's manifest; a backup starting meanwhile picked that backup
// to build on and records so in its lease just before the manifest goes.
// Retention reads the leases again after deleting a manifest, so the
// parts stay. And a backup whose chosen base loses its manifest right
// after the lease records it copies every object itself.
func TestRetentionAndARunningBackupRace(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	src := e.store(e.bucket(), "front50/")
	putAll(t, src, map[string]string{"applications/app1/specification.json": `{"name":"app1"}`, "pipelines/p1/pipeline-metadata.json": `{"name":"p1"}`})
	dest := e.store(e.bucket(), "spinops/")
	eng := e.engine(dest)
	base, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	// A newer backup of something else: the base's parts are named by no
	// backup that stays.
	other := e.store(e.bucket(), "other/")
	putAll(t, other, map[string]string{"x.json": `{}`})
	if _, err := eng.Run(ctx, backup.RunOptions{Bucket: other}); err != nil {
		t.Fatal(err)
	}

	t.Run("retention keeps the parts a backup started meanwhile reuses", func(t *testing.T) {
		running := "backups/29991231T000000Z-race/lease.json"
		hooked := &hookStore{Store: dest,
			match: func(op, key string, _ []byte) bool {
				return op == "delete" && key == "backups/"+base.ID+"/manifest.json"
			},
			before: func() {
				lease := fmt.Sprintf(`{"backup":"29991231T000000Z-race","renewed_at":%q,"reuses":[%q]}`, time.Now().UTC().Format(time.RFC3339Nano), base.ID)
				if err := dest.Put(ctx, running, strings.NewReader(lease)); err != nil {
					t.Error(err)
				}
			}}
		res, err := (&backup.Engine{Dest: hooked, Keys: testKeys()}).ApplyRetention(ctx, backup.Retention{Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(res.Deleted, base.ID) {
			t.Fatalf("retention did not take the base backup: %+v", res)
		}
		for _, o := range base.Bucket.Objects {
			if _, _, err := dest.Get(ctx, o.Stored.Path); err != nil {
				t.Errorf("part %s of the base went, though a running backup reuses it: %v", o.Stored.Path, err)
			}
		}
		_ = dest.Delete(ctx, running)
	})

	t.Run("a backup whose base goes copies everything", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		again, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
		if err != nil {
			t.Fatal(err)
		}
		baseID := again.ID
		time.Sleep(1100 * time.Millisecond)
		hooked := &hookStore{Store: dest,
			match: func(op, key string, body []byte) bool {
				return op == "put" && strings.HasSuffix(key, "/lease.json") && strings.Contains(string(body), `"reuses"`)
			},
			before: func() {
				if err := dest.Delete(ctx, "backups/"+baseID+"/manifest.json"); err != nil {
					t.Error(err)
				}
			}}
		m, err := (&backup.Engine{Dest: hooked, Keys: testKeys()}).Run(ctx, backup.RunOptions{Bucket: src})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range m.Bucket.Objects {
			if !strings.HasPrefix(o.Stored.Path, "backups/"+m.ID+"/") {
				t.Errorf("%s is stored at %s, in a backup whose manifest went", o.Key, o.Stored.Path)
			}
		}
		if _, err := eng.Verify(ctx, m.ID); err != nil {
			t.Error(err)
		}
	})
}
