package backup_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestRestoreLiveSourceIsTheInstance: the live-source guard knows a server
// by its instance, not by its address nor by server_id alone. Another
// MariaDB server that is also server_id 1 (the default: unrelated servers
// share it) is not the source, so restoring there under the same database
// name is allowed; the source reached through another address (localhost
// instead of 127.0.0.1) still is, and is refused.
func TestRestoreLiveSourceIsTheInstance(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE pipelines (id INT PRIMARY KEY, name VARCHAR(64))")
	exec(t, e.sql(db), "INSERT INTO pipelines VALUES (1, 'one'), (2, 'two')")
	eng := e.engine(e.store(e.bucket(), "spinops/"))
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}

	other := testenv.StartMariaDB(t)
	target := backup.MySQLServer{Host: other.Host, Port: other.Port, User: other.RootUser, Password: other.RootPassword}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: target}}); err != nil {
		t.Fatalf("restore into another server with the same server_id: %v", err)
	}

	alias := *e.server()
	alias.Host = "localhost"
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: alias, Overwrite: true}})
	if !errors.Is(err, backup.ErrLiveSource) || !strings.Contains(err.Error(), "--confirm-overwrite-source") {
		t.Fatalf("restore into the source through another address: %v, want ErrLiveSource", err)
	}
}
