package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDB root credentials. root can connect over TCP from 127.0.0.1 and over
// the unix socket.
const (
	MariaDBRootUser     = "root"
	MariaDBRootPassword = "testenv-root"
)

const (
	mariaDBStartTimeout = 90 * time.Second
	mariaDBStopGrace    = 10 * time.Second
)

// MariaDB is a running mariadbd with its own data directory, listening on
// 127.0.0.1:Port and on Socket, with the binary log enabled (ROW format,
// server id 1, basename DataDir/mysql-bin).
type MariaDB struct {
	Host         string
	Port         int
	RootUser     string
	RootPassword string
	// Socket is the unix socket path; DataDir holds the databases and the
	// binary logs; Dir is the whole state directory.
	Socket  string
	DataDir string
	Dir     string

	proc      *process
	mariadbd  string   // the binary and arguments it runs with,
	args      []string // for CrashRestart
	snapshots int      // Snapshot copies made
	db        *sql.DB  // root over TCP
	socketDir string   // set when the socket lives outside Dir
	stopOnce  sync.Once
}

// StartMariaDB starts a private MariaDB server for t, stopped on t.Cleanup.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	bins := requireBinaries(t, binMariaDB, binMariaInstall)
	return startOwn(t, "MariaDB", mariaDBStartTimeout, func(ctx context.Context) (*MariaDB, error) {
		return startMariaDB(ctx, bins[0], bins[1])
	})
}

// StartMariaDBWithArgs starts a private MariaDB server with extra mariadbd
// options (e.g. --ssl-cert, --require-secure-transport=ON), stopped on
// t.Cleanup.
func StartMariaDBWithArgs(t testing.TB, extra ...string) *MariaDB {
	t.Helper()
	bins := requireBinaries(t, binMariaDB, binMariaInstall)
	return startOwn(t, "MariaDB", mariaDBStartTimeout, func(ctx context.Context) (*MariaDB, error) {
		return startMariaDB(ctx, bins[0], bins[1], extra...)
	})
}

var sharedMariaDB sharedSlot[*MariaDB]

// SharedMariaDB returns the MariaDB server shared by all tests of this test
// binary, starting it on first use. The package must call Main from
// TestMain. Isolate tests with Database.
func SharedMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	bins := requireBinaries(t, binMariaDB, binMariaInstall)
	return sharedMariaDB.get(t, "MariaDB", mariaDBStartTimeout, func(ctx context.Context) (*MariaDB, error) {
		return startMariaDB(ctx, bins[0], bins[1])
	})
}

// Options that make a throw-away server fast; durability is not needed.
var mariaDBFastFlags = []string{
	"--innodb-flush-log-at-trx-commit=0",
	"--innodb-doublewrite=0",
	"--innodb-flush-method=nosync",
	"--innodb-buffer-pool-size=64M",
}

func startMariaDB(ctx context.Context, mariadbd, installDB string, extra ...string) (*MariaDB, error) {
	return retryStart(func() (*MariaDB, error) {
		dir, err := newStateDir("mariadb")
		if err != nil {
			return nil, err
		}
		m, err := launchMariaDB(ctx, mariadbd, installDB, dir, extra)
		if err != nil {
			removeStateDir(dir)
			return nil, err
		}
		return m, nil
	})
}

