package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseArchiveFolder(t *testing.T) {
	for _, c := range []struct {
		folder, server string
		opened         int64
		preserved      bool
	}{
		{"mariadb-0-1", "mariadb-0-1", 0, false},
		{"mysql-3e11fa47-71ca-11e1-9e33-c80aa9429562", "mysql-3e11fa47-71ca-11e1-9e33-c80aa9429562", 0, false},
		{"mariadb-0-1~1700000000", "mariadb-0-1", 1700000000, true},
		{"mariadb-0-1~0", "mariadb-0-1", 0, true},
		{"mariadb-0-1~", "mariadb-0-1~", 0, false},
		{"mariadb-0-1~abc", "mariadb-0-1~abc", 0, false},
		{"mariadb-0-1~-5", "mariadb-0-1~-5", 0, false},
		{"mariadb-0-1~+5", "mariadb-0-1~+5", 0, false},
		{"mariadb-0-1~0017", "mariadb-0-1~0017", 0, false}, // not historyFolder's spelling
		{"mariadb-0-1~99999999999999999999", "mariadb-0-1~99999999999999999999", 0, false},
		{"~1700000000", "~1700000000", 0, false},
	} {
		server, opened, preserved := parseArchiveFolder(c.folder)
		if server != c.server || preserved != c.preserved || (preserved && opened.Unix() != c.opened) {
			t.Errorf("parseArchiveFolder(%q) = %q, %v, %v; want %q, %d, %v", c.folder, server, opened.Unix(), preserved, c.server, c.opened, c.preserved)
		}
	}
	at := time.Unix(1700000123, 999e6)
	if server, opened, ok := parseArchiveFolder(historyFolder("mariadb-0-1", at)); !ok || server != "mariadb-0-1" || opened.Unix() != at.Unix() {
		t.Errorf("historyFolder does not parse back: %q %v %v", server, opened, ok)
	}
}

// historyFile is a binlog file opened at opened by serverID, one insert
// later; rotate names the next file (a finished one) when set.
func historyFile(opened, serverID uint32, rotate string) []byte {
	return historyFileOf(opened, serverID, rotate, "INSERT INTO t VALUES (1)")
}

// historyFileOf is a binlog file opened at opened by serverID with one
// event a second for each statement; rotate as historyFile's.
func historyFileOf(opened, serverID uint32, rotate string, stmts ...string) []byte {
	fde := formatDescription(opened, 1)
	fde = binlogEvent(opened, binlogEventFormat, serverID, fde[binlogHeaderLen:len(fde)-4], true)
	evs := [][]byte{fde}
	for i, s := range stmts {
		evs = append(evs, binlogEvent(opened+1+uint32(i), 2, serverID, []byte(s), true))
	}
	if rotate != "" {
		body := append(make([]byte, binlogRotatePostLen), rotate...)
		evs = append(evs, binlogEvent(opened+1+uint32(len(stmts)), binlogEventRotate, serverID, body, true))
	}
	return binlogFileOf(evs...)
}

