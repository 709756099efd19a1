package backup

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The archive is keyed by the server's identity, which RESET MASTER and a
// server rebuilt with the same settings keep: the archiver then uploads
// the new mysql-bin.000001 over the archived one. A backup whose position
// lies in the old file would be rolled forward with the new history's
// events (another server's rows, at the old file's offsets). The chain's
// first file must be one opened before the snapshot, by the backup's
// server, reaching its position; otherwise the backup cannot be rolled
// forward and list, the window and restore say why.
func TestArchivedFileReplacedAfterTheSnapshot(t *testing.T) {
	const snap = 1000
	file := func(opened uint32, serverID uint32, stop bool) []byte {
		fde := formatDescription(opened, 1)
		fde = binlogEvent(opened, binlogEventFormat, serverID, fde[binlogHeaderLen:len(fde)-4], true) // written by serverID
		evs := [][]byte{fde,
			binlogEvent(opened+10, 2, serverID, []byte("INSERT INTO t VALUES (1)"), true)}
		if stop {
			evs = append(evs, binlogEvent(opened+20, binlogEventStop, serverID, nil, true))
		}
		return binlogFileOf(evs...)
	}
	for _, c := range []struct {
		name     string
		contents []byte
		position uint64
		want     string // "" when the chain is the backup's
	}{
		{"the backup's file", file(snap-100, 1, false), 4, ""},
		{"opened in the snapshot's second", file(snap, 1, false), 4, ""},
		{"a file opened after the snapshot (RESET MASTER)", file(snap+500, 1, false), 4, "after backup"},
		{"another server_id", file(snap-100, 7, false), 4, "server_id 7"},
		{"a finished file ending before the position", file(snap-100, 1, true), 1 << 20, "before backup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			dest, m := stopArchive(t, map[string][]byte{"mysql-bin.000001": c.contents}, "mysql-bin.000001", time.Unix(snap, 300e6))
			m.MySQL.BinlogPosition = c.position
			if err := writeManifest(ctx, dest, m, nil); err != nil {
				t.Fatal(err)
			}
			l, err := List(ctx, dest)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := l.RestoreWindow()
			_, rerr := (&Engine{Dest: dest}).binlogsUntil(ctx, m, time.Unix(snap+1000, 0), t.TempDir())
			if c.want == "" {
				if l.ChainErr != nil || w.Gap != nil {
					t.Fatalf("list: %v, window gap %v; want the backup's chain", l.ChainErr, w.Gap)
				}
				return
			}
			var g *GapError
			if !errors.As(l.ChainErr, &g) || !strings.Contains(g.Reason, c.want) || w.Gap == nil || !w.Latest.Equal(m.SnapshotAt) || !l.ArchivedUntil.IsZero() {
				t.Errorf("list: %v, window %v..%v gap %v, archived until %v; want the window to end at the snapshot, saying %q",
					l.ChainErr, w.Earliest, w.Latest, w.Gap, l.ArchivedUntil, c.want)
			}
			if !errors.As(rerr, &g) || !strings.Contains(rerr.Error(), c.want) {
				t.Errorf("restore --at past the snapshot: %v; want it refused, saying %q", rerr, c.want)
			}
		})
	}
}