func launchMariaDB(ctx context.Context, mariadbd, installDB, dir string, extra []string) (*MariaDB, error) {
	m := &MariaDB{
		Host:         "127.0.0.1",
		RootUser:     MariaDBRootUser,
		RootPassword: MariaDBRootPassword,
		DataDir:      filepath.Join(dir, "data"),
		Dir:          dir,
	}
	if err := m.setSocketPath(); err != nil {
		return nil, err
	}
	var userFlag []string
	if os.Geteuid() == 0 {
		userFlag = []string{"--user=root"} // mariadbd refuses to run as root otherwise
	}
	if err := m.installDB(ctx, installDB, userFlag); err != nil {
		m.removeSocketDir()
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		m.removeSocketDir()
		return nil, err
	}
	m.Port = port
	args := append([]string{"--no-defaults"}, userFlag...) // --no-defaults must come first
	args = append(args,
		"--datadir="+m.DataDir,
		"--socket="+m.Socket,
		"--pid-file="+filepath.Join(dir, "mariadbd.pid"),
		"--tmpdir="+dir,
		"--port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--skip-name-resolve",
		"--log-bin=mysql-bin",
		"--binlog-format=ROW",
		"--server-id=1",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
	)
	args = append(args, mariaDBFastFlags...)
	args = append(args, extra...)
	m.mariadbd, m.args = mariadbd, args
	m.proc, err = startProcess(binMariaDB, filepath.Join(dir, "mariadbd.log"), nil, mariadbd, args...)
	if err != nil {
		m.removeSocketDir()
		return nil, err
	}
	if err := m.bootstrap(ctx); err != nil {
		m.proc.stop(mariaDBStopGrace)
		m.removeSocketDir()
		return nil, err
	}
	track(m)
	return m, nil
}

// setSocketPath puts the socket in Dir unless the path would exceed the
// 107-byte limit of unix socket paths (a long $TMPDIR).
func (m *MariaDB) setSocketPath() error {
	m.Socket = filepath.Join(m.Dir, "mysqld.sock")
	if len(m.Socket) < 100 {
		return nil
	}
	d, err := os.MkdirTemp("/tmp", "mdb")
	if err != nil {
		return fmt.Errorf("creating socket directory: %w", err)
	}
	m.socketDir, m.Socket = d, filepath.Join(d, "s")
	return nil
}

func (m *MariaDB) removeSocketDir() {
	if m.socketDir != "" {
		_ = os.RemoveAll(m.socketDir)
	}
}

// installDB creates the system tables in DataDir.
func (m *MariaDB) installDB(ctx context.Context, installDB string, userFlag []string) error {
	logPath := filepath.Join(m.Dir, "install-db.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating install log: %w", err)
	}
	defer logf.Close()
	args := append([]string{"--no-defaults"}, userFlag...)
	args = append(args,
		"--datadir="+m.DataDir,
		// Every mariadbd, the install's bootstrap server too, deletes all
		// "#sql*" files in its tmpdir when it starts (mysql_rm_tmp_tables).
		// With the default /tmp, one install starting removes the temporary
		// tables of another mid-bootstrap, which aborts with "Unknown table
		// 'mysql.tmp_user_sys'". Each install uses its own state directory.
		"--tmpdir="+m.Dir,
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
	)
	args = append(args, mariaDBFastFlags...)
	cmd := exec.CommandContext(ctx, installDB, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = StartCommand(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return fmt.Errorf("mariadb-install-db: %w\n--- last lines of %s ---\n%s", err, logPath, logTail(logPath, 30))
	}
	return nil
}

// bootstrap waits for the server, gives root its password and opens the
// admin connection over TCP.
func (m *MariaDB) bootstrap(ctx context.Context) error {
	sockCfg := mysql.NewConfig()
	sockCfg.User, sockCfg.Net, sockCfg.Addr = m.RootUser, "unix", m.Socket
	sockCfg.Timeout = 2 * time.Second
	sockDB, err := sql.Open("mysql", sockCfg.FormatDSN())
	if err != nil {
		return fmt.Errorf("opening MariaDB socket connection: %w", err)
	}
	defer sockDB.Close()
	if err := m.proc.waitReady(ctx, 100*time.Millisecond, sockDB.PingContext); err != nil {
		return err
	}
	// mariadb-install-db created root@localhost, root@127.0.0.1, root@::1 and
	// root@<hostname>, all without a password.
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		q := fmt.Sprintf("ALTER USER IF EXISTS 'root'@'%s' IDENTIFIED BY '%s'", host, m.RootPassword)
		if _, err := sockDB.ExecContext(ctx, q); err != nil {
			return m.proc.startError(fmt.Errorf("setting the root password: %w", err))
		}
	}
	if m.db, err = sql.Open("mysql", m.DSN("")); err != nil {
		return fmt.Errorf("opening MariaDB TCP connection: %w", err)
	}
	m.db.SetMaxOpenConns(4)
	if err := m.db.PingContext(ctx); err != nil {
		m.db.Close()
		return m.proc.startError(fmt.Errorf("connecting as root over TCP: %w", err))
	}
	return nil
}

