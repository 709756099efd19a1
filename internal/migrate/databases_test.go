package migrate

import (
	"database/sql"
	"fmt"
	"maps"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func server(m *testenv.MariaDB) backup.MySQLServer {
	return backup.MySQLServer{Host: m.Host, Port: m.Port, User: m.RootUser, Password: m.RootPassword}
}

func openDB(t *testing.T, m *testenv.MariaDB, db string) *sql.DB {
	t.Helper()
	d, err := sql.Open("mysql", m.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// checksums are CHECKSUM TABLE and COUNT(*) of every table of db.
func checksums(t *testing.T, d *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range []string{"pipelines", "executions"} {
		var name string
		var sum sql.NullInt64
		if err := d.QueryRowContext(t.Context(), "CHECKSUM TABLE "+tbl).Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tbl] = fmt.Sprintf("checksum %v, %d rows", sum, n)
	}
	return out
}

// TestCopyDatabases moves a Spinnaker-shaped database from one real
// MariaDB server to another through the backup engine: the tables arrive
// with the same rows (CHECKSUM TABLE); a target that already has tables is
// refused unless Overwrite, and then replaced; the old databases as their
// own target are refused.
func TestCopyDatabases(t *testing.T) {
	oldSrv, newSrv := testenv.SharedMariaDB(t), testenv.StartMariaDB(t)
	name := oldSrv.Database(t)
	old := openDB(t, oldSrv, name)
	for _, q := range []string{
		"CREATE TABLE pipelines (id VARCHAR(64) PRIMARY KEY, application VARCHAR(255), body LONGTEXT, updated_at BIGINT)",
		"CREATE TABLE executions (id BIGINT AUTO_INCREMENT PRIMARY KEY, pipeline_id VARCHAR(64), status VARCHAR(32), body MEDIUMBLOB, KEY (pipeline_id))",
		"INSERT INTO pipelines VALUES ('p1','checkout','{\"stages\":[{\"type\":\"deployManifest\",\"name\":\"naïve ☃\"}]}',1), ('p2','search',NULL,2), ('p3','web','tab\there\nnewline \\\\ backslash',3)",
		"INSERT INTO executions (pipeline_id, status, body) SELECT 'p1', 'SUCCEEDED', REPEAT('x', 1000) FROM information_schema.columns LIMIT 500",
		"INSERT INTO executions (pipeline_id, status, body) VALUES ('p2', 'TERMINAL', UNHEX('00FF10'))",
	} {
		if _, err := old.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	want := checksums(t, old)
	staging := backup.NewFileStore(t.TempDir())
	c := DatabaseCopy{From: server(oldSrv), To: server(newSrv), Databases: []string{name}, Staging: staging, ToolVersion: "test"}
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	if got := checksums(t, openDB(t, newSrv, name)); !maps.Equal(got, want) {
		t.Fatalf("the new server's tables: %v, want %v", got, want)
	}

	// The old server moved on; a second copy without Overwrite is refused
	// and leaves the new server as it was, with Overwrite it replaces it.
	if _, err := old.ExecContext(t.Context(), "INSERT INTO pipelines VALUES ('p4','new','{}',4)"); err != nil {
		t.Fatal(err)
	}
	c.Full = true // the new server records the first copy: without Full the copy is incremental
	if _, err := CopyDatabases(t.Context(), c, quiet()); err == nil || !strings.Contains(err.Error(), "overwrite") {
		t.Errorf("a copy into databases that have tables, without Overwrite: %v", err)
	}
	if got := checksums(t, openDB(t, newSrv, name)); !maps.Equal(got, want) {
		t.Fatalf("after the refused copy the new server's tables: %v, want them unchanged %v", got, want)
	}
	c.Overwrite = true
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	if got, want := checksums(t, openDB(t, newSrv, name)), checksums(t, old); !maps.Equal(got, want) {
		t.Fatalf("after the overwrite: %v, want %v", got, want)
	}

	// The old databases as their own target.
	self := c
	self.To = server(oldSrv)
	if _, err := CopyDatabases(t.Context(), self, quiet()); err == nil {
		t.Error("copying the old databases onto themselves was accepted")
	}
}
