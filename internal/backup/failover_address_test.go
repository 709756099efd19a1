package backup_test

import (
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// switchProxy is one TCP address in front of a server that can change: the
// name or virtual IP a managed database keeps while a failover moves it to
// another server. A switch cuts every open connection, as the old
// primary's going away does.
type switchProxy struct {
	ln      net.Listener
	port    int
	mu      sync.Mutex
	backend string
	conns   []net.Conn
}

func startSwitchProxy(t *testing.T, backend string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, backend: backend}
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			to := p.backend
			p.mu.Unlock()
			s, err := net.Dial("tcp", to)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
			go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
		}
	}()
	return p
}

func (p *switchProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// switchTo sends new connections to backend and cuts the open ones.
func (p *switchProxy) switchTo(backend string) {
	p.mu.Lock()
	p.backend = backend
	p.mu.Unlock()
	p.cut()
}

// TestFailoverBehindTheSameAddress: one archiver, and the address it was
// given moves from the old primary to a new one (RDS's and Cloud SQL's
// endpoints, a DNS name or a VIP after a failover: here a proxy whose
// backend is switched). Both servers number their files from
// mysql-bin.000001. The archiver finds the new server's identity when its
// stream is cut and archives it under the new server's own folder: the old
// primary's archived files stay byte for byte, its window does not advance
// past the switch, and what the new primary writes afterwards is archived.
func TestFailoverBehindTheSameAddress(t *testing.T) {
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	primary := startSecondMariaDB(t)
	ne := &env{t: t, db: primary, moto: e.moto, s3: e.s3}
	// The same account on both, as replication keeps it.
	for _, d := range []*env{e, ne} {
		exec(t, d.sql(""), "CREATE OR REPLACE USER 'failover_archiver'@'%' IDENTIFIED BY 'same-on-both'") // the shared server keeps it between runs (-count)
		exec(t, d.sql(""), "GRANT ALL ON *.* TO 'failover_archiver'@'%'")
	}
	oldAddr := net.JoinHostPort(e.db.Host, strconv.Itoa(e.db.Port))
	px := startSwitchProxy(t, oldAddr)
	srv := backup.MySQLServer{Host: "127.0.0.1", Port: px.port, User: "failover_archiver", Password: "same-on-both"}
	dest := e.store(e.bucket(), "same-address/")
	ctx := ctxTimeout(t, 3*time.Minute)
	a := &backup.Archiver{Server: srv, Dest: dest, WorkDir: filepath.Join(t.TempDir(), "binlogs"), FlushInterval: 300 * time.Millisecond, Log: testLogger(t), Keys: testKeys()}
	stop := archiving(t, a)

	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE events (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO events VALUES (1)")
	exec(t, e.sql(""), "FLUSH BINARY LOGS")
	exec(t, e.sql(db), "INSERT INTO events VALUES (2)")
	var oldKey string
	eventually(t, 30*time.Second, "the old primary's files archived", func() bool {
		oldKey = a.ServerKey()
		objs, err := dest.List(ctx, "binlogs/"+oldKey+"/")
		return err == nil && len(objs) >= 5 // two files, their scans, the status
	})
	time.Sleep(time.Second) // a few more flushes
	oldBytes := map[string]string{}
	objs, err := dest.List(ctx, "binlogs/"+oldKey+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		// The status (and its signature) is rewritten up to the failover.
		if !strings.HasSuffix(o.Key, "/status.json") && !strings.HasSuffix(o.Key, "/status.json.sig") {
			oldBytes[o.Key] = string(readAll(t, dest, o.Key))
		}
	}

	switched := time.Now().UTC()
	px.switchTo(net.JoinHostPort(primary.Host, strconv.Itoa(primary.Port)))
	ndb := primary.Database(t)
	exec(t, ne.sql(ndb), "CREATE TABLE events (id INT PRIMARY KEY)")
	exec(t, ne.sql(ndb), "INSERT INTO events VALUES (3)")
	exec(t, ne.sql(""), "FLUSH BINARY LOGS")
	exec(t, ne.sql(ndb), "INSERT INTO events VALUES (4)")
	var newKey string
	eventually(t, 60*time.Second, "the new primary archived under its own folder", func() bool {
		newKey = a.ServerKey()
		if newKey == oldKey {
			return false
		}
		objs, err := dest.List(ctx, "binlogs/"+newKey+"/")
		return err == nil && len(objs) >= 5
	})
	time.Sleep(time.Second)
	stop()

	for k, v := range oldBytes {
		if got := string(readAll(t, dest, k)); got != v {
			t.Errorf("%s changed after the failover (%d → %d bytes): the new primary's file was written over the old primary's", k, len(v), len(got))
		}
	}
	var st backup.ArchiveStatus
	if err := json.Unmarshal(readAll(t, dest, "binlogs/"+oldKey+"/status.json"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Server != oldKey || st.CaughtUpAt.After(switched.Add(time.Second)) {
		t.Errorf("the old primary's status after the failover: server %s, caught up at %v (switched at %v): the new primary's position counted as the old one's", st.Server, st.CaughtUpAt, switched)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
