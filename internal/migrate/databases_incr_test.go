package migrate

import (
	"bytes"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// tableSums are CHECKSUM TABLE and COUNT(*) of every table of db.
func tableSums(t *testing.T, m *testenv.MariaDB, db string) map[string]string {
	t.Helper()
	d := openDB(t, m, db)
	rows, err := d.QueryContext(t.Context(), "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", db)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]string{}
	for _, tbl := range names {
		var name string
		var sum sql.NullInt64
		if err := d.QueryRowContext(t.Context(), "CHECKSUM TABLE `"+tbl+"`").Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM `"+tbl+"`").Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tbl] = fmt.Sprintf("checksum %v, %d rows", sum.Int64, n)
	}
	return out
}

func mustExec(t *testing.T, d *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := d.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// spinnakerLike makes an orca-shaped and a front50-shaped database on m
// with rows executions.
func spinnakerLike(t *testing.T, m *testenv.MariaDB, rows int) (orca, front50 string) {
	t.Helper()
	orca, front50 = m.Database(t), m.Database(t)
	mustExec(t, openDB(t, m, orca),
		"CREATE TABLE pipelines (id VARCHAR(64) PRIMARY KEY, application VARCHAR(255), body LONGTEXT, updated_at BIGINT)",
		"CREATE TABLE executions (id BIGINT AUTO_INCREMENT PRIMARY KEY, pipeline_id VARCHAR(64), status VARCHAR(32), body MEDIUMBLOB, KEY (pipeline_id))",
		// No primary key: a change applied twice would duplicate rows silently.
		"CREATE TABLE notifications (pipeline_id VARCHAR(64), message TEXT)",
		"INSERT INTO pipelines VALUES ('p1','checkout','{\"stages\":[{\"name\":\"naïve ☃\"}]}',1), ('p2','search',NULL,2)",
		"INSERT INTO notifications VALUES ('p1', 'started')",
		fmt.Sprintf("INSERT INTO executions (pipeline_id, status, body) SELECT CONCAT('p', seq %% 2 + 1), 'SUCCEEDED', CONCAT(RANDOM_BYTES(1000), RANDOM_BYTES(1000)) FROM seq_1_to_%d", rows))
	mustExec(t, openDB(t, m, front50),
		"CREATE TABLE applications (id VARCHAR(255) PRIMARY KEY, body TEXT)",
		"INSERT INTO applications VALUES ('checkout', '{}'), ('search', '{\"email\":\"a@b\"}')")
	return orca, front50
}

// TestCopyDatabasesIncremental: after a full copy of N rows, writes on the
// old server (inserts, updates, deletes, a table without a primary key, a
// new table, a database renamed on the way), a second copy applies only
// the binary log since the first one's position, and the new databases
// then equal the old ones table by table (CHECKSUM TABLE); it moves far
// fewer bytes in far less time. A database not copied stays away.
func TestCopyDatabasesIncremental(t *testing.T) {
	oldSrv, newSrv := testenv.StartMariaDB(t), testenv.StartMariaDB(t)
	const n = 20000
	orca, front50 := spinnakerLike(t, oldSrv, n)
	other := oldSrv.Database(t)
	c := DatabaseCopy{From: server(oldSrv), To: server(newSrv), Databases: []string{orca, front50},
		DatabaseMap: map[string]string{front50: front50 + "_v2"}, Staging: backup.NewFileStore(t.TempDir()), ToolVersion: "test"}

	var progress bytes.Buffer
	c.ProgressEvery = 20 * time.Millisecond
	first, err := CopyDatabases(t.Context(), c, slog.New(slog.NewTextHandler(&progress, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "copy progress") {
		t.Errorf("a full copy of %s logged no progress line every %s:\n%s", first.Duration, c.ProgressEvery, progress.String())
	}
	if first.Incremental || first.To.File == "" {
		t.Fatalf("the first copy: incremental %v, position %v; want a full copy with its snapshot's position", first.Incremental, first.To)
	}
	t.Logf("full copy: %d rows, %d bytes dumped, %s", n, first.Bytes, first.Duration.Round(time.Millisecond))

	o, f := openDB(t, oldSrv, orca), openDB(t, oldSrv, front50)
	mustExec(t, o,
		"INSERT INTO pipelines VALUES ('p3','web','tab\there\nnewline \\\\ backslash',3)",
		"UPDATE pipelines SET body = '{\"stages\":[]}', updated_at = 4 WHERE id = 'p2'",
		"UPDATE executions SET status = 'TERMINAL' WHERE id % 97 = 0",
		"DELETE FROM executions WHERE id % 89 = 0",
		"INSERT INTO executions (pipeline_id, status, body) VALUES ('p3', 'RUNNING', UNHEX('00FF10'))",
		"INSERT INTO notifications VALUES ('p1', 'finished'), ('p3', 'started')",
		"CREATE TABLE execution_tags (execution_id BIGINT, tag VARCHAR(64), PRIMARY KEY (execution_id, tag))",
		"INSERT INTO execution_tags VALUES (1, 'prod'), (2, 'canary')")
	mustExec(t, f, "START TRANSACTION", "DELETE FROM applications WHERE id = 'search'", "INSERT INTO applications VALUES ('web', NULL)", "COMMIT")
	mustExec(t, openDB(t, oldSrv, other), "CREATE TABLE secrets (v TEXT)", "INSERT INTO secrets VALUES ('not copied')")

	progress.Reset()
	c.ProgressEvery = time.Nanosecond
	second, err := CopyDatabases(t.Context(), c, slog.New(slog.NewTextHandler(&progress, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "copy progress") || !strings.Contains(progress.String(), "transactions=") {
		t.Errorf("the incremental copy logged no progress line:\n%s", progress.String())
	}
	c.ProgressEvery = 0
	if !second.Incremental || second.From != first.To || second.To.File == "" {
		t.Fatalf("the second copy: incremental %v from %v to %v; want incremental from %v", second.Incremental, second.From, second.To, first.To)
	}
	t.Logf("incremental copy: %d transactions, %d statements, %d row events; %d binlog bytes read, %d SQL bytes applied, %s",
		second.Transactions, second.Statements, second.RowEvents, second.Bytes, second.SQLBytes, second.Duration.Round(time.Millisecond))
	for src, dst := range map[string]string{orca: orca, front50: front50 + "_v2"} {
		if got, want := tableSums(t, newSrv, dst), tableSums(t, oldSrv, src); !maps.Equal(got, want) {
			t.Errorf("after the incremental copy, %s on the new server: %v, want %v", dst, got, want)
		}
	}
	if second.Bytes*10 > first.Bytes || second.Bytes == 0 {
		t.Errorf("the incremental copy read %d bytes, the full one %d: want far fewer", second.Bytes, first.Bytes)
	}
	if second.Duration*2 > first.Duration {
		t.Errorf("the incremental copy took %s, the full one %s: want far less", second.Duration, first.Duration)
	}
	var leaked int
	if err := openDB(t, newSrv, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", other).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("database %s, not copied, is on the new server: %d, %v", other, leaked, err)
	}

	// Nothing changed since: nothing applied, the position stays.
	third, err := CopyDatabases(t.Context(), c, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !third.Incremental || third.Transactions != 0 || third.From != second.To {
		t.Errorf("a copy with nothing new: %+v", third)
	}
	// The same with Verify: what the comparison with the old server costs
	// (every copied table read on both servers), logged for docs/migration.md.
	verified := c
	verified.Verify = true
	fourth, err := CopyDatabases(t.Context(), verified, quiet())
	if err != nil || !fourth.Verified || fourth.Transactions != 0 {
		t.Fatalf("a verified copy with nothing new: %+v, %v", fourth, err)
	}
	t.Logf("a copy with nothing new: %s; with Verify (%d rows, %d bytes dumped by the full copy): %s",
		third.Duration.Round(time.Millisecond), n, first.Bytes, fourth.Duration.Round(time.Millisecond))

	// A record written by a spinops without the tables' checksums (no
	// rows_checksums column, a seal without it): the copy goes on, says
	// it could not check for writes on the new server, and records the
	// checksums, so the copy after it does check.
	target := openDB(t, newSrv, "")
	recs, err := readRecords(t.Context(), target, []string{orca, front50 + "_v2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Rows = ""
		mustExec(t, target, fmt.Sprintf("UPDATE %s SET seal = '%s' WHERE target_db = '%s'", positionTable, r.seal(), r.TargetDB))
	}
	mustExec(t, target, "ALTER TABLE "+positionTable+" DROP COLUMN rows_checksums")
	mustExec(t, o, "INSERT INTO notifications VALUES ('p2', 'after the upgrade')")
	progress.Reset()
	var bars recordedProgress
	withBars := c
	withBars.Progress = &bars
	res, err := CopyDatabases(t.Context(), withBars, slog.New(slog.NewTextHandler(&progress, nil)))
	if err != nil || !res.Incremental || res.Transactions == 0 {
		t.Fatalf("an incremental copy from a record without checksums: %+v, %v", res, err)
	}
	// One step per database, each the bytes of its binary log range; the
	// steps replace the progress lines.
	steps := bars.check(t, "applying the binary log to "+orca, "applying the binary log to "+front50+"_v2")
	if steps[0].total+steps[1].total != res.Bytes {
		t.Errorf("the steps count %d + %d bytes, the copy read %d", steps[0].total, steps[1].total, res.Bytes)
	}
	if strings.Contains(progress.String(), "copy progress") {
		t.Errorf("progress lines logged beside the steps:\n%s", progress.String())
	}
	if got, want := tableSums(t, newSrv, orca), tableSums(t, oldSrv, orca); !maps.Equal(got, want) {
		t.Errorf("after the copy from a record without checksums, %s on the new server: %v, want %v", orca, got, want)
	}
	if !strings.Contains(progress.String(), "cannot be detected in this copy") {
		t.Errorf("the copy from a record without checksums did not say it could not check for writes on the new server:\n%s", progress.String())
	}
	mustExec(t, openDB(t, newSrv, front50+"_v2"), "UPDATE applications SET body = '{\"owner\":\"new Front50\"}' WHERE id = 'checkout'")
	if _, err := CopyDatabases(t.Context(), c, quiet()); err == nil || !strings.Contains(err.Error(), "rows of "+front50+"_v2 on the new server changed since the last copy ended (tables applications)") {
		t.Errorf("a write on the new server after an upgraded copy: %v", err)
	}
}

// TestCopyDatabasesIncrementalResumesAfterCrash stops the stream of an
// incremental copy inside a transaction, after two were committed: the
// next copy goes on from the last committed one, applying nothing twice
// (a table without a primary key would show it). A stop between a DDL
// statement and its recorded end makes the next copy refuse; --full
// recovers.
func TestCopyDatabasesIncrementalResumesAfterCrash(t *testing.T) {
	oldSrv, newSrv := testenv.StartMariaDB(t), testenv.StartMariaDB(t)
	orca, _ := spinnakerLike(t, oldSrv, 200)
	c := DatabaseCopy{From: server(oldSrv), To: server(newSrv), Databases: []string{orca}, Staging: backup.NewFileStore(t.TempDir()), ToolVersion: "test"}
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	o := openDB(t, oldSrv, orca)
	for i := range 6 {
		mustExec(t, o, fmt.Sprintf("INSERT INTO notifications VALUES ('p1', 'event %d')", i),
			fmt.Sprintf("UPDATE executions SET status = 'RUNNING%d' WHERE id <= 50", i))
	}
	crash := c
	crash.crashAfterCommits = 2
	if _, err := CopyDatabases(t.Context(), crash, quiet()); err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("the crashed copy: %v", err)
	}
	var got int
	if err := openDB(t, newSrv, orca).QueryRowContext(t.Context(), "SELECT COUNT(*) FROM notifications").Scan(&got); err != nil || got != 1+1 {
		t.Fatalf("after the crash the new server has %d notifications (%v); want the first row and the one of the 2 committed transactions (an INSERT, then an UPDATE)", got, err)
	}
	var resumed bytes.Buffer
	res, err := CopyDatabases(t.Context(), c, slog.New(slog.NewTextHandler(&resumed, nil)))
	if err != nil {
		t.Fatalf("the copy after the crash: %v", err)
	}
	if !strings.Contains(resumed.String(), "stopped before it ended") {
		t.Errorf("the copy after the crash did not say that writes on the new server since the crash cannot be detected:\n%s", resumed.String())
	}
	if got, want := tableSums(t, newSrv, orca), tableSums(t, oldSrv, orca); !maps.Equal(got, want) {
		t.Fatalf("after resuming: %v, want %v", got, want)
	}
	if res.Transactions != 12-2 {
		t.Errorf("the resumed copy applied %d transactions, want the 10 not committed before", res.Transactions)
	}

	// A DDL statement applied, its end not recorded.
	mustExec(t, o, "CREATE TABLE stage_outputs (id INT PRIMARY KEY)", "INSERT INTO stage_outputs VALUES (1)")
	crash.crashAfterCommits, crash.crashInStatement = 0, true
	if _, err := CopyDatabases(t.Context(), crash, quiet()); err == nil {
		t.Fatal("the crashed copy succeeded")
	}
	if _, err := CopyDatabases(t.Context(), c, quiet()); err == nil || !strings.Contains(err.Error(), "statement outside a transaction") || !strings.Contains(err.Error(), "--full") {
		t.Fatalf("a copy after a stop inside a DDL statement: %v", err)
	}
	full := c
	full.Full, full.Overwrite = true, true
	var bars recordedProgress
	full.Progress = &bars
	if res, err := CopyDatabases(t.Context(), full, quiet()); err != nil || res.Incremental {
		t.Fatalf("--full: %+v, %v", res, err)
	}
	// A full copy's steps: the snapshot staged (no total known), then
	// loaded (its stored bytes).
	bars.check(t, "reading "+orca+" from the old server", "loading them into the new server")
	full.Progress = nil
	if got, want := tableSums(t, newSrv, orca), tableSums(t, oldSrv, orca); !maps.Equal(got, want) {
		t.Fatalf("after --full: %v, want %v", got, want)
	}

	// A full copy stopped after its swap, before recording its position:
	// the old record must not survive it (the next copy would apply the
	// old server's changes since the earlier copy a second time).
	mustExec(t, o, "INSERT INTO notifications VALUES ('p1', 'before the second full copy')")
	swapped := full
	swapped.crashAfterSwap = true
	if _, err := CopyDatabases(t.Context(), swapped, quiet()); err == nil {
		t.Fatal("the crashed full copy succeeded")
	}
	if res, err := CopyDatabases(t.Context(), c, quiet()); err == nil || res != nil && res.Incremental {
		t.Fatalf("a copy after a full copy stopped before recording its position: %+v, %v; want a full copy, refused without --overwrite", res, err)
	}
	if got, want := tableSums(t, newSrv, orca), tableSums(t, oldSrv, orca); !maps.Equal(got, want) {
		t.Fatalf("after the stopped full copy: %v, want %v", got, want)
	}
}

// TestCopyDatabasesIncrementalRefusals: a recorded position that no longer
// describes both servers is refused with an error that says to run with
// --full, and nothing is applied.
func TestCopyDatabasesIncrementalRefusals(t *testing.T) {
	oldSrv, newSrv := testenv.StartMariaDB(t), testenv.StartMariaDB(t)
	orca, front50 := spinnakerLike(t, oldSrv, 100)
	c := DatabaseCopy{From: server(oldSrv), To: server(newSrv), Databases: []string{orca, front50}, Staging: backup.NewFileStore(t.TempDir()), ToolVersion: "test"}
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	o, admin, target := openDB(t, oldSrv, orca), openDB(t, oldSrv, ""), openDB(t, newSrv, "")
	mustExec(t, o, "INSERT INTO notifications VALUES ('p2', 'after the first copy')")
	before := tableSums(t, newSrv, orca)
	refused := func(name string, c DatabaseCopy, want string) {
		t.Helper()
		_, err := CopyDatabases(t.Context(), c, quiet())
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--full") {
			t.Errorf("%s: %v; want an error with %q telling to run with --full", name, err, want)
		}
		if got := tableSums(t, newSrv, orca); !maps.Equal(got, before) {
			t.Errorf("%s: the new server changed: %v, want %v", name, got, before)
		}
	}
	var rec struct {
		pos          uint64
		seal, tables string
	}
	if err := target.QueryRowContext(t.Context(), "SELECT binlog_position, seal, tables_digest FROM "+positionTable+" WHERE target_db = ?", orca).Scan(&rec.pos, &rec.seal, &rec.tables); err != nil {
		t.Fatal(err)
	}

	// The record altered by hand, or missing for one database.
	mustExec(t, target, fmt.Sprintf("UPDATE %s SET binlog_position = %d WHERE target_db = '%s'", positionTable, rec.pos-10, orca))
	refused("an altered position", c, "was altered")
	mustExec(t, target, fmt.Sprintf("UPDATE %s SET binlog_position = %d WHERE target_db = '%s'", positionTable, rec.pos, orca))
	mustExec(t, target, "CREATE TABLE spinops_migrate.saved AS SELECT * FROM "+positionTable, "DELETE FROM "+positionTable+" WHERE target_db = '"+front50+"'")
	refused("a missing row", c, "is missing")
	mustExec(t, target, "REPLACE INTO "+positionTable+" SELECT * FROM spinops_migrate.saved")

	// Another database set.
	fewer := c
	fewer.Databases = []string{orca}
	refused("another database set", fewer, "this run copies")

	// The new server's tables changed behind the copy's back.
	mustExec(t, openDB(t, newSrv, orca), "ALTER TABLE notifications ADD COLUMN seen BOOL")
	before = tableSums(t, newSrv, orca)
	refused("a table altered on the new server", c, "changed since the last copy")
	mustExec(t, openDB(t, newSrv, orca), "ALTER TABLE notifications DROP COLUMN seen")
	before = tableSums(t, newSrv, orca)

	// Rows written on the new server since the copy ended, the tables'
	// definitions left alone: an update, an insert into a table without
	// a primary key, a delete, an update back and forth that ends where
	// it began (no change: not refused). Each is named; undone, the copy
	// may go on.
	n := openDB(t, newSrv, orca)
	for _, w := range []struct{ name, do, undo, table string }{
		{"an update", "UPDATE pipelines SET body = 'edited on the new server' WHERE id = 'p1'",
			"UPDATE pipelines SET body = '{\"stages\":[{\"name\":\"naïve ☃\"}]}' WHERE id = 'p1'", "pipelines"},
		{"an insert", "INSERT INTO notifications VALUES ('p9', 'written by the new Orca')", "DELETE FROM notifications WHERE pipeline_id = 'p9'", "notifications"},
		{"a delete", "DELETE FROM executions WHERE id = 7", "", "executions"},
	} {
		mustExec(t, n, w.do)
		before = tableSums(t, newSrv, orca)
		refused(w.name+" on the new server", c, "changed since the last copy ended (tables "+w.table+")")
		if w.undo == "" {
			continue
		}
		mustExec(t, n, w.undo)
		before = tableSums(t, newSrv, orca)
	}
	// The deleted row cannot be put back as it was (its body is random):
	// take it back from the old server, where nothing changed it.
	var pipeline, status string
	var body []byte
	if err := o.QueryRowContext(t.Context(), "SELECT pipeline_id, status, body FROM executions WHERE id = 7").Scan(&pipeline, &status, &body); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ExecContext(t.Context(), "INSERT INTO executions (id, pipeline_id, status, body) VALUES (7, ?, ?, ?)", pipeline, status, body); err != nil {
		t.Fatal(err)
	}
	mustExec(t, openDB(t, newSrv, ""), "CREATE DATABASE unrelated_on_the_new_server", "CREATE TABLE unrelated_on_the_new_server.t (v INT)",
		"INSERT INTO unrelated_on_the_new_server.t VALUES (1)")
	before = tableSums(t, newSrv, orca)

	// Another old server (here: the new one, another instance).
	other := c
	other.From = server(newSrv)
	refused("another source instance", other, "another server")

	// A statement-based binary log, then a statement-based event in the
	// range while the format is back to ROW.
	mustExec(t, admin, "SET GLOBAL binlog_format = 'STATEMENT'")
	refused("binlog_format=STATEMENT", c, "binlog_format=STATEMENT")
	conn, err := o.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, admin, "SET GLOBAL binlog_format = 'ROW'")
	for _, q := range []string{"SET SESSION binlog_format = 'STATEMENT'", "START TRANSACTION", "INSERT INTO notifications VALUES ('p2', 'a statement')", "COMMIT"} {
		if _, err := conn.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()
	refused("a statement-based event", c, "statement-based change")

	// The binary log purged past the recorded position.
	// (MariaDB keeps a file until InnoDB's checkpoint passes it: purge
	// until the first file is gone.)
	for i := 0; ; i++ {
		mustExec(t, admin, "FLUSH BINARY LOGS")
		logs, err := backup.BinaryLogs(t.Context(), server(oldSrv))
		if err != nil {
			t.Fatal(err)
		}
		if logs[0].Name != "mysql-bin.000001" {
			break
		}
		if i == 50 {
			t.Fatalf("the first binary log was not purged: %v", logs)
		}
		mustExec(t, admin, "PURGE BINARY LOGS TO '"+logs[len(logs)-1].Name+"'")
		time.Sleep(100 * time.Millisecond)
	}
	refused("purged binary logs", c, "was purged")

	// The binary log reset (same file names, other contents).
	mustExec(t, admin, "RESET MASTER")
	mustExec(t, o, "INSERT INTO notifications VALUES ('p2', 'after the reset')")
	refused("a reset binary log", c, "reset or the record altered")
}

// TestCopyDatabasesIncrementalStatements: DDL reaches an incremental copy
// as statements, which mariadb-binlog's --rewrite-db does not rewrite
// (only the default database) and --database does not judge (it keeps
// every statement whose default database is the copied one). A qualified
// name of the copied database is rewritten to its new name (Liquibase,
// which Spinnaker's SQL services run, qualifies its DDL), also inside an
// executable comment; a statement naming another database of either
// server, or one that is not about the database's own data and schema
// (CREATE USER ... IDENTIFIED BY, GRANT), is refused without its text,
// and nothing of it reaches the new server.
func TestCopyDatabasesIncrementalStatements(t *testing.T) {
	oldSrv, newSrv := testenv.StartMariaDB(t), testenv.StartMariaDB(t)
	orca, front50 := spinnakerLike(t, oldSrv, 100)
	shared := "shared_" + strings.TrimPrefix(oldSrv.Database(t), "tf_acc_test_")
	for _, m := range []*testenv.MariaDB{oldSrv, newSrv} {
		mustExec(t, openDB(t, m, ""), "CREATE DATABASE "+shared, "CREATE TABLE "+shared+".sessions (id INT)", "INSERT INTO "+shared+".sessions VALUES (1), (2)")
		t.Cleanup(func() { _, _ = openDB(t, m, "").Exec("DROP DATABASE IF EXISTS " + shared) })
	}
	c := DatabaseCopy{From: server(oldSrv), To: server(newSrv), Databases: []string{orca, front50},
		DatabaseMap: map[string]string{front50: front50 + "_v2"}, Staging: backup.NewFileStore(t.TempDir()), ToolVersion: "test"}
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	same := func() {
		t.Helper()
		for src, dst := range map[string]string{orca: orca, front50: front50 + "_v2"} {
			if got, want := tableSums(t, newSrv, dst), tableSums(t, oldSrv, src); !maps.Equal(got, want) {
				t.Errorf("%s on the new server: %v, want %v", dst, got, want)
			}
		}
	}
	o, f := openDB(t, oldSrv, orca), openDB(t, oldSrv, front50)
	mustExec(t, f,
		"ALTER TABLE `"+front50+"`.applications ADD COLUMN owner VARCHAR(64)",
		"/*!40000 ALTER TABLE "+front50+".applications ADD COLUMN team VARCHAR(8) */",
		"UPDATE applications SET owner = 'platform', team = 'p' WHERE id = 'checkout'")
	mustExec(t, o, "ALTER TABLE "+orca+".pipelines ADD COLUMN tag VARCHAR(8)", "UPDATE pipelines SET tag = 'x'")
	res, err := CopyDatabases(t.Context(), c, quiet())
	if err != nil || res.Statements < 3 {
		t.Fatalf("an incremental copy with qualified DDL: %+v, %v", res, err)
	}
	same()
	var n int
	if err := openDB(t, newSrv, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", front50).Scan(&n); err != nil || n != 0 {
		t.Errorf("the copy made database %s on the new server (the old name of %s_v2): %d, %v", front50, front50, n, err)
	}

	for _, tc := range []struct {
		name, stmt, want string
	}{
		{"another database", "TRUNCATE TABLE " + shared + ".sessions", "naming database " + shared},
		{"another database in an executable comment", "/*!40000 DROP TABLE `" + shared + "`.sessions */", "naming database " + shared},
		{"a user with a password", "CREATE USER 'copied_" + shared + "'@'%' IDENTIFIED BY 'hunter2-not-for-the-log'", "a CREATE USER statement"},
		{"a grant", "GRANT SELECT ON " + orca + ".* TO 'copied_" + shared + "'@'%'", "a GRANT statement"},
		// The delimiter mariadb-binlog ends its lines with, inside the
		// statement (a comment here): a check reading only the text
		// after it would pass "UPDATE CURRENT_TIMESTAMP, DROP COLUMN id".
		{"the tool's delimiter inside the statement", "ALTER TABLE " + shared + ".sessions ADD COLUMN ts TIMESTAMP NULL ON # /*!*/;\nUPDATE CURRENT_TIMESTAMP, DROP COLUMN id", "holds the delimiter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.stmt, "GRANT") {
				// The grantee, made outside the binary log.
				conn, err := openDB(t, oldSrv, "").Conn(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range []string{"SET SESSION sql_log_bin = 0", "CREATE USER IF NOT EXISTS 'copied_" + shared + "'@'%'", "SET SESSION sql_log_bin = 1"} {
					if _, err := conn.ExecContext(t.Context(), q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				conn.Close()
			}
			before := tableSums(t, newSrv, orca)
			sharedBefore := tableSums(t, newSrv, shared)
			mustExec(t, o, tc.stmt)
			_, err := CopyDatabases(t.Context(), c, quiet())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--full") {
				t.Fatalf("%s: %v; want a refusal with %q telling to run with --full", tc.stmt, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "sessions") {
				t.Errorf("the refusal quotes the statement: %v", err)
			}
			if got := tableSums(t, newSrv, shared); !maps.Equal(got, sharedBefore) {
				t.Errorf("%s on the new server changed: %v, want %v", shared, got, sharedBefore)
			}
			if got := tableSums(t, newSrv, orca); !maps.Equal(got, before) {
				t.Errorf("%s on the new server changed: %v, want %v", orca, got, before)
			}
			var users int
			if err := openDB(t, newSrv, "").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'copied\\_%'").Scan(&users); err != nil || users != 0 {
				t.Errorf("users made on the new server: %d, %v", users, err)
			}
			// Put back on the old server what the case changed, and
			// start again from a full copy.
			mustExec(t, openDB(t, oldSrv, ""), "DROP USER IF EXISTS 'copied_"+shared+"'@'%'",
				"CREATE TABLE IF NOT EXISTS "+shared+".sessions (id INT)")
			full := c
			full.Full, full.Overwrite = true, true
			if _, err := CopyDatabases(t.Context(), full, quiet()); err != nil {
				t.Fatal(err)
			}
		})
	}
	mustExec(t, o, "INSERT INTO notifications VALUES ('p1', 'after the refusals')")
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	same()
}
