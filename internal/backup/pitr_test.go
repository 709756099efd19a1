package backup_test

import (
	"context"
	"database/sql"
	"errors"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := osexec.LookPath(name); err != nil {
		msg := name + " not installed: run `make testenv` (or apt-get install mariadb-client)"
		if testenv.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// A backup, then write A, then the restore point T, then write B: restoring
// --at T into a fresh database gives the backup plus A, without B.
func TestPointInTimeRestore(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY, what VARCHAR(32))")
	exec(t, d, "INSERT INTO events VALUES (1, 'before the backup')")
	dest := e.store(e.bucket(), "pitr/")
	eng := e.engine(dest)

	// The archiver runs the whole time, as the Deployment does.
	arch := &backup.Archiver{Server: *e.server(), Dest: dest, WorkDir: filepath.Join(t.TempDir(), "binlogs"), FlushInterval: 300 * time.Millisecond, Log: testLogger(t), Keys: testKeys()}
	actx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var archErr error
	wg.Add(1)
	go func() { defer wg.Done(); archErr = arch.Run(actx) }()

	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO events VALUES (2, 'A: before T')")
	exec(t, d, "UPDATE events SET what = 'updated before T' WHERE id = 1")
	time.Sleep(1500 * time.Millisecond)
	at := time.Now().UTC().Truncate(time.Second)
	time.Sleep(1500 * time.Millisecond)
	exec(t, d, "INSERT INTO events VALUES (3, 'B: after T')")
	exec(t, d, "DELETE FROM events WHERE id = 2")
	time.Sleep(time.Second) // one more flush
	stop()
	wg.Wait()
	if archErr != nil && !errors.Is(archErr, context.Canceled) {
		t.Fatalf("archive-binlogs: %v", archErr)
	}

	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: at, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at %s: %v", at, err)
	}
	got := rowsOf(t, e.sql(target), "SELECT CONCAT(id, ':', what) FROM events ORDER BY id")
	want := "1:updated before T,2:A: before T"
	if got != want {
		t.Errorf("restored at %s: %q, want %q", at.Format(time.RFC3339), got, want)
	}

	// Beyond what the archive holds is refused.
	_, err := eng.Restore(ctx, backup.RestoreOptions{At: time.Now().Add(time.Hour), MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
	if err == nil || !strings.Contains(err.Error(), "reaches only") {
		t.Errorf("restore beyond the archive: %v", err)
	}
}

func rowsOf(t *testing.T, d *sql.DB, q string) string {
	t.Helper()
	rows, err := d.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// Transfers between accounts run throughout the backup; the restored
// snapshot must still balance, and both tables must be from one instant.
func TestBackupConsistentUnderWrites(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)")
	exec(t, d, "CREATE TABLE ledger (id BIGINT PRIMARY KEY AUTO_INCREMENT, amount BIGINT, pad VARCHAR(200))")
	for i := 0; i < 100; i++ {
		exec(t, d, "INSERT INTO accounts VALUES (?, 1000)", i)
	}
	exec(t, d, "INSERT INTO ledger (amount, pad) SELECT 0, REPEAT('p', 200) FROM accounts a, accounts b") // 10k rows

	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var writes int64
	var mu sync.Mutex
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; wctx.Err() == nil; i++ {
				tx, err := d.BeginTx(wctx, nil)
				if err != nil {
					return
				}
				from, to := (i*7+w)%100, (i*13+w+1)%100
				_, err1 := tx.Exec("UPDATE accounts SET balance = balance - 5 WHERE id = ?", from)
				_, err2 := tx.Exec("UPDATE accounts SET balance = balance + 5 WHERE id = ?", to)
				_, err3 := tx.Exec("INSERT INTO ledger (amount) VALUES (5)")
				if err1 != nil || err2 != nil || err3 != nil || tx.Commit() != nil {
					_ = tx.Rollback()
					continue
				}
				mu.Lock()
				writes++
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(200 * time.Millisecond)
	dest := e.store(e.bucket(), "")
	eng := e.engine(dest)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	time.Sleep(200 * time.Millisecond)
	stopWriters()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d transfers committed while the backup ran", writes)

	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatal(err)
	}
	td := e.sql(target)
	var sum, ledger5 int64
	if err := td.QueryRow("SELECT SUM(balance) FROM accounts").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if err := td.QueryRow("SELECT COUNT(*) FROM ledger WHERE amount = 5").Scan(&ledger5); err != nil {
		t.Fatal(err)
	}
	var moved int64
	if err := td.QueryRow("SELECT SUM(ABS(balance - 1000)) FROM accounts").Scan(&moved); err != nil {
		t.Fatal(err)
	}
	if sum != 100*1000 {
		t.Errorf("restored balances sum to %d, want %d: the snapshot is not consistent", sum, 100*1000)
	}
	if ledger5 == 0 || writes == 0 {
		t.Logf("note: no transfer landed inside the snapshot (ledger=%d writes=%d)", ledger5, writes)
	}
}

// The archiver uploads what it received when it is stopped (SIGTERM of the
// Deployment's pod), so the restore window reaches the shutdown even when
// the last periodic flush was long ago.
func TestArchiverFlushesAtShutdown(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	d := e.sql(db)
	exec(t, d, "CREATE TABLE notes (id INT PRIMARY KEY)")
	dest := e.store(e.bucket(), "shutdown/")
	eng := e.engine(dest)
	// No periodic flush within the test: only the one at shutdown.
	arch := &backup.Archiver{Server: *e.server(), Dest: dest, WorkDir: filepath.Join(t.TempDir(), "binlogs"), FlushInterval: time.Hour, Log: testLogger(t), Keys: testKeys()}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- arch.Run(actx) }()
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, PointInTime: true}); err != nil {
		t.Fatal(err)
	}
	exec(t, d, "INSERT INTO notes VALUES (1)")
	time.Sleep(1500 * time.Millisecond)
	at := time.Now().UTC().Truncate(time.Second)
	time.Sleep(1500 * time.Millisecond) // mariadb-binlog has received the insert
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("archive-binlogs: %v", err)
	}
	target := e.db.Database(t)
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: at, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: target}}}); err != nil {
		t.Fatalf("restore --at %s after the archiver stopped: %v", at, err)
	}
	if got := rowsOf(t, e.sql(target), "SELECT id FROM notes"); got != "1" {
		t.Fatalf("restored %q, want the row inserted before the shutdown", got)
	}
}
