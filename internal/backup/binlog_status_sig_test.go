package backup

import (
	"strings"
	"testing"
	"time"
)

// The archiver's caught-up check (status.json) extends the window a
// restore accepts past the last archived event: the server had written
// nothing more by then. Unsigned, anyone who can write the bucket could
// make a restore accept a time years past what the archive holds (and
// report success having replayed only what there is). A restore that
// verifies takes the status only with a valid signature; the archiver
// signs it with the manifests' keys.
func TestArchiveStatusIsTrustedOnlySigned(t *testing.T) {
	ctx := t.Context()
	const server, name = "mariadb-0-1", "mysql-bin.000001"
	file := binlogFileOf(formatDescription(100, 1), binlogEvent(110, 2, 1, []byte("INSERT INTO t VALUES (1)"), true))
	keys := &Keys{HMAC: []byte("status-signing-key-0123456789abcdef")}
	setup := func(t *testing.T, statusKeys *Keys, caughtUp time.Time) (Store, *Manifest) {
		dest, m := stopArchive(t, map[string][]byte{name: file}, name, time.Unix(100, 0))
		signArchived(t, dest, keys, server, name, file)
		st := ArchiveStatus{Server: server, CaughtUpAt: caughtUp, CaughtUpFile: name, CaughtUpPosition: uint64(len(file))}
		if err := writeStatus(ctx, dest, st, statusKeys); err != nil {
			t.Fatal(err)
		}
		return dest, m
	}
	lastEvent, caughtUp := time.Unix(110, 0).UTC(), time.Unix(1000, 0).UTC()
	at := time.Unix(900, 0)

	// Signed by the archiver: the caught-up check counts.
	dest, m := setup(t, keys, caughtUp)
	if _, err := (&Engine{Dest: dest, Keys: keys}).binlogsUntil(ctx, m, at, t.TempDir()); err != nil {
		t.Errorf("restore --at %v inside a signed caught-up check: %v", at, err)
	}
	// Written without a key (forged, or by an archiver without one), or
	// changed after it was signed: the window ends at the last event.
	forged, _ := setup(t, nil, caughtUp)
	changed, _ := setup(t, keys, time.Unix(200, 0))
	st := ArchiveStatus{Server: server, CaughtUpAt: caughtUp, CaughtUpFile: name, CaughtUpPosition: uint64(len(file))}
	if err := writeStatus(ctx, changed, st, nil); err != nil { // the old signature stays
		t.Fatal(err)
	}
	for what, d := range map[string]Store{"unsigned": forged, "changed after signing": changed} {
		_, err := (&Engine{Dest: d, Keys: keys}).binlogsUntil(ctx, m, at, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), lastEvent.Format(time.RFC3339)) {
			t.Errorf("%s status, restore --at %v: %v; want the archive to reach only %v", what, at, err, lastEvent)
		}
	}
	// Without verification (--allow-unsigned), as before.
	if _, err := (&Engine{Dest: forged, Keys: &Keys{AllowUnsigned: true}}).binlogsUntil(ctx, m, at, t.TempDir()); err != nil {
		t.Errorf("--allow-unsigned: %v", err)
	}
}