// The archiver tells a file of another history by its format
// description (when it was opened, by which server_id), by bytes that
// part from the archived copy's or by ending before it once the stream
// is done with it (a server restored from a disk snapshot), or, for a
// name the archive lacks, by a number below the archive's newest. A local
// copy an earlier run left is never uploaded over an archived copy
// holding more or other bytes, and tells nothing.
func TestOtherHistory(t *testing.T) {
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	a := &Archiver{Dest: dest, server: "mariadb-0-1"}
	// The archived copy was taken from the disk while the server wrote
	// it: its format description carries the in-use flag, which the
	// server clears in place when it closes the file (and its dump
	// thread in what it sends).
	archivedCopy := historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2")
	archivedCopy[len(binlogMagic)+binlogFlagsOffset] |= binlogFlagInUse
	if err := dest.Put(ctx, serverBinlogDir(a.server)+"mysql-bin.000003", bytes.NewReader(archivedCopy)); err != nil {
		t.Fatal(err)
	}
	archived, err := archivedFiles(ctx, dest, a.server)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		what, name string
		local      []byte
		finished   bool
		start      string
		want       historyVerdict
	}{
		{"grew", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2", "INSERT 3"), false, "", sameHistory},
		{"closed since: only the in-use flag differs", "mysql-bin.000003", historyFileOf(1000, 1, "mysql-bin.000004", "INSERT 1", "INSERT 2"), true, "", sameHistory},
		{"as long", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2"), false, "", sameHistory},
		{"opened later: RESET MASTER", "mysql-bin.000003", historyFile(2000, 1, ""), false, "", newHistory},
		{"another server_id", "mysql-bin.000003", historyFile(1000, 7, ""), false, "", newHistory},
		{"rolled back: other events under the same name", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 9", "INSERT 10"), false, "", newHistory},
		{"rolled back: shorter, and the stream moved past it", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1"), true, "", newHistory},
		{"shorter while still received", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1"), false, "", notYet},
		{"shorter while still received, and already parting: RESET MASTER in the same second", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 9"), false, "", newHistory},
		{"a leftover shorter than the archived copy", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1"), false, "mysql-bin.000004", staleCopy},
		{"a leftover with other bytes", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 9"), true, "mysql-bin.000004", staleCopy},
		{"a leftover holding more", "mysql-bin.000003", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2", "INSERT 3"), false, "mysql-bin.000004", sameHistory},
		{"numbered below the archive's newest", "mysql-bin.000001", historyFile(2000, 1, ""), false, "", newHistory},
		{"the next file", "mysql-bin.000004", historyFile(1100, 1, ""), false, "", sameHistory},
		{"another basename", "other-bin.000001", historyFile(2000, 1, ""), false, "", sameHistory},
		// A local copy an earlier run left behind, numbered below where
		// this stream started, which retention pruned from the archive:
		// not a reset (before, a restart after a prune moved the whole
		// history).
		{"a pruned leftover", "mysql-bin.000001", historyFile(900, 1, ""), false, "mysql-bin.000003", sameHistory},
	} {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, c.local, 0o600); err != nil {
			t.Fatal(err)
		}
		sc, err := scanBinlog(c.name, bytes.NewReader(c.local))
		if err != nil {
			t.Fatal(err)
		}
		a.streamStart, a.compared = c.start, nil
		got, why, err := a.otherHistory(ctx, c.name, path, &binlogScan{BinlogFile: *sc}, archived, c.finished)
		if err != nil || got != c.want || (got == newHistory) == (why == "") {
			t.Errorf("%s: otherHistory = %v (%q), %v; want %v", c.what, got, why, err, c.want)
		}
	}
}

// While the current folder is empty, a server file that a preserved
// history holds whole or cut short (a rollback's snapshot kept it) is
// left to that history once the stream is done with it; one with other
// or more bytes, or opened otherwise, is the server's own.
func TestHeldInPreserved(t *testing.T) {
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	a := &Archiver{Dest: dest, server: "mariadb-0-1"}
	kept := historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2")
	for folder, b := range map[string][]byte{historyFolder(a.server, time.Unix(1000, 0)): kept, "mariadb-0-2~1000": historyFileOf(1000, 2, "", "INSERT 1", "INSERT 2")} {
		if err := dest.Put(ctx, serverBinlogDir(folder)+"mysql-bin.000003", bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	preserved, err := a.preservedFiles(ctx)
	if err != nil || len(preserved) != 1 {
		t.Fatalf("preservedFiles = %v, %v; want the one file of %s's preserved history", preserved, err, a.server)
	}
	dir := t.TempDir()
	for _, c := range []struct {
		what       string
		local      []byte
		finished   bool
		held, wait bool
	}{
		{"cut short by the snapshot", historyFileOf(1000, 1, "", "INSERT 1"), true, true, false},
		{"the whole of it", kept, true, true, false},
		{"a prefix while still received", historyFileOf(1000, 1, "", "INSERT 1"), false, false, true},
		{"other bytes", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 9"), true, false, false},
		{"more bytes", historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2", "INSERT 3"), true, false, false},
		{"opened later", historyFileOf(1001, 1, "", "INSERT 1"), true, false, false},
	} {
		path := filepath.Join(dir, "mysql-bin.000003")
		if err := os.WriteFile(path, c.local, 0o600); err != nil {
			t.Fatal(err)
		}
		sc, err := scanBinlog("mysql-bin.000003", bytes.NewReader(c.local))
		if err != nil {
			t.Fatal(err)
		}
		a.compared = nil
		held, wait, err := a.heldInPreserved(ctx, "mysql-bin.000003", path, &binlogScan{BinlogFile: *sc}, preserved, c.finished)
		if err != nil || held != c.held || wait != c.wait {
			t.Errorf("%s: heldInPreserved = %v, %v, %v; want %v, %v", c.what, held, wait, err, c.held, c.wait)
		}
	}
}

// A file the current folder lacks and no preserved history holds is of
// an earlier course when it was opened before the last file of the
// newest preserved history (retention removed it before a rollback);
// one opened in that second or later may be the new course's first.
func TestOlderThanPreserved(t *testing.T) {
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	a := &Archiver{Dest: dest, server: "mariadb-0-1"}
	scanOf := func(opened uint32) *binlogScan {
		sc, err := scanBinlog("mysql-bin.000001", bytes.NewReader(historyFileOf(opened, 1, "", "INSERT 1")))
		if err != nil {
			t.Fatal(err)
		}
		return &binlogScan{BinlogFile: *sc}
	}
	if older, err := a.olderThanPreserved(ctx, scanOf(900), []ObjectInfo{}); err != nil || older {
		t.Errorf("without a preserved history: olderThanPreserved = %v, %v; want false", older, err)
	}
	// Two preserved courses: the older's last file opened at 1200, the
	// newer's (oldest at 1300) at 1500; another server's at 2000.
	for key, opened := range map[string]uint32{
		serverBinlogDir(historyFolder(a.server, time.Unix(1000, 0))) + "mysql-bin.000004":      1200,
		serverBinlogDir(historyFolder(a.server, time.Unix(1300, 0))) + "mysql-bin.000003":      1300,
		serverBinlogDir(historyFolder(a.server, time.Unix(1300, 0))) + "mysql-bin.000005":      1500,
		serverBinlogDir(historyFolder("mariadb-0-2", time.Unix(1900, 0))) + "mysql-bin.000009": 2000,
	} {
		if err := dest.Put(ctx, key, bytes.NewReader(historyFileOf(opened, 1, "", "INSERT 1"))); err != nil {
			t.Fatal(err)
		}
	}
	preserved, err := a.preservedFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		opened uint32
		older  bool
	}{{900, true}, {1250, true}, {1499, true}, {1500, false}, {1501, false}, {1999, false}} {
		older, err := a.olderThanPreserved(ctx, scanOf(c.opened), preserved)
		if err != nil || older != c.older {
			t.Errorf("a file opened at %d: olderThanPreserved = %v, %v; want %v (the newest preserved course's last file was opened at 1500)", c.opened, older, err, c.older)
		}
	}
}

// A backup whose file the current folder does not hold (yet: the
// archiver lags, or a gap) is never given the chain of an earlier course
// that holds a file of that name, when the current course began before the
// backup's snapshot. Found by a review of the first version of the fix for
// stray files in the current folder, which skipped the current folder
// whenever a preserved history held the backup's file.
func TestBackupChainNeverTakesAnEarlierCoursesNamesake(t *testing.T) {
	ctx := t.Context()
	const server = "mariadb-0-1"
	for _, c := range []struct {
		what      string
		preserved map[string][]byte // in server~1000
		current   map[string][]byte
		file      string
		snapshot  int64
	}{
		{"after RESET MASTER (course 2 began at 2000)", map[string][]byte{
			"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"),
			"mysql-bin.000002": historyFile(1100, 1, "mysql-bin.000003"),
			"mysql-bin.000003": historyFile(1200, 1, ""),
		}, map[string][]byte{
			"mysql-bin.000001": historyFile(2000, 1, "mysql-bin.000002"),
			"mysql-bin.000002": historyFile(2100, 1, "mysql-bin.000003"),
		}, "mysql-bin.000003", 2250},
		{"after a rollback (the new course's 000004 opened at 2000)", map[string][]byte{
			"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"),
			"mysql-bin.000002": historyFile(1100, 1, "mysql-bin.000003"),
			"mysql-bin.000003": historyFile(1200, 1, "mysql-bin.000004"),
			"mysql-bin.000004": historyFile(1300, 1, "mysql-bin.000005"),
			"mysql-bin.000005": historyFile(1400, 1, ""),
		}, map[string][]byte{
			"mysql-bin.000004": historyFile(2000, 1, "mysql-bin.000005"),
		}, "mysql-bin.000005", 2150},
		{"after a rollback, with a stray of the old course (000001, opened 900) first in the current folder", map[string][]byte{
			"mysql-bin.000002": historyFile(1000, 1, "mysql-bin.000003"),
			"mysql-bin.000003": historyFile(1300, 1, "mysql-bin.000004"),
			"mysql-bin.000004": historyFile(1400, 1, ""),
		}, map[string][]byte{
			"mysql-bin.000001": historyFile(900, 1, "mysql-bin.000002"),
			"mysql-bin.000004": historyFile(2000, 1, "mysql-bin.000005"),
		}, "mysql-bin.000005", 2150},
	} {
		dest := NewFileStore(t.TempDir())
		putFiles(t, dest, historyFolder(server, time.Unix(1000, 0)), c.preserved)
		putFiles(t, dest, server, c.current)
		archives, all, err := listArchives(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		m := &Manifest{ID: "b", SnapshotAt: time.Unix(c.snapshot, 0), MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: server, BinlogFile: c.file, BinlogPosition: 4}}
		ch, err := backupChain(ctx, archives, all, &scanner{dest: dest, cache: map[string]*BinlogFile{}}, m)
		var gap *GapError
		switch {
		case err == nil:
			t.Errorf("%s: a backup taken at %d in the current course's %s got the chain in %s, from its %s opened at %d: another course's events", c.what, c.snapshot, c.file, ch.Server, ch.Files[0].Name, ch.Files[0].CreatedAt.Unix())
		case !errors.As(err, &gap) || gap.Server != server:
			t.Errorf("%s: backupChain = %v; want a gap in the current folder %s (it does not hold %s)", c.what, err, server, c.file)
		}
	}
}

// A file of an earlier course in the current folder (retention had
// removed it from the archive before a rollback, and an archiver before
// olderThanPreserved uploaded the server's copy), opened before the
// preserved history began or in that second, neither makes a backup
// taken before the rollback look taken in the current course, nor ends
// the preserved history before it began.
func TestBackupChainSkipsAStrayOfAnEarlierCourse(t *testing.T) {
	ctx := t.Context()
	const server = "mariadb-0-1"
	for _, strayOpened := range []uint32{900, 1000} {
		dest := NewFileStore(t.TempDir())
		putFiles(t, dest, historyFolder(server, time.Unix(1000, 0)), map[string][]byte{
			"mysql-bin.000002": historyFile(1000, 1, "mysql-bin.000003"),
			"mysql-bin.000003": historyFile(1300, 1, ""),
		})
		putFiles(t, dest, server, map[string][]byte{
			"mysql-bin.000001": historyFile(strayOpened, 1, "mysql-bin.000002"),
			"mysql-bin.000003": historyFile(2000, 1, ""),
		})
		archives, all, err := listArchives(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		m := &Manifest{ID: "b", SnapshotAt: time.Unix(1100, 0), MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: server, BinlogFile: "mysql-bin.000002", BinlogPosition: 4}}
		ch, err := backupChain(ctx, archives, all, &scanner{dest: dest, cache: map[string]*BinlogFile{}}, m)
		if err != nil || ch.Server != historyFolder(server, time.Unix(1000, 0)) || ch.Gap != nil || len(ch.Files) != 2 {
			t.Errorf("a stray opened at %d: backupChain = %+v, %v; want the whole preserved course (000002, 000003)", strayOpened, ch, err)
		}
	}
}

// An object in the newest preserved history that does not read as a
// binlog (left there by hand) does not stop archiving: the last file that
// does is the one compared with.
func TestOlderThanPreservedSkipsAnUnreadableObject(t *testing.T) {
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	a := &Archiver{Dest: dest, server: "mariadb-0-1"}
	putFiles(t, dest, historyFolder(a.server, time.Unix(1000, 0)), map[string][]byte{
		"mysql-bin.000001":     historyFile(1000, 1, "mysql-bin.000002"),
		"mysql-bin.000002":     historyFile(1500, 1, ""),
		"mysql-bin.000002.bak": []byte("an operator's copy"),
	})
	preserved, err := a.preservedFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for opened, want := range map[uint32]bool{5000: false, 1400: true} {
		sc, err := scanBinlog("mysql-bin.000001", bytes.NewReader(historyFileOf(opened, 1, "", "INSERT 1")))
		if err != nil {
			t.Fatal(err)
		}
		if older, err := a.olderThanPreserved(ctx, &binlogScan{BinlogFile: *sc}, preserved); err != nil || older != want {
			t.Errorf("a file opened at %d: olderThanPreserved = %v, %v; want %v (the last readable file opened at 1500)", opened, older, err, want)
		}
	}
}

// streamStore is a file store that runs onList once, on the first
// listing of the binlog archive (what flush does after it listed the
// work directory and scanned the first new file), and counts what is
// read from it.
type streamStore struct {
	Store
	onList     func()
	read, gets atomic.Int64
}

func (s *streamStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if f := s.onList; f != nil && strings.HasPrefix(prefix, binlogsDir) {
		s.onList = nil
		f()
	}
	return s.Store.List(ctx, prefix)
}

func (s *streamStore) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	rc, o, err := s.Store.Get(ctx, key)
	if err == nil {
		s.gets.Add(1)
		rc = countingReader{rc, &s.read}
	}
	return rc, o, err
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// streamArchiver is an archiver of server_id 1 into a file store whose
// server does not answer (flush warns and goes on).
func streamArchiver(t *testing.T) (*Archiver, *streamStore) {
	dest := &streamStore{Store: NewFileStore(t.TempDir())}
	a := &Archiver{Server: MySQLServer{Host: "127.0.0.1", Port: 1, User: "x"}, Dest: dest, WorkDir: t.TempDir(), Log: slog.New(slog.DiscardHandler)}
	a.server, a.serverID = "mariadb-0-1", 1
	a.scans = map[string]*binlogScan{}
	a.status = ArchiveStatus{Server: a.server}
	if err := os.MkdirAll(a.workDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	return a, dest
}

// An archiver restarted while the server goes on (no rollback): the
// archive holds mysql-bin.000003 as of the last flush, a leftover
// .000004 is in the work directory (its upload failed), and the new
// stream receives .000003 again from its start. The flush scans .000003
// part-received; while it lists the archive, the stream finishes it and
// writes .000004 again. Found by a review: "finished" read the directory
// after the scan (and trusted file times, which a clock stepped back
// defeats), took the scanned part for the whole file, and moved the whole
// archive away as another history.
func TestFlushRacingTheStreamIsNoRollback(t *testing.T) {
	ctx := t.Context()
	a, dest := streamArchiver(t)
	x, x1 := "mysql-bin.000003", "mysql-bin.000004"
	if err := dest.Put(ctx, serverBinlogDir(a.server)+x, bytes.NewReader(historyFileOf(1000, 1, "", "INSERT 1", "INSERT 2"))); err != nil {
		t.Fatal(err)
	}
	wd := a.workDir()
	if err := os.WriteFile(filepath.Join(wd, x1), historyFile(1100, 1, ""), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute) // (a clock stepped back since)
	if err := os.Chtimes(filepath.Join(wd, x1), future, future); err != nil {
		t.Fatal(err)
	}
	uploaded := map[string]int64{}
	if err := a.beginStream(x, uploaded); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wd, x), historyFileOf(1000, 1, "", "INSERT 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	dest.onList = func() {
		if err := os.WriteFile(filepath.Join(wd, x), historyFileOf(1000, 1, x1, "INSERT 1", "INSERT 2", "INSERT 3"), 0o600); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(filepath.Join(wd, x1), historyFile(1100, 1, ""), 0o600); err != nil {
			t.Error(err)
		}
	}
	for i := range 2 {
		if err := a.flush(ctx, uploaded, false); err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
	}
	objs, err := dest.List(ctx, binlogsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if folder, _, _ := strings.Cut(strings.TrimPrefix(o.Key, binlogsDir), "/"); folder != a.server {
			t.Errorf("a restart of the same history moved %s", o.Key)
		}
	}
	if uploaded[x] == 0 || uploaded[x1] == 0 {
		t.Errorf("uploaded after two flushes: %v; want both files", uploaded)
	}
}

// A large archived file received again after a restart is compared with
// its archived copy a few times over, not on every flush (a review
// measured 5.5 times its size read back over ten flushes).
func TestNotYetReadsTheArchiveAFewTimes(t *testing.T) {
	ctx := t.Context()
	a, dest := streamArchiver(t)
	x := "mysql-bin.000003"
	stmts := make([]string, 256)
	for i := range stmts {
		stmts[i] = strings.Repeat("x", 64<<10)
	}
	full := historyFileOf(1000, 1, "", stmts...) // 16 MiB
	if err := dest.Put(ctx, serverBinlogDir(a.server)+x, bytes.NewReader(full)); err != nil {
		t.Fatal(err)
	}
	uploaded := map[string]int64{}
	if err := a.beginStream(x, uploaded); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		if err := os.WriteFile(filepath.Join(a.workDir(), x), full[:len(full)*i/10], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := a.flush(ctx, uploaded, false); err != nil {
			t.Fatal(err)
		}
	}
	if uploaded[x] != int64(len(full)) {
		t.Errorf("uploaded %d bytes of %s, want %d", uploaded[x], x, len(full))
	}
	if read := dest.read.Load(); read > 3*int64(len(full)) {
		t.Errorf("read %d MiB back from the archive (%d reads) for a %d MiB file received again", read>>20, dest.gets.Load(), len(full)>>20)
	}
}

// Two archivers of one server (a pod that outlived its replacement),
// after a rollback was preserved: both stream from the server's oldest
// file. The first leaves the files the snapshot kept to the preserved
// course and uploads the new course's first file; the second must do the
// same, not take the kept files, missing below the new course's first,
// for a reset. Found by a review: it moved the new course away, again
// on every flush, to ~<seconds> folders that cut the windows of backups
// taken in it.
func TestTwoArchiversAfterARollback(t *testing.T) {
	ctx := t.Context()
	x, dest := streamArchiver(t)
	y := &Archiver{Server: x.Server, Dest: dest, WorkDir: t.TempDir(), Log: x.Log}
	y.server, y.serverID = x.server, x.serverID
	y.scans = map[string]*binlogScan{}
	y.status = ArchiveStatus{Server: y.server}
	if err := os.MkdirAll(y.workDir(), 0o750); err != nil {
		t.Fatal(err)
	}
	pre := serverBinlogDir(historyFolder(x.server, time.Unix(1000, 0)))
	old := map[string][]byte{
		"mysql-bin.000001": historyFileOf(1000, 1, "mysql-bin.000002", "INSERT 1"),
		"mysql-bin.000002": historyFileOf(1100, 1, "", "INSERT 1", "INSERT 2"),
		"mysql-bin.000003": historyFileOf(1200, 1, "", "INSERT 3"),
	}
	for n, b := range old {
		if err := dest.Put(ctx, pre+n, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	// The rolled-back server: .000001 whole, .000002 cut short, .000003 new.
	server := map[string][]byte{
		"mysql-bin.000001": old["mysql-bin.000001"],
		"mysql-bin.000002": historyFileOf(1100, 1, "", "INSERT 1"),
		"mysql-bin.000003": historyFileOf(1300, 1, "", "INSERT 20"),
	}
	received := func(a *Archiver, uploaded map[string]int64) {
		t.Helper()
		if err := os.MkdirAll(a.workDir(), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := a.beginStream("mysql-bin.000001", uploaded); err != nil {
			t.Fatal(err)
		}
		for n, b := range server {
			if err := os.WriteFile(filepath.Join(a.workDir(), n), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	upx, upy := map[string]int64{}, map[string]int64{}
	received(x, upx)
	received(y, upy)
	for i, a := range []*Archiver{x, y, x, y} {
		up := upx
		if a == y {
			up = upy
		}
		if i == 2 {
			server["mysql-bin.000003"] = historyFileOf(1300, 1, "", "INSERT 20", "INSERT 21")
			received(y, upy)
			if err := os.WriteFile(filepath.Join(x.workDir(), "mysql-bin.000003"), server["mysql-bin.000003"], 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.flush(ctx, up, false); err != nil {
			t.Fatalf("flush %d: %v", i, err)
		}
	}
	objs, err := dest.List(ctx, binlogsDir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		if isBinlogObject(o.Key[strings.LastIndexByte(o.Key, '/')+1:]) {
			keys = append(keys, o.Key)
		}
	}
	want := []string{serverBinlogDir(x.server) + "mysql-bin.000003", pre + "mysql-bin.000001", pre + "mysql-bin.000002", pre + "mysql-bin.000003"}
	if !slices.Equal(keys, want) {
		t.Errorf("the archive after two archivers flushed twice each: %v\nwant %v", keys, want)
	}
	if sum, n, err := hashObject(ctx, dest, serverBinlogDir(x.server)+"mysql-bin.000003"); err != nil || !bytes.Equal(sum, sha(server["mysql-bin.000003"])) {
		t.Errorf("the new course's mysql-bin.000003 holds %d bytes (%v), want the server's %d", n, err, len(server["mysql-bin.000003"]))
	}
}

// A file the server closed by crashing (no rotate event) is removed from
// the work directory once archived, as a rotated one is: before, it was
// kept, and every later run read its archived copy back whole (the byte
// comparison) and uploaded it again, after retention too.
func TestCrashClosedFileIsRemovedOnceArchived(t *testing.T) {
	ctx := t.Context()
	a, dest := streamArchiver(t)
	x, x1, x2 := "mysql-bin.000003", "mysql-bin.000004", "mysql-bin.000005"
	wd := a.workDir()
	uploaded := map[string]int64{}
	if err := a.beginStream(x, uploaded); err != nil {
		t.Fatal(err)
	}
	for n, b := range map[string][]byte{
		x:  historyFileOf(1000, 1, "", "INSERT 1"), // no rotate: the server crashed in it
		x1: historyFileOf(1100, 1, x2, "INSERT 2"),
		x2: historyFileOf(1200, 1, "", "INSERT 3"),
	} {
		if err := os.WriteFile(filepath.Join(wd, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.flush(ctx, uploaded, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(wd, x)); err == nil {
		t.Errorf("%s (crash-closed, archived whole) is still in the work directory", x)
	}
	// The next run streams from the newest archived file.
	uploaded = map[string]int64{}
	if err := a.beginStream(x2, uploaded); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wd, x2), historyFileOf(1200, 1, "", "INSERT 3"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := dest.read.Load()
	if err := a.flush(ctx, uploaded, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := uploaded[x]; ok {
		t.Errorf("the next run uploaded %s again", x)
	}
	if read := dest.read.Load() - before; read > int64(len(historyFileOf(1200, 1, "", "INSERT 3")))+64<<10 {
		t.Errorf("the next run read %d bytes back from the archive", read)
	}
}

// faultStore fails the failAt-th Put (after reading part of it) or
// Delete, counting both, as a crash or a lost connection would.
type faultStore struct {
	Store
	ops, failAt int
}

var errFault = errors.New("connection lost (simulated)")

func (f *faultStore) fault() bool { f.ops++; return f.ops == f.failAt }

func (f *faultStore) Put(ctx context.Context, key string, r io.Reader) error {
	if f.fault() {
		_, _ = io.CopyN(io.Discard, r, 10)
		return errFault
	}
	return f.Store.Put(ctx, key, r)
}

func (f *faultStore) Delete(ctx context.Context, key string) error {
	if f.fault() {
		return errFault
	}
	return f.Store.Delete(ctx, key)
}

// contents is every object under prefix, key → SHA-256.
func contents(t *testing.T, s Store, prefix string) map[string]string {
	t.Helper()
	objs, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		sum, _, err := hashObject(t.Context(), s, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(o.Key, prefix)] = fmt.Sprintf("%x", sum)
	}
	return out
}

// Moving a history is copy, check, then delete: a failure at any write
// or delete leaves every object in one folder or the other, identical,
// and a rerun finishes the move to the same folder. The moved files'
// signatures still verify.
func TestPreserveHistoryCrashSafe(t *testing.T) {
	const server = "mariadb-0-1"
	keys := &Keys{HMAC: []byte("tf-acc-test-signing-key-0123456789abcdef")}
	files := map[string][]byte{
		"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"),
		"mysql-bin.000002": historyFile(1100, 1, ""),
	}
	for ops := 1; ; ops++ {
		ctx := t.Context()
		dest := NewFileStore(t.TempDir())
		for name, b := range files {
			a := &Archiver{Dest: dest, Keys: keys, server: server, scans: map[string]*binlogScan{}}
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			sc, err := a.scanLocal(name, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.upload(ctx, name, p, sc); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeStatus(ctx, dest, ArchiveStatus{Server: server}, keys); err != nil {
			t.Fatal(err)
		}
		orig := contents(t, dest, serverBinlogDir(server))
		want := historyFolder(server, time.Unix(1000, 0))

		_, _, err := preserveHistory(ctx, &faultStore{Store: dest, failAt: ops}, server)
		if err == nil {
			if moved := len(orig) - 2; ops <= 2*moved { // the status stays
				t.Fatalf("the move succeeded with operation %d failing; want a write and a delete of each of its %d objects", ops, moved)
			}
			break // every write and delete was tried to fail
		}
		if !errors.Is(err, errFault) {
			t.Fatalf("failing operation %d: %v", ops, err)
		}
		src, dst := contents(t, dest, serverBinlogDir(server)), contents(t, dest, serverBinlogDir(want))
		for k, sum := range orig {
			if src[k] != sum && dst[k] != sum {
				t.Fatalf("failing operation %d lost %s: it is in neither folder", ops, k)
			}
		}
		folder, _, err := preserveHistory(ctx, dest, server)
		if err != nil || folder != want {
			t.Fatalf("the rerun after failing operation %d: %q, %v; want the move to %s finished", ops, folder, err, want)
		}
		src, dst = contents(t, dest, serverBinlogDir(server)), contents(t, dest, serverBinlogDir(want))
		for k, sum := range orig {
			if k == statusObject || k == statusObject+sigSuffix {
				if src[k] != sum || dst[k] != "" {
					t.Errorf("after failing operation %d and a rerun: the status moved", ops)
				}
				continue
			}
			if dst[k] != sum || src[k] != "" {
				t.Errorf("after failing operation %d and a rerun: %s is in %s: %v, still in %s: %v", ops, k, want, dst[k] == sum, server, src[k] != "")
			}
		}
		for name := range files {
			if _, err := fetchVerified(ctx, dest, keys, server, serverBinlogDir(want)+name, filepath.Join(t.TempDir(), name)); err != nil {
				t.Errorf("the moved %s does not verify: %v", name, err)
			}
		}
	}
}

// A preserved copy is never overwritten. A folder that holds anything
// already (a history preserved before with the same oldest file: one
// that parted from it after a rollback) is not chosen: the move goes to
// the next free second. A move under way whose folder holds another copy
// stops before deleting anything.
func TestPreserveHistoryNeverOverwrites(t *testing.T) {
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	const server = "mariadb-0-1"
	b := historyFile(1000, 1, "")
	if err := dest.Put(ctx, serverBinlogDir(server)+"mysql-bin.000001", bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	taken := historyFolder(server, time.Unix(1000, 0))
	other := serverBinlogDir(taken) + "mysql-bin.000001"
	if err := dest.Put(ctx, other, strings.NewReader("something else")); err != nil {
		t.Fatal(err)
	}
	if err := dest.Put(ctx, serverBinlogDir(server)+movingMarker, strings.NewReader(taken)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := preserveHistory(ctx, dest, server); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("finishing a move onto a different copy: %v, want a refusal", err)
	}
	if sum, _, err := hashObject(ctx, dest, serverBinlogDir(server)+"mysql-bin.000001"); err != nil || !bytes.Equal(sum, sha(b)) {
		t.Errorf("the original was touched: %v", err)
	}
	if err := dest.Delete(ctx, serverBinlogDir(server)+movingMarker); err != nil {
		t.Fatal(err)
	}
	folder, _, err := preserveHistory(ctx, dest, server)
	if want := historyFolder(server, time.Unix(1001, 0)); err != nil || folder != want {
		t.Errorf("a move beside a taken folder: %q, %v; want %q", folder, err, want)
	}
	if sum, _, err := hashObject(ctx, dest, serverBinlogDir(folder)+"mysql-bin.000001"); err != nil || !bytes.Equal(sum, sha(b)) {
		t.Errorf("the moved copy: %v", err)
	}
	if got, _, _ := hashObject(ctx, dest, other); !bytes.Equal(got, sha([]byte("something else"))) {
		t.Error("the existing copy was overwritten")
	}
}

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// Backups find their chain in the history they were taken in: the
// current folder when its file was opened before the snapshot, else the
// newest preserved history opened before it.
func TestBackupChainPicksTheHistory(t *testing.T) {
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	const server = "mariadb-0-1"
	for folder, opened := range map[string]uint32{
		historyFolder(server, time.Unix(1000, 0)): 1000,
		historyFolder(server, time.Unix(2000, 0)): 2000,
		server: 3000,
	} {
		if err := dest.Put(ctx, serverBinlogDir(folder)+"mysql-bin.000001", bytes.NewReader(historyFile(opened, 1, ""))); err != nil {
			t.Fatal(err)
		}
	}
	archives, all, err := listArchives(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		snapshot int64
		want     string
	}{
		{1500, server + "~1000"},
		{2000, server + "~2000"},
		{2999, server + "~2000"},
		{3500, server},
		{500, server}, // before every history: the current folder's refusal
	} {
		m := &Manifest{ID: "b", SnapshotAt: time.Unix(c.snapshot, 0), MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: server, BinlogFile: "mysql-bin.000001", BinlogPosition: 4}}
		sc := &scanner{dest: dest, cache: map[string]*BinlogFile{}}
		ch, err := backupChain(ctx, archives, all, sc, m)
		var g *GapError
		switch {
		case c.snapshot < 1000:
			if !errors.As(err, &g) || !strings.Contains(g.Reason, "after backup") {
				t.Errorf("snapshot at %d: %v, want the refusal of the file opened after it", c.snapshot, err)
			}
		case err != nil || ch.Server != c.want:
			t.Errorf("snapshot at %d: chain in %v, %v; want %s", c.snapshot, ch, err, c.want)
		}
	}
}

// putFiles uploads name → contents under folder.
func putFiles(t *testing.T, dest Store, folder string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := dest.Put(t.Context(), serverBinlogDir(folder)+name, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
}

// A move stopped after deleting the newest files, the oldest then pruned
// (by hand here: retention leaves a moving server alone) is finished into
// the folder it began, named in its marker; before, the rerun named a
// folder after the oldest file left, splitting the history in two.
// Retention touches none of the server's folders while the marker is
// there.
func TestPreserveHistoryMarker(t *testing.T) {
	ctx := t.Context()
	const server = "mariadb-0-1"
	dest := NewFileStore(t.TempDir())
	putFiles(t, dest, server, map[string][]byte{
		"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"),
		"mysql-bin.000002": historyFile(1100, 1, "mysql-bin.000003"),
		"mysql-bin.000003": historyFile(1200, 1, ""),
	})
	want := historyFolder(server, time.Unix(1000, 0))
	// marker put, three copies, then the deletes: 000003, 000002, 000001.
	if _, _, err := preserveHistory(ctx, &faultStore{Store: dest, failAt: 1 + 3 + 2 + 1}, server); !errors.Is(err, errFault) {
		t.Fatalf("the move with its third delete failing: %v", err)
	}
	if folder, err := movingTo(ctx, dest, server); err != nil || folder != want {
		t.Fatalf("the marker after the stopped move: %q, %v; want %s", folder, err, want)
	}
	// Retention with a backup kept in the current folder's 000002 and a
	// clock past every lease: nothing goes while the move is under way.
	e := &Engine{Dest: dest}
	m := &Manifest{ID: "b", SnapshotAt: time.Unix(1150, 0), MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: server, BinlogFile: "mysql-bin.000002", BinlogPosition: 4}}
	before := contents(t, dest, binlogsDir)
	res := &RetentionResult{}
	if err := e.pruneBinlogs(ctx, []*Manifest{m}, time.Now().Add(24*time.Hour), res); err != nil {
		t.Fatal(err)
	}
	if after := contents(t, dest, binlogsDir); len(after) != len(before) || len(res.BinlogsRemoved) > 0 {
		t.Errorf("retention during a move removed %v", res.BinlogsRemoved)
	}
	if err := dest.Delete(ctx, serverBinlogDir(server)+"mysql-bin.000001"); err != nil {
		t.Fatal(err)
	}
	folder, _, err := preserveHistory(ctx, dest, server)
	if err != nil || folder != want {
		t.Fatalf("the rerun: %q, %v; want the move finished into %s", folder, err, want)
	}
	got := contents(t, dest, serverBinlogDir(want))
	for _, name := range []string{"mysql-bin.000001", "mysql-bin.000002", "mysql-bin.000003"} {
		if got[name] == "" {
			t.Errorf("%s is not in %s: %v", name, want, got)
		}
	}
	if left := contents(t, dest, serverBinlogDir(server)); len(left) != 0 {
		t.Errorf("left in the current folder: %v", left)
	}
}

// replacingStore uploads new contents at key (another archiver, after a
// reset, writing the new history) at the first Delete.
type replacingStore struct {
	Store
	key  string
	with []byte
	done bool
}

func (r *replacingStore) Delete(ctx context.Context, key string) error {
	if !r.done {
		r.done = true
		time.Sleep(1100 * time.Millisecond) // a later modification time, to the second
		if err := r.Put(ctx, r.key, bytes.NewReader(r.with)); err != nil {
			return err
		}
	}
	return r.Store.Delete(ctx, key)
}

// Two archivers: one finished the move and uploaded the new history's
// mysql-bin.000001 while the other was still moving; the other deletes
// only the objects it copied, not the new file of the same name.
func TestPreserveHistoryLeavesANewUpload(t *testing.T) {
	ctx := t.Context()
	const server = "mariadb-0-1"
	dest := NewFileStore(t.TempDir())
	putFiles(t, dest, server, map[string][]byte{
		"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"),
		"mysql-bin.000002": historyFile(1100, 1, ""),
	})
	fresh := historyFile(5000, 1, "")
	key := serverBinlogDir(server) + "mysql-bin.000001"
	if _, _, err := preserveHistory(ctx, &replacingStore{Store: dest, key: key, with: fresh}, server); err != nil {
		t.Fatal(err)
	}
	if sum, _, err := hashObject(ctx, dest, key); err != nil || !bytes.Equal(sum, sha(fresh)) {
		t.Errorf("the new history's mysql-bin.000001, uploaded during the move, was removed: %v", err)
	}
	if sum, _, err := hashObject(ctx, dest, serverBinlogDir(historyFolder(server, time.Unix(1000, 0)))+"mysql-bin.000001"); err != nil || !bytes.Equal(sum, sha(historyFile(1000, 1, "mysql-bin.000002"))) {
		t.Errorf("the old history's mysql-bin.000001 is not in the preserved folder: %v", err)
	}
}

// Signatures name the server and the file, not the history: a signed
// file of another history copied into a chain is refused — one opened
// before the last event of the file before it, one opened outside its
// folder's history — and the window ends before it.
func TestChainRefusesFilesOfAnotherHistory(t *testing.T) {
	const server = "mariadb-0-1"
	old := historyFolder(server, time.Unix(1000, 0))
	for _, c := range []struct {
		name     string
		folders  map[string]map[string][]byte
		file     string
		snapshot int64
		chainIn  string
		gapAfter string // "" when the chain's first file is refused
		want     string
	}{
		{"an older file after a newer one", map[string]map[string][]byte{
			server: {"mysql-bin.000001": historyFile(3000, 1, "mysql-bin.000002"), "mysql-bin.000002": historyFile(1100, 1, "")},
		}, "mysql-bin.000001", 3500, server, "mysql-bin.000001", "before the last event"},
		{"a newer history's file in a preserved one", map[string]map[string][]byte{
			old:    {"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"), "mysql-bin.000002": historyFile(2500, 1, "")},
			server: {"mysql-bin.000001": historyFile(2000, 1, "")},
		}, "mysql-bin.000001", 1500, old, "mysql-bin.000001", "outside that history"},
		{"a preserved history's file starting the current chain", map[string]map[string][]byte{
			old:    {"mysql-bin.000001": historyFile(1000, 1, "mysql-bin.000002"), "mysql-bin.000002": historyFile(1100, 1, "")},
			server: {"mysql-bin.000001": historyFile(2000, 1, "mysql-bin.000002"), "mysql-bin.000002": historyFile(1100, 1, "")},
		}, "mysql-bin.000002", 2500, server, "", "outside that history"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			dest := NewFileStore(t.TempDir())
			for folder, files := range c.folders {
				putFiles(t, dest, folder, files)
			}
			archives, all, err := listArchives(ctx, dest)
			if err != nil {
				t.Fatal(err)
			}
			m := &Manifest{ID: "b", SnapshotAt: time.Unix(c.snapshot, 0), MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: server, BinlogFile: c.file, BinlogPosition: 4}}
			ch, err := backupChain(ctx, archives, all, &scanner{dest: dest, cache: map[string]*BinlogFile{}}, m)
			var g *GapError
			if c.gapAfter == "" {
				if !errors.As(err, &g) || !strings.Contains(g.Reason, c.want) {
					t.Fatalf("backupChain: %v, %v; want its first file refused, saying %q", ch, err, c.want)
				}
				return
			}
			if err != nil || ch.Server != c.chainIn || ch.Gap == nil || ch.Gap.After != c.gapAfter || !strings.Contains(ch.Gap.Reason, c.want) {
				t.Fatalf("backupChain: %+v, %v; want the chain in %s to end after %s, saying %q", ch, err, c.chainIn, c.gapAfter, c.want)
			}
			if len(ch.Files) != 1 {
				t.Errorf("the chain holds %d files after the gap was found", len(ch.Files))
			}
		})
	}
}

// refusingStore refuses reads under prefix, as a verifying download of an
// unsigned file does.
type refusingStore struct {
	Store
	prefix string
}

func (r *refusingStore) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	if strings.HasPrefix(key, r.prefix) {
		return nil, ObjectInfo{}, fmt.Errorf("%w: %s", ErrUnsigned, key)
	}
	return r.Store.Get(ctx, key)
}

// A backup of an older history is restored without downloading (or
// verifying) the current history's file of the same name: choosing the
// history reads only that file's first events. Before, a restore
// downloaded and verified it, and its missing signature refused the
// restore of another history's backup.
func TestBackupChainChoosesWithoutTheCurrentFile(t *testing.T) {
	ctx := t.Context()
	const server = "mariadb-0-1"
	dest := NewFileStore(t.TempDir())
	old := historyFolder(server, time.Unix(1000, 0))
	putFiles(t, dest, old, map[string][]byte{"mysql-bin.000001": historyFile(1000, 1, "")})
	putFiles(t, dest, server, map[string][]byte{"mysql-bin.000001": historyFile(2000, 1, "")})
	archives, all, err := listArchives(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{ID: "b", SnapshotAt: time.Unix(1500, 0), MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: server, BinlogFile: "mysql-bin.000001", BinlogPosition: 4}}
	sc := &scanner{dest: &refusingStore{Store: dest, prefix: serverBinlogDir(server)}, raw: dest, cache: map[string]*BinlogFile{}}
	if ch, err := backupChain(ctx, archives, all, sc, m); err != nil || ch.Server != old {
		t.Fatalf("backupChain of a backup in %s: %v, %v", old, ch, err)
	}
}
