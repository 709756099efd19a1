package testenv_test

import (
	"database/sql"
	"net"
	"os"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestSharedMariaDB(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	name := m.Database(t)
	db, err := sql.Open("mysql", m.DSN(name))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()

	var format, charset string
	var logBin, serverID int
	if err := db.QueryRowContext(ctx, "SELECT @@binlog_format, @@log_bin, @@server_id, @@character_set_server").
		Scan(&format, &logBin, &serverID, &charset); err != nil {
		t.Fatal(err)
	}
	if format != "ROW" || logBin != 1 || serverID != 1 {
		t.Errorf("binlog_format=%s log_bin=%d server_id=%d, want ROW 1 1", format, logBin, serverID)
	}
	if charset != "utf8mb4" {
		t.Errorf("character_set_server = %s, want utf8mb4", charset)
	}

	for _, q := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO t VALUES (1, 'one'), (2, 'two')",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Errorf("count = %d, %v; want 2", n, err)
	}
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Error("SHOW BINARY LOGS is empty")
	}
	rows.Close()

	bad, _ := sql.Open("mysql", "root:wrong@tcp("+m.Addr()+")/")
	defer bad.Close()
	if err := bad.PingContext(ctx); err == nil {
		t.Error("root with a wrong password could connect")
	}
}

func TestMariaDBStop(t *testing.T) {
	m := testenv.StartMariaDB(t)
	if _, err := os.Stat(m.Socket); err != nil {
		t.Errorf("socket: %v", err)
	}
	began := time.Now()
	m.Stop()
	t.Logf("stopped in %s", time.Since(began).Round(10*time.Millisecond))
	if _, err := os.Stat(m.Dir); !os.IsNotExist(err) {
		t.Errorf("state dir %s still there after Stop: %v", m.Dir, err)
	}
	if c, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
		_ = c.Close()
		t.Errorf("%s still accepts connections after Stop", m.Addr())
	}
}

// A snapshot is what a power cut would leave, and CrashRestart from it is
// a server restored from a disk snapshot: what was written after it is
// gone, what was committed before it is there, and the server opens a new
// binary log file after the ones the snapshot kept.
func TestMariaDBSnapshotAndCrashRestart(t *testing.T) {
	t.Parallel()
	m := testenv.StartMariaDB(t)
	d, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	binlog := func() string {
		t.Helper()
		var name string
		var pos, doDB, ignoreDB any // (MariaDB's four columns)
		if err := d.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&name, &pos, &doDB, &ignoreDB); err != nil {
			t.Fatalf("SHOW MASTER STATUS: %v", err)
		}
		return name
	}
	for _, q := range []string{"CREATE DATABASE snap", "CREATE TABLE snap.t (id INT PRIMARY KEY)", "INSERT INTO snap.t VALUES (1)"} {
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // (InnoDB writes its log every second)
	snapshot := m.Snapshot(t)
	kept := binlog()
	if _, err := d.ExecContext(ctx, "INSERT INTO snap.t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	m.CrashRestart(t, snapshot)
	var ids string
	if err := d.QueryRowContext(ctx, "SELECT GROUP_CONCAT(id ORDER BY id) FROM snap.t").Scan(&ids); err != nil {
		t.Fatal(err)
	}
	if ids != "1" {
		t.Errorf("rows after the restart from the snapshot: %q, want 1", ids)
	}
	if now := binlog(); now <= kept {
		t.Errorf("binary log after the restart: %s, want a file after the snapshot's %s", now, kept)
	}
}
