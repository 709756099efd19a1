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
