package backup

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestFlushKeepsAnotherServersFileOut: the stream may have reached another
// server than the one identified just before it started (a failover in
// between). A file whose events come from another server_id, while
// another server answers at the address, is not uploaded into the
// archived server's folder; the same file is uploaded once the archived
// server is the one that answers.
func TestFlushKeepsAnotherServersFileOut(t *testing.T) {
	ctx := t.Context()
	m, a, dest := flushArchiver(t)
	put := func() {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(m.DataDir, "mysql-bin.000001"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(a.workDir(), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(a.workDir(), "mysql-bin.000001"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Identified as server_id 9 before the stream started; server_id 1
	// answers now, and wrote the file the stream received.
	a.setServer(serverInfo{MariaDB: true, ServerID: 9})
	a.startServer(ctx)
	put()
	if err := a.flush(ctx, map[string]int64{}, false); !errors.Is(err, errOtherServer) {
		t.Errorf("flush of another server's file: %v, want errOtherServer", err)
	}
	if objs, err := dest.List(ctx, binlogsDir); err != nil || len(objs) != 0 {
		t.Errorf("archived under server_id 9's folder: %v %v", objs, err)
	}

	// The server that answers is the one archived: its file is archived.
	si, err := a.identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.setServer(si)
	a.startServer(ctx)
	put()
	if err := a.flush(ctx, map[string]int64{}, false); err != nil {
		t.Fatal(err)
	}
	if objs, err := dest.List(ctx, serverBinlogDir(si.Key())); err != nil || len(objs) == 0 {
		t.Errorf("the archived server's own file was not archived: %v %v", objs, err)
	}
}

// withServerID is a copy of a binlog file whose first event (the format
// description) says server_id id, its checksum recomputed: a file another
// server wrote.
func withServerID(t *testing.T, b []byte, id uint32) []byte {
	t.Helper()
	out := append([]byte(nil), b...)
	ev := out[4:]
	length := binary.LittleEndian.Uint32(ev[9:13])
	binary.LittleEndian.PutUint32(ev[5:9], id)
	c := crc32.NewIEEE()
	c.Write(ev[:length-4])
	binary.LittleEndian.PutUint32(ev[length-4:length], c.Sum32())
	return out
}

// While another server answers, the archived server's own files still go
// up, whatever sorts before them: a foreign mysql-bin.000001 does not keep
// the archived server's mysql-bin.000002 from its folder (a flush that
// stopped at the first foreign file left it behind, and the work
// directory was then removed).
func TestFlushUploadsTheServersFilesPastAForeignOne(t *testing.T) {
	ctx := t.Context()
	m, a, dest := flushArchiver(t)
	a.setServer(serverInfo{MariaDB: true, ServerID: 9})
	a.startServer(ctx)
	b, err := os.ReadFile(filepath.Join(m.DataDir, "mysql-bin.000001"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(a.workDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"mysql-bin.000001": b, "mysql-bin.000002": withServerID(t, b, 9)} {
		if err := os.WriteFile(filepath.Join(a.workDir(), name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.flush(ctx, map[string]int64{}, true); !errors.Is(err, errOtherServer) {
		t.Errorf("flush: %v, want errOtherServer", err)
	}
	objs, err := dest.List(ctx, serverBinlogDir(a.server))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	if got := strings.Join(keys, " "); !strings.Contains(got, "mysql-bin.000002") || strings.Contains(got, "mysql-bin.000001") {
		t.Errorf("archived under %s: %s; want its own mysql-bin.000002 and not the other server's mysql-bin.000001", a.server, got)
	}
}

// flushArchiver is an archiver of a private MariaDB (whose own files the
// tests read) with a file:// destination, not running: the tests call
// flush themselves.
func flushArchiver(t *testing.T) (*testenv.MariaDB, *Archiver, Store) {
	t.Helper()
	m := testenv.StartMariaDB(t)
	dest, err := (Clients{}).Open(t.Context(), StoreConfig{URL: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return m, &Archiver{Server: MySQLServer{Host: m.Host, Port: m.Port, User: m.RootUser, Password: m.RootPassword},
		Dest: dest, WorkDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)}, dest
}
