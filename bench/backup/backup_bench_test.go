// Package backup benchmarks the spinops backup engine against mariadb-dump
// and a plain import of its output, and against mydumper/myloader when
// installed (Debian: apt-get install mydumper), on the same server in the
// same run. Run (size in MiB of table data, default 1024):
//
//	SPINOPS_BENCH_BACKUP_MB=1024 go test -run '^$' -bench BenchmarkBackupVersusDump -benchtime=1x -timeout 60m ./bench/backup/
package backup

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func BenchmarkBackupVersusDump(b *testing.B) {
	mb := 1024
	if s := os.Getenv("SPINOPS_BENCH_BACKUP_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	for _, tool := range []string{"mariadb-dump", "mariadb"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not installed: run `make testenv` (or apt-get install mariadb-client)"
			if testenv.Required() {
				b.Fatal(msg)
			}
			b.Skip(msg)
		}
	}
	srv := testenv.StartMariaDB(b)
	ctx := context.Background()
	root, err := sql.Open("mysql", srv.DSN("mysql"))
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	const src = "bench_src"
	mustExec(b, root, "CREATE DATABASE "+src)
	mustExec(b, root, "SET GLOBAL max_allowed_packet = 256*1024*1024")
	// Two tables shaped like Spinnaker's: JSON bodies (orca executions) and many small rows.
	mustExec(b, root, "CREATE TABLE "+src+".executions (id VARCHAR(64) PRIMARY KEY, application VARCHAR(255), status VARCHAR(32), body LONGTEXT, updated_at BIGINT, KEY (application))")
	mustExec(b, root, "CREATE TABLE "+src+".tags (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64), value VARCHAR(255))")
	start := time.Now()
	rows := mb * 1024 // ~1 KiB per execution row
	for done := 0; done < rows; done += 50000 {
		n := min(50000, rows-done)
		mustExec(b, root, fmt.Sprintf(`INSERT INTO %s.executions SELECT CONCAT('exec-', seq + %d), CONCAT('app-', seq %% 97), IF(seq %% 5 = 0, 'TERMINAL', 'SUCCEEDED'),
			CONCAT('{"stages":[', REPEAT(CONCAT('{"type":"deploy","id":"', MD5(seq + %d), '"},'), 20), '{}]}'), UNIX_TIMESTAMP()*1000 FROM seq_1_to_%d`, src, done, done, n))
	}
	mustExec(b, root, "INSERT INTO "+src+".tags (name, value) SELECT CONCAT('k', seq % 50), MD5(seq) FROM seq_1_to_200000")
	var dataMB float64
	_ = root.QueryRow("SELECT (SELECT SUM(LENGTH(id) + LENGTH(application) + LENGTH(status) + LENGTH(body) + 8) FROM " + src + ".executions) + (SELECT SUM(LENGTH(name) + LENGTH(value) + 8) FROM " + src + ".tags)").Scan(&dataMB)
	dataMB /= 1 << 20
	b.Logf("generated %d execution rows, %.0f MiB of row data in %s", rows, dataMB, time.Since(start).Round(time.Second))

	dir := b.TempDir()
	dest := backup.NewFileStore(filepath.Join(dir, "dest"))
	eng := &backup.Engine{Dest: dest, Log: slog.New(slog.DiscardHandler), Keys: &backup.Keys{HMAC: []byte("bench-signing-key-0123456789abcdef0123")}}
	server := &backup.MySQLServer{Host: srv.Host, Port: srv.Port, User: srv.RootUser, Password: srv.RootPassword}
	env := append(os.Environ(), "MYSQL_PWD="+srv.RootPassword)
	conn := []string{"--host=" + srv.Host, "--port=" + strconv.Itoa(srv.Port), "--user=" + srv.RootUser}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// spinops backup run (file:// destination, zstd) versus mariadb-dump --single-transaction to a file.
		// CPU seconds of the server and of the client for each, so the run
		// shows where a backup's time goes (two cores here).
		srv0, self0 := cpuOf(b, srv.PID()), selfCPU(b)
		t0 := time.Now()
		m, err := eng.Run(ctx, backup.RunOptions{MySQL: server, Databases: []string{src}})
		if err != nil {
			b.Fatal(err)
		}
		spinBackup := time.Since(t0)
		spinServerCPU, spinClientCPU := cpuOf(b, srv.PID())-srv0, selfCPU(b)-self0

		dumpFile := filepath.Join(dir, "dump.sql")
		t0 = time.Now()
		out, err := os.Create(dumpFile)
		if err != nil {
			b.Fatal(err)
		}
		srv0 = cpuOf(b, srv.PID())
		cmd := exec.Command("mariadb-dump", append(conn, "--single-transaction", "--master-data=2", "--databases", src)...)
		var stderr strings.Builder
		cmd.Env, cmd.Stdout, cmd.Stderr = env, out, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("mariadb-dump: %v: %s", err, stderr.String())
		}
		out.Close()
		dump := time.Since(t0)
		dumpServerCPU, dumpClientCPU := cpuOf(b, srv.PID())-srv0, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		st, _ := os.Stat(dumpFile)

		srv0, self0 = cpuOf(b, srv.PID()), selfCPU(b)
		t0 = time.Now()
		if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *server, DatabaseMap: map[string]string{src: "bench_spinops"}}}); err != nil {
			b.Fatal(err)
		}
		spinRestore := time.Since(t0)
		restoreServerCPU, restoreClientCPU := cpuOf(b, srv.PID())-srv0, selfCPU(b)-self0

		rewritten := filepath.Join(dir, "dump-renamed.sql")
		sed := exec.Command("sh", "-c", fmt.Sprintf("sed -e 's/`%s`/`bench_plain`/g' %s > %s", src, dumpFile, rewritten))
		if o, err := sed.CombinedOutput(); err != nil {
			b.Fatalf("sed: %v: %s", err, o)
		}
		in, _ := os.Open(rewritten)
		srv0 = cpuOf(b, srv.PID())
		t0 = time.Now()
		imp := exec.Command("mariadb", conn...)
		imp.Env, imp.Stdin = env, in
		if o, err := imp.CombinedOutput(); err != nil {
			b.Fatalf("mariadb import: %v: %s", err, o)
		}
		plainImport := time.Since(t0)
		importServerCPU, importClientCPU := cpuOf(b, srv.PID())-srv0, (imp.ProcessState.UserTime() + imp.ProcessState.SystemTime()).Seconds()
		in.Close()

		// mydumper / myloader, the tool a DBA would pick, when installed:
		// same threads as the engine's default connections, compressed.
		var myDump, myLoad time.Duration
		if _, err := exec.LookPath("mydumper"); err == nil {
			outDir := filepath.Join(dir, "mydumper")
			t0 = time.Now()
			md := exec.Command("mydumper", "--host="+srv.Host, "--port="+strconv.Itoa(srv.Port), "--user="+srv.RootUser, "--password="+srv.RootPassword,
				"--database="+src, "--outputdir="+outDir, "--threads=4", "--compress", "--rows=100000", "--trx-consistency-only")
			if o, err := md.CombinedOutput(); err != nil {
				b.Fatalf("mydumper: %v: %s", err, o)
			}
			myDump = time.Since(t0)
			t0 = time.Now()
			ml := exec.Command("myloader", "--host="+srv.Host, "--port="+strconv.Itoa(srv.Port), "--user="+srv.RootUser, "--password="+srv.RootPassword,
				"--directory="+outDir, "--source-db="+src, "--database=bench_myloader", "--threads=4")
			if o, err := ml.CombinedOutput(); err != nil {
				b.Fatalf("myloader: %v: %s", err, o)
			}
			myLoad = time.Since(t0)
		}

		var c1, c2 int64
		_ = root.QueryRow("SELECT COUNT(*) FROM bench_spinops.executions").Scan(&c1)
		_ = root.QueryRow("SELECT COUNT(*) FROM bench_plain.executions").Scan(&c2)
		if c1 != int64(rows) || c2 != int64(rows) {
			b.Fatalf("row counts after restore: spinops %d, plain %d, want %d", c1, c2, rows)
		}
		load, _ := os.ReadFile("/proc/loadavg")
		fmt.Printf("RESULT row_data_mib=%.0f rows=%d spinops_backup=%s mariadb_dump=%s backup_speedup=%.2f "+
			"backup_cpu_s(server+client): spinops=%.1f+%.1f mariadb_dump=%.1f+%.1f spinops_stored_mib=%.0f dump_file_mib=%.0f spinops_restore=%s plain_import=%s restore_speedup=%.2f "+
			"restore_cpu_s(server+client): spinops=%.1f+%.1f plain=%.1f+%.1f mydumper=%s myloader=%s loadavg=%q\n",
			dataMB, rows, spinBackup.Round(time.Millisecond), dump.Round(time.Millisecond), dump.Seconds()/spinBackup.Seconds(),
			spinServerCPU, spinClientCPU, dumpServerCPU, dumpClientCPU,
			float64(m.StoredBytes)/1048576, float64(st.Size())/1048576,
			spinRestore.Round(time.Millisecond), plainImport.Round(time.Millisecond), plainImport.Seconds()/spinRestore.Seconds(),
			restoreServerCPU, restoreClientCPU, importServerCPU, importClientCPU,
			myDump.Round(time.Millisecond), myLoad.Round(time.Millisecond), strings.TrimSpace(string(load)))
		b.ReportMetric(dump.Seconds()/spinBackup.Seconds(), "backup_speedup")
		b.ReportMetric(plainImport.Seconds()/spinRestore.Seconds(), "restore_speedup")
		mustExec(b, root, "DROP DATABASE bench_spinops")
		mustExec(b, root, "DROP DATABASE bench_plain")
		mustExec(b, root, "DROP DATABASE IF EXISTS bench_myloader")
	}
}

// cpuOf is a process's user + system CPU time in seconds.
func cpuOf(b *testing.B, pid int) float64 {
	b.Helper()
	s, err := testenv.CPUSeconds(pid)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// selfCPU is this process's CPU time in seconds (the engine runs in it).
func selfCPU(b *testing.B) float64 { return cpuOf(b, os.Getpid()) }

func mustExec(b *testing.B, d *sql.DB, q string) {
	b.Helper()
	if _, err := d.Exec(q); err != nil {
		b.Fatalf("%.120s: %v", q, err)
	}
}
