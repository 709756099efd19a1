package backup_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// A drill restores the newest backup and the newest provable point in
// time into scratch databases, verifies them, records the result (listed,
// and exported as metrics) and leaves nothing behind; a damaged backup
// fails the drill, and that is recorded too.
func TestDrill(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	seed(t, e, db)
	dest := e.store(e.bucket(), "drill/")
	eng := e.engine(dest)
	stop := archiving(t, e.archiver(dest))
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, e.sql(db), "INSERT INTO empty_table VALUES (7)")
	time.Sleep(2100 * time.Millisecond)
	stop()

	res, err := eng.Drill(ctx, backup.DrillOptions{Server: *e.server()})
	if err != nil {
		t.Fatalf("drill: %v", err)
	}
	if !res.OK || res.BackupID != m.ID || res.Tables != 3 || res.Rows != 503 || res.RecoverySeconds <= 0 || res.PointInTime.IsZero() {
		t.Errorf("drill result %+v", res)
	}
	if res.DataLossSeconds < 0 || res.DataLossSeconds > 120 {
		t.Errorf("data-loss window %.1fs", res.DataLossSeconds)
	}
	noStagingLeft(t, e)
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if d := l.LastDrill(); d == nil || !d.OK || d.RecoverySeconds != res.RecoverySeconds {
		t.Errorf("recorded drill: %+v", d)
	}
	reg := prometheus.NewRegistry()
	backup.NewMetrics(reg).ObserveListing(l)
	if got := gaugeValue(t, reg, "spinops_backup_drill_recovery_seconds"); got != res.RecoverySeconds {
		t.Errorf("spinops_backup_drill_recovery_seconds = %v, want %v", got, res.RecoverySeconds)
	}
	if got := gaugeValue(t, reg, "spinops_backup_restore_window_seconds"); got <= 0 {
		t.Errorf("spinops_backup_restore_window_seconds = %v", got)
	}
	if got := gaugeValue(t, reg, "spinops_backup_last_success_timestamp"); got != float64(m.CompletedAt.UnixNano())/1e9 {
		t.Errorf("spinops_backup_last_success_timestamp = %v, want %v", got, m.CompletedAt)
	}

	// Damage the backup: the drill fails, says where, and is recorded.
	p := m.MySQL.Databases[0].Tables[1].Parts[0].Path
	if err := dest.Put(ctx, p, strings.NewReader("damaged")); err != nil {
		t.Fatal(err)
	}
	res, err = eng.Drill(ctx, backup.DrillOptions{Server: *e.server()})
	if err == nil || res.OK || !strings.Contains(res.Error, p) {
		t.Errorf("drill of a damaged backup: %+v, %v", res, err)
	}
	l, _ = backup.List(ctx, dest)
	if d := l.LastDrill(); d == nil || d.OK {
		t.Errorf("the failed drill was not recorded: %+v", d)
	}
	noStagingLeft(t, e)
}

// The backup user of a managed server has no RELOAD, SUPER or FLUSH
// privilege: the snapshot, its binlog position, the archive and a point in
// time restore work without them.
func TestManagedServerWithoutReloadOrSuper(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY, what VARCHAR(32))")
	exec(t, d, "INSERT INTO events VALUES (1, 'before the backup')")
	exec(t, d, "CREATE VIEW v AS SELECT id FROM events")
	user := "tf_acc_" + strings.ToLower(db[len(db)-8:])
	root := e.sql("")
	exec(t, root, fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'limited-pass'", user))
	t.Cleanup(func() { _, _ = root.Exec(fmt.Sprintf("DROP USER '%s'@'127.0.0.1'", user)) })
	// What RDS/Aurora/Cloud SQL give a backup user: no RELOAD, SUPER, or FLUSH.
	exec(t, root, fmt.Sprintf("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `%s`.* TO '%s'@'127.0.0.1'", db, user))
	exec(t, root, fmt.Sprintf("GRANT BINLOG MONITOR, BINLOG REPLAY, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '%s'@'127.0.0.1'", user))
	exec(t, root, fmt.Sprintf("GRANT ALL ON `spinops\\_%%`.* TO '%s'@'127.0.0.1'", user))
	exec(t, root, fmt.Sprintf("GRANT ALL ON `tf\\_acc\\_test\\_%%`.* TO '%s'@'127.0.0.1'", user))
	limited := backup.MySQLServer{Host: e.db.Host, Port: e.db.Port, User: user, Password: "limited-pass"}
	ld, err := backup.SQLOpen(limited)
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Close()
	for _, q := range []string{"FLUSH TABLES WITH READ LOCK", "FLUSH BINARY LOGS", "SET GLOBAL read_only = 0"} {
		if _, err := ld.ExecContext(ctx, q); err == nil {
			t.Fatalf("test setup: the limited user may run %s", q)
		}
	}
	dest := e.store(e.bucket(), "managed/")
	eng := e.engine(dest)
	a := e.archiver(dest)
	a.Server = limited
	stop := archiving(t, a)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: &limited, Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatalf("backup as a user without RELOAD/SUPER: %v", err)
	}
	if m.MySQL.BinlogFile == "" || m.MySQL.BinlogPosition == 0 || m.MySQL.ArchiveServer == "" {
		t.Errorf("no binlog position from the snapshot: %+v", m.MySQL)
	}
	exec(t, d, "INSERT INTO events VALUES (2, 'after the backup')")
	time.Sleep(1100 * time.Millisecond)
	at := serverTime(t, e).Truncate(time.Second)
	time.Sleep(1100 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (3, 'after the point')")
	time.Sleep(1500 * time.Millisecond)
	stop()
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: at, MySQL: &backup.MySQLTarget{Server: limited, DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at as the limited user: %v", err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT CONCAT(id, ':', what) FROM events ORDER BY id"); got != "1:before the backup,2:after the backup" {
		t.Errorf("restored %q", got)
	}
}

// A drill runs on the source server and leaves the backup's events out
// (checked, not created): created in its scratch database they would run
// there under the event scheduler, as the restoring user, and through a
// qualified name against the live database. The server's binary log,
// which records every CREATE EVENT, shows whether the drill made one.
func TestDrillLeavesEventsOut(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE sessions (id INT PRIMARY KEY)")
	event := "purge_" + strings.ReplaceAll(db, "tf_acc_test_", "")
	exec(t, d, "CREATE EVENT "+event+" ON SCHEDULE EVERY 1 DAY DO DELETE FROM `"+db+"`.sessions")
	dest := e.store(e.bucket(), "drill-events/")
	eng := e.engine(dest)
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}}); err != nil {
		t.Fatal(err)
	}
	file := currentBinlog(t, e)
	res, err := eng.Drill(ctx, backup.DrillOptions{Server: *e.server(), NoRecord: true})
	if err != nil || res.EventsLeftOut != 1 {
		t.Fatalf("drill: %v (%+v), want OK with one event left out", err, res)
	}
	rows, err := e.sql("").QueryContext(ctx, "SHOW BINLOG EVENTS IN '"+file+"'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		var info string
		for i := range vals {
			vals[i] = new(any)
		}
		vals[len(cols)-1] = &info
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, event) && !strings.HasPrefix(info, "use `"+db+"`;") {
			t.Errorf("the drill created the backup's event in its scratch database: %s", info)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
