package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A server's binary log can start again from mysql-bin.000001 under the
// same server key: RESET MASTER, or a server rebuilt with the same
// identity (the key is the GTID domain and server_id on MariaDB, the
// server_uuid on MySQL). Uploading the new history's files over the
// archived ones of the same names would destroy the old history, and
// with it the point-in-time recovery of every backup taken in it. So
// before the archiver first uploads a file in a run it checks that the
// file continues the archive (otherHistory); when it does not, the
// archived history is moved, whole, to a folder of its own:
//
//	binlogs/<server key>~<unix seconds>/<binlog file>[.scan.json|.sig]
//
// where the seconds are when the old history's oldest archived file was
// opened (its format description event). That time is read from the
// files being moved, not from the clock, so a move interrupted by a crash
// is finished by the next attempt under the same name, and one history is
// never preserved twice. Histories follow each other in time, so the
// history a backup was taken in is the current folder when its file there
// was opened before the snapshot, else the newest preserved history
// opened before the snapshot (backupChain). A preserved history keeps its
// files' signatures valid (they sign the server key without the suffix
// and the file's base name) and is deleted by retention only when no
// kept backup's chain is in it.
const historySep = "~"

// historyFolder is the folder of server's history preserved after a
// reset, whose oldest archived file was opened at opened.
func historyFolder(server string, opened time.Time) string {
	return server + historySep + strconv.FormatInt(opened.Unix(), 10)
}

// parseArchiveFolder reads a folder under binlogs/: the server key and,
// for a preserved history (key~<unix seconds>), when its oldest file was
// opened. A folder whose suffix is not a decimal number of seconds is
// read as a server key of its own (server keys never hold "~").
func parseArchiveFolder(folder string) (server string, opened time.Time, preserved bool) {
	i := strings.LastIndex(folder, historySep)
	if i <= 0 {
		return folder, time.Time{}, false
	}
	digits := folder[i+len(historySep):]
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return folder, time.Time{}, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != digits {
		return folder, time.Time{}, false
	}
	return folder[:i], time.Unix(n, 0).UTC(), true
}

// isBinlogObject says whether file, an object's name inside an archive
// folder, is an archived binlog file (not its scan, its signature, the
// status or a store's temporary file).
func isBinlogObject(file string) bool {
	return file != "" && file != statusObject && !strings.Contains(file, "/") && !strings.HasPrefix(file, ".") &&
		!strings.HasSuffix(file, scanSuffix) && !strings.HasSuffix(file, sigSuffix)
}

// archivedHead scans the start of an archived binlog: its format
// description (when the file was opened, by which server_id) and first
// events. Reading 64 KiB is plenty: the format description is the first
// event and a few hundred bytes long.
func archivedHead(ctx context.Context, dest Store, key string) (*BinlogFile, error) {
	rc, _, err := dest.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading archived binlog %s: %w", key, err)
	}
	defer rc.Close()
	bf, err := scanBinlog(key[strings.LastIndexByte(key, '/')+1:], io.LimitReader(rc, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("reading the start of archived binlog %s: %w", key, err)
	}
	return bf, nil
}

// errBinlogReset: the server's binary log was reset; the archived history
// was preserved and the local copies dropped, so the stream starts again
// from the server's oldest file.
var errBinlogReset = errors.New("the server's binary log was reset")

// otherHistory says whether the local file name (scanned: sc), which this
// run has not uploaded yet, belongs to another history than the archive
// of a.server (archived: its binlog files, oldest first). The same
// history means the archived object is a prefix of the local file: its
// format description has the same time (the file was opened in the same
// second) and server_id. A file the archive lacks is another history
// when the archive holds a later file of the same basename: a history
// never numbers a new file below one it has written.
func (a *Archiver) otherHistory(ctx context.Context, name string, sc *binlogScan, archived []ObjectInfo) (bool, error) {
	dir := serverBinlogDir(a.server)
	var newest string
	base := binlogBase(name)
	for _, o := range archived {
		file := strings.TrimPrefix(o.Key, dir)
		if file == name {
			head, err := archivedHead(ctx, a.Dest, o.Key)
			if err != nil {
				return false, fmt.Errorf("the server's %s cannot be compared with the archived one, so it is not uploaded over it (remove or move %s after checking it): %w", name, o.Key, err)
			}
			if head.Events == 0 {
				return false, nil // it holds nothing to lose
			}
			return !head.CreatedAt.Equal(sc.CreatedAt) || head.ServerID != sc.ServerID, nil
		}
		if binlogBase(file) == base {
			newest = file
		}
	}
	return newest != "" && binlogBefore(name, newest), nil
}

