package backup

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// binlogSuccessor is the name a restarted server opens: the next number,
// printed with at least six digits.
func TestBinlogSuccessor(t *testing.T) {
	for name, want := range map[string]string{
		"mysql-bin.000001":   "mysql-bin.000002",
		"mysql-bin.000009":   "mysql-bin.000010",
		"mysql-bin.099999":   "mysql-bin.100000",
		"mysql-bin.999999":   "mysql-bin.1000000",
		"mysql-bin.1000000":  "mysql-bin.1000001",
		"mysql-bin.9999999":  "mysql-bin.10000000",
		"mysql-bin.0000041":  "mysql-bin.000042", // a wider padding: the server prints %06lu
		"host.example-bin.7": "host.example-bin.000008",
		"binlog.000000":      "binlog.000001",
	} {
		if got, ok := binlogSuccessor(name); !ok || got != want {
			t.Errorf("binlogSuccessor(%q) = %q, %v; want %q", name, got, ok, want)
		}
		// (binlogBefore orders the names servers write, not a padding wider
		// than the number needs.)
		if got, _ := binlogSuccessor(name); name != "mysql-bin.0000041" && !binlogBefore(name, got) {
			t.Errorf("binlogBefore does not order %s before its successor %s", name, got)
		}
	}
	for _, name := range []string{"", "mysql-bin", "mysql-bin.", "mysql-bin.00a001", "mysql-bin.-00001", "mysql-bin.+00001", "mysql-bin.99999999999999999999999"} {
		if got, ok := binlogSuccessor(name); ok {
			t.Errorf("binlogSuccessor(%q) = %q, want none", name, got)
		}
	}
}

// stopArchive is an archive of server mariadb-0-1 holding files (name →
// contents) and a backup whose binlog position is the first file's start,
// taken at snapshot.
func stopArchive(t *testing.T, files map[string][]byte, first string, snapshot time.Time) (Store, *Manifest) {
	t.Helper()
	ctx := t.Context()
	dest := NewFileStore(t.TempDir())
	for name, b := range files {
		if err := dest.Put(ctx, serverBinlogDir("mariadb-0-1")+name, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	m := &Manifest{Format: 2, ID: "20240101T000000Z-abcd", SnapshotAt: snapshot,
		MySQL: &MySQLManifest{ServerID: 1, ArchiveServer: "mariadb-0-1", BinlogFile: first, BinlogPosition: 4}}
	if err := writeManifest(ctx, dest, m, nil); err != nil {
		t.Fatal(err)
	}
	return dest, m
}

// A file that ends with a STOP event (the server shut down cleanly) must
// be followed by its successor, the file a restarted server opens. When
// the archiver was down across the restart and the server purged the
// successor meanwhile, the archive goes on from a later file: that is a
// gap (it was taken for continuity, and the window and a restore reached
// past the lost transactions). The successor itself, also across the
// six-digit boundary, is no gap.
func TestStopThenMissingSuccessorIsAGap(t *testing.T) {
	stopped := func(ts uint32) []byte {
		return binlogFileOf(formatDescription(ts, 1),
			binlogEvent(ts+10, 2, 1, []byte("INSERT INTO t VALUES (1)"), true),
			binlogEvent(ts+20, binlogEventStop, 1, nil, true))
	}
	after := func(ts uint32) []byte {
		return binlogFileOf(formatDescription(ts, 1), binlogEvent(ts+100, 2, 1, []byte("INSERT INTO t VALUES (3)"), true))
	}
	for _, c := range []struct {
		name, stopped, next, missing string
	}{
		{"a purged successor", "mysql-bin.000001", "mysql-bin.000003", "mysql-bin.000002"},
		{"a purged successor past 999999", "mysql-bin.999999", "mysql-bin.1000001", "mysql-bin.1000000"},
		{"a restart under another basename", "mysql-bin.000001", "other-bin.000002", "mysql-bin.000002"},
		{"the successor", "mysql-bin.000001", "mysql-bin.000002", ""},
		{"the successor past 999999", "mysql-bin.999999", "mysql-bin.1000000", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			dest, m := stopArchive(t, map[string][]byte{c.stopped: stopped(100), c.next: after(200)}, c.stopped, time.Unix(100, 0))
			stopAt, lastAt := time.Unix(120, 0).UTC(), time.Unix(300, 0).UTC()
			l, err := List(ctx, dest)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := l.RestoreWindow()
			_, rerr := (&Engine{Dest: dest}).binlogsUntil(ctx, m, lastAt, t.TempDir())
			if c.missing == "" {
				if w.Gap != nil || !w.Latest.Equal(lastAt) || !l.ArchivedUntil.Equal(lastAt) || rerr != nil {
					t.Fatalf("%s stopped, then %s: window %v..%v gap %v, archived until %v, restore --at its last event: %v; want no gap",
						c.stopped, c.next, w.Earliest, w.Latest, w.Gap, l.ArchivedUntil, rerr)
				}
				return
			}
			g := w.Gap
			if g == nil || g.After != c.stopped || g.Missing != c.missing || !g.Until.Equal(stopAt) {
				t.Fatalf("%s stopped, then %s: gap %+v; want one after %s, missing %s, until %s", c.stopped, c.next, g, c.stopped, c.missing, stopAt)
			}
			for _, s := range []string{"stopped after " + c.stopped, c.next, "successor " + c.missing} {
				if !strings.Contains(g.Reason, s) {
					t.Errorf("the gap's reason %q does not say %q", g.Reason, s)
				}
			}
			if !w.Latest.Equal(stopAt) || !l.ArchivedUntil.Equal(stopAt) {
				t.Errorf("window ends %v, archived until %v: past the gap at %v", w.Latest, l.ArchivedUntil, stopAt)
			}
			var rg *GapError
			if !errors.As(rerr, &rg) || rg.Missing != c.missing {
				t.Errorf("restore --at %v past the gap: %v; want the gap naming %s", lastAt, rerr, c.missing)
			}
			if _, err := (&Engine{Dest: dest}).binlogsUntil(ctx, m, stopAt, t.TempDir()); err != nil {
				t.Errorf("restore --at the window's end %v: %v", stopAt, err)
			}
		})
	}
}