// Addr returns "127.0.0.1:<Port>".
func (m *MariaDB) Addr() string { return net.JoinHostPort(m.Host, strconv.Itoa(m.Port)) }

// PID is the server process's id (for benchmarks that read its CPU time).
func (m *MariaDB) PID() int { return m.proc.pid() }

// DSN returns a go-sql-driver/mysql data source name for root over TCP,
// "root:<password>@tcp(127.0.0.1:<port>)/<db>"; db may be empty. Append
// "?param=value" for driver options.
func (m *MariaDB) DSN(db string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", m.RootUser, m.RootPassword, m.Addr(), db)
}

// Database creates a database named tf_acc_test_<random> (utf8mb4) and drops
// it on t.Cleanup.
func (m *MariaDB) Database(t testing.TB) string {
	t.Helper()
	name := UniqueName("tf_acc_test_", 8)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := m.db.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("testenv: creating database on %s: %v", m.Addr(), err)
	}
	t.Cleanup(func() {
		if m.proc.exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := m.db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Logf("testenv: dropping database %s: %v", name, err)
		}
	})
	return name
}

// Snapshot copies the data directory (databases and binary logs) as a
// disk snapshot takes it: the server is frozen (SIGSTOP) while it is
// copied and resumed after, so the copy is what a power cut at that
// moment would leave. It returns the copy's directory, for CrashRestart.
func (m *MariaDB) Snapshot(t testing.TB) string {
	t.Helper()
	m.snapshots++
	to := filepath.Join(m.Dir, "snapshot-"+strconv.Itoa(m.snapshots))
	pid := m.proc.pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("testenv: freezing MariaDB (pid %d) for a snapshot: %v", pid, err)
	}
	out, err := exec.CommandContext(t.Context(), "cp", "-a", m.DataDir, to).CombinedOutput()
	if cerr := syscall.Kill(pid, syscall.SIGCONT); cerr != nil {
		t.Fatalf("testenv: resuming MariaDB (pid %d) after a snapshot: %v", pid, cerr)
	}
	if err != nil {
		t.Fatalf("testenv: copying %s for a snapshot: %v: %s", m.DataDir, err, out)
	}
	return to
}

// CrashRestart kills the server (SIGKILL: a crash), puts a copy of the
// data directory from (a Snapshot) in place of its own when from is not
// empty, and starts it again with the same options, port and socket: a
// server restored from a disk snapshot, which recovers from the crash
// and opens a new binary log.
func (m *MariaDB) CrashRestart(t testing.TB, from string) {
	t.Helper()
	_ = m.proc.cmd.Process.Kill()
	<-m.proc.done
	if from != "" {
		if err := os.RemoveAll(m.DataDir); err != nil {
			t.Fatalf("testenv: removing the crashed server's data directory: %v", err)
		}
		if out, err := exec.CommandContext(t.Context(), "cp", "-a", from, m.DataDir).CombinedOutput(); err != nil {
			t.Fatalf("testenv: restoring %s from %s: %v: %s", m.DataDir, from, err, out)
		}
	}
	var err error
	if m.proc, err = startProcess(binMariaDB, filepath.Join(m.Dir, "mariadbd.log"), nil, m.mariadbd, m.args...); err != nil {
		t.Fatalf("testenv: starting MariaDB again: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), mariaDBStartTimeout)
	defer cancel()
	if err := m.proc.waitReady(ctx, 100*time.Millisecond, m.db.PingContext); err != nil {
		t.Fatalf("testenv: MariaDB after a crash: %v", err)
	}
}

// LogTail returns the last n lines of the server log.
func (m *MariaDB) LogTail(n int) string { return m.proc.tail(n) }

// Stop shuts the server down and removes its files. It is idempotent.
func (m *MariaDB) Stop() {
	m.stopOnce.Do(func() {
		untrack(m)
		if m.db != nil {
			m.db.Close()
		}
		m.proc.stop(mariaDBStopGrace)
		m.removeSocketDir()
		removeStateDir(m.Dir)
	})
}