// binlogBase is a binlog file's name without its sequence number.
func binlogBase(name string) string {
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		return name[:dot]
	}
	return name
}

// archivedFiles lists the binlog files of an archive folder, oldest first.
func archivedFiles(ctx context.Context, dest Store, folder string) ([]ObjectInfo, error) {
	dir := serverBinlogDir(folder)
	objs, err := dest.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("listing the binlog archive of %s: %w", folder, err)
	}
	var files []ObjectInfo
	for _, o := range objs {
		if isBinlogObject(strings.TrimPrefix(o.Key, dir)) {
			files = append(files, o)
		}
	}
	sort.Slice(files, func(i, j int) bool {
		return binlogBefore(strings.TrimPrefix(files[i].Key, dir), strings.TrimPrefix(files[j].Key, dir))
	})
	return files, nil
}

// historyReset handles a local file of another history than the archive
// (otherHistory): it preserves the archived history, drops the local
// copies (files of the old history may still be there, and the stream's
// files must be fetched again from the server's oldest one) and the
// caught-up check, which was of the old history's files.
func (a *Archiver) historyReset(ctx context.Context, name string, uploaded map[string]int64) error {
	folder, moved, err := preserveHistory(ctx, a.Dest, a.server)
	if err != nil {
		return fmt.Errorf("the server's binary log was reset (its %s is not the archived one), and preserving the archived history failed; nothing is uploaded until it succeeds: %w", name, err)
	}
	a.Log.Warn("the server's binary log was reset (RESET MASTER, or a server rebuilt with the same identity): the archived history was moved to a folder of its own, where backups taken in it still find it, and archiving starts again from the server's oldest binlog",
		"archive", a.server, "file", name, "preserved_in", binlogsDir+folder+"/", "objects", moved)
	if err := os.RemoveAll(a.workDir()); err != nil {
		return fmt.Errorf("removing the local copies of the binlogs after a reset: %w", err)
	}
	clear(uploaded)
	a.scans = map[string]*binlogScan{}
	a.status = ArchiveStatus{Server: a.server, HeartbeatAt: a.status.HeartbeatAt}
	return nil
}

// preserveHistory moves every object of binlogs/<server>/ but the status
// (the binlog files, their scans and signatures) to the history's own
// folder (historyFolder, named after when its oldest file was opened) and
// returns the folder and how many objects were moved. It is crash-safe:
// every object is copied and the copy checked (size and SHA-256) before
// any original is deleted, and the originals go the oldest file last, so
// after a crash the folder still holds the oldest file, a rerun names the
// same destination, finds the copies made (identical: kept) and finishes.
// An existing copy with other contents is never overwritten.
func preserveHistory(ctx context.Context, dest Store, server string) (string, int, error) {
	dir := serverBinlogDir(server)
	objs, err := dest.List(ctx, dir)
	if err != nil {
		return "", 0, fmt.Errorf("listing the binlog archive of %s: %w", server, err)
	}
	var move, data []ObjectInfo
	present := map[string]bool{}
	for _, o := range objs {
		file := strings.TrimPrefix(o.Key, dir)
		if file == statusObject || file == statusObject+sigSuffix || strings.HasPrefix(file, ".") || strings.Contains(file, "/") {
			continue
		}
		move = append(move, o)
		present[o.Key] = true
		if isBinlogObject(file) {
			data = append(data, o)
		}
	}
	if len(data) == 0 {
		return "", 0, nil
	}
	sort.Slice(data, func(i, j int) bool {
		return binlogBefore(strings.TrimPrefix(data[i].Key, dir), strings.TrimPrefix(data[j].Key, dir))
	})
	head, err := archivedHead(ctx, dest, data[0].Key)
	if err != nil {
		return "", 0, err
	}
	opened := head.CreatedAt
	if opened.IsZero() {
		opened = data[0].Updated // no format description time: the object's own, as stable
	}
	folder := historyFolder(server, opened)
	to := serverBinlogDir(folder)
	for _, o := range move {
		if err := copyChecked(ctx, dest, o.Key, to+strings.TrimPrefix(o.Key, dir)); err != nil {
			return folder, 0, fmt.Errorf("copying the archived history of %s to %s (nothing was deleted): %w", server, to, err)
		}
	}
	// Scans and signatures without their binlog first (none, unless
	// written by hand), then each file with its scan and signature, the
	// newest file first.
	var order []string
	for _, o := range move {
		if file := strings.TrimPrefix(o.Key, dir); !isBinlogObject(file) && !present[strings.TrimSuffix(strings.TrimSuffix(o.Key, scanSuffix), sigSuffix)] {
			order = append(order, o.Key)
		}
	}
	for i := len(data) - 1; i >= 0; i-- {
		k := data[i].Key
		for _, key := range []string{k + sigSuffix, k + scanSuffix, k} {
			if present[key] {
				order = append(order, key)
			}
		}
	}
	for _, key := range order {
		if err := dest.Delete(ctx, key); err != nil {
			return folder, 0, fmt.Errorf("removing %s after copying it to %s (both copies are kept until a rerun finishes the move): %w", key, to, err)
		}
	}
	return folder, len(move), nil
}

// copyChecked copies object from to to and checks the copy's size and
// SHA-256 against what was read. When to exists already (a move that was
// interrupted), it is kept if identical to from, and is an error if not.
func copyChecked(ctx context.Context, dest Store, from, to string) error {
	have, haveN, err := hashObject(ctx, dest, to)
	switch {
	case err == nil:
		want, wantN, err := hashObject(ctx, dest, from)
		if err != nil {
			return err
		}
		if haveN != wantN || !bytes.Equal(have, want) {
			return fmt.Errorf("%s already exists with other contents than %s: a preserved binlog is never overwritten (compare the two, and remove the wrong one)", to, from)
		}
		return nil
	case !errors.Is(err, ErrNotFound):
		return err
	}
	rc, _, err := dest.Get(ctx, from)
	if err != nil {
		return fmt.Errorf("reading %s: %w", from, err)
	}
	body := &countingHash{r: rc, h: sha256.New()}
	err = dest.Put(ctx, to, body)
	rc.Close()
	if err != nil {
		return fmt.Errorf("writing %s: %w", to, err)
	}
	if have, haveN, err = hashObject(ctx, dest, to); err != nil {
		return err
	}
	if haveN != body.n || !bytes.Equal(have, body.h.Sum(nil)) {
		return fmt.Errorf("the copy %s (%d bytes) differs from %s (%d bytes) after it was written", to, haveN, from, body.n)
	}
	return nil
}

// hashObject reads an object whole: its SHA-256 and size.
func hashObject(ctx context.Context, dest Store, key string) ([]byte, int64, error) {
	rc, _, err := dest.Get(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", key, err)
	}
	return h.Sum(nil), n, nil
}

// backupChain is the archived chain of backup m (of server S =
// m.MySQL.ArchiveServer), from the history m was taken in: S's current
// folder when its copy of m's first file was opened no later than m's
// snapshot (or, lacking that file, when its oldest file was), else the
// newest history of S preserved after a reset that was opened no later
// than the snapshot. Histories follow each other in time, so that is the
// one the server was writing at the snapshot. It returns errNoArchive
// when S has no archive at all.
func backupChain(ctx context.Context, archives map[string]*ServerArchive, all map[string]ObjectInfo, sc *scanner, m *Manifest) (*Chain, error) {
	mm := m.MySQL
	chain := func(ar *ServerArchive) (*Chain, error) {
		c, err := ar.chainFrom(ctx, sc, all, mm.BinlogFile)
		if err != nil {
			return nil, err
		}
		if err := c.startsBackup(m); err != nil {
			return nil, err
		}
		return c, nil
	}
	cur := archives[mm.ArchiveServer]
	if cur != nil && len(cur.Files) > 0 {
		probe := cur.Files[0]
		for _, o := range cur.Files {
			if strings.TrimPrefix(o.Key, serverBinlogDir(cur.Server)) == mm.BinlogFile {
				probe = o
				break
			}
		}
		bf, err := sc.scan(ctx, cur.Server, probe, all)
		if err != nil {
			return nil, err
		}
		if bf.CreatedAt.IsZero() || !bf.CreatedAt.After(m.SnapshotAt.UTC()) {
			return chain(cur) // the history m was taken in
		}
	}
	var old *ServerArchive
	for _, ar := range archives {
		if ar.Key == mm.ArchiveServer && !ar.Opened.IsZero() && !ar.Opened.After(m.SnapshotAt.UTC()) && (old == nil || ar.Opened.After(old.Opened)) {
			old = ar
		}
	}
	switch {
	case old != nil:
		return chain(old)
	case cur != nil:
		return chain(cur) // says why the current folder does not start m
	}
	return nil, errNoArchive
}
