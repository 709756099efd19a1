package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// errBinlogReset: the server's binary log was reset (or rolled back);
// the archived history was preserved and the local copies dropped, so
// the stream starts again from the server's oldest file.
var errBinlogReset = errors.New("the server's binary log was reset")

// historyVerdict is what otherHistory makes of a local file the run has
// not uploaded yet.
type historyVerdict int

const (
	// sameHistory: the file continues the archive (or the archive lacks
	// it): upload it.
	sameHistory historyVerdict = iota
	// newHistory: the server's binary log took another course than the
	// archived one: preserve the archive before uploading anything.
	newHistory
	// notYet: the stream has received less of the file than is archived
	// and is still receiving it: decide when it has more.
	notYet
	// staleCopy: a local copy an earlier run left below where this stream
	// started, of which the archive holds more or other bytes: never
	// uploaded over the archived one, and no evidence of anything.
	staleCopy
)

// otherHistory says whether the local file name (at path, scanned: sc),
// which this run has not uploaded yet, belongs to another history than
// the archive of a.server (archived: its binlog files, oldest first).
// The same history means the archived object is a prefix of the server's
// file, byte for byte (the in-use flag of its format description aside:
// a server's dump thread clears it in what it sends, but a copy of a file
// taken from the disk while the server wrote it carries it). So a file
// opened at another time or by another server_id is another history
// (RESET MASTER), and so is one opened at the same time whose bytes part
// from the archived ones (a reset in the same second), or that ends
// before the archived one once the stream has moved past it: a server
// restored from a disk snapshot or a copy, which lost events the archive
// holds and writes others under the same names. Uploading it would
// overwrite those events (before, only the format description was
// compared). finished says the stream is done with the file (it ends
// with a rotate or stop event, or a later file was listed before it was
// scanned: beginStream). A file the archive lacks,
// received by the current stream, is another history when the archive
// holds a later file of the same basename: a history never numbers a new
// file below one it has written. why says what told it.
func (a *Archiver) otherHistory(ctx context.Context, name, path string, sc *binlogScan, archived []ObjectInfo, finished bool) (verdict historyVerdict, why string, err error) {
	dir := serverBinlogDir(a.server)
	var newest string
	base := binlogBase(name)
	// (A file numbered below where the stream started is a local copy
	// left by an earlier run: it grows no more, and its archived copy
	// may have been pruned, or written further by another archiver.)
	received := a.streamStart == "" || !binlogBefore(name, a.streamStart)
	for _, o := range archived {
		file := strings.TrimPrefix(o.Key, dir)
		if file != name {
			if binlogBase(file) == base {
				newest = file
			}
			continue
		}
		head, err := archivedHead(ctx, a.Dest, o.Key)
		if err != nil {
			return 0, "", fmt.Errorf("the server's %s cannot be compared with the archived one, so it is not uploaded over it (remove or move %s after checking it): %w", name, o.Key, err)
		}
		if head.Events == 0 {
			return sameHistory, "", nil // it holds nothing to lose
		}
		if !head.CreatedAt.Equal(sc.CreatedAt) || head.ServerID != sc.ServerID {
			return newHistory, fmt.Sprintf("its %s was opened at %s by server_id %d, the archived one at %s by server_id %d",
				name, sc.CreatedAt.UTC().Format(time.RFC3339), sc.ServerID, head.CreatedAt.UTC().Format(time.RFC3339), head.ServerID), nil
		}
		// (Only what the stream has received is read, so a file that
		// parts early is told at once, a reset in the second its
		// archived namesake was opened included; one still received and
		// shorter than the archived copy is read again once it has
		// doubled: the archived copy is read a few times over at most,
		// not once per flush.)
		if received && !finished && sc.Size < o.Size && sc.Size < 2*a.compared[name] {
			return notYet, "", nil
		}
		diff, longer, err := comparePrefix(ctx, a.Dest, o.Key, path, sc.Size)
		if err != nil {
			return 0, "", fmt.Errorf("the server's %s cannot be compared with the archived one, so it is not uploaded over it: %w", name, err)
		}
		switch {
		case !received && (diff >= 0 || longer):
			return staleCopy, "", nil
		case diff >= 0:
			return newHistory, fmt.Sprintf("its %s differs from the archived one from byte %d on (RESET MASTER in the second the archived one was opened, or a server restored from a disk snapshot or a copy, whose binary log took another course under the same names)", name, diff), nil
		case !longer:
			return sameHistory, "", nil
		case finished:
			return newHistory, fmt.Sprintf("its %s ends at byte %d and the archived one at byte %d (a server restored from a disk snapshot or a copy: it lost events the archive holds)", name, sc.Size, o.Size), nil
		}
		a.noteCompared(name, sc.Size)
		return notYet, "", nil
	}
	if received && newest != "" && binlogBefore(name, newest) {
		return newHistory, fmt.Sprintf("its %s is numbered below the archive's newest, %s", name, newest), nil
	}
	return sameHistory, "", nil
}

// noteCompared records that the first size bytes of the local file name
// (or of the one compared with the preserved object name) were found
// equal to the longer copy they were compared with.
func (a *Archiver) noteCompared(name string, size int64) {
	if a.compared == nil {
		a.compared = map[string]int64{}
	}
	a.compared[name] = size
}

// mismatch is the index of the first byte in which a and b (as long)
// differ, or -1.
func mismatch(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// comparePrefix compares the archived object key with the first size bytes
// of the local file at path, ignoring the in-use flag of the format
// description (the first event), and reads no further than it must: the
// offset of the first byte in which they differ (-1 when one is a prefix
// of the other), and whether the archived object is the longer.
func comparePrefix(ctx context.Context, dest Store, key, path string, size int64) (diff int64, longer bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	rc, _, err := dest.Get(ctx, key)
	if err != nil {
		return 0, false, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rc.Close()
	flags := len(binlogMagic) + binlogFlagsOffset
	local := io.LimitReader(f, size)
	lb, rb := make([]byte, 256<<10), make([]byte, 256<<10)
	for off := int64(0); ; {
		rn, rerr := io.ReadFull(rc, rb)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return 0, false, fmt.Errorf("reading %s: %w", key, rerr)
		}
		ln, lerr := io.ReadFull(local, lb[:rn])
		if lerr != nil && lerr != io.EOF && lerr != io.ErrUnexpectedEOF {
			return 0, false, fmt.Errorf("reading %s: %w", path, lerr)
		}
		if off == 0 && ln > flags && rn > flags {
			lb[flags] &^= binlogFlagInUse
			rb[flags] &^= binlogFlagInUse
		}
		if i := mismatch(lb[:ln], rb[:ln]); i >= 0 {
			return off + int64(i), false, nil
		}
		switch {
		case ln < rn:
			return -1, true, nil // the local copy ended first
		case rn < len(rb):
			return -1, false, nil // the archived copy ended
		}
		off += int64(rn)
	}
}

// preservedFiles lists the binlog files of every history of a.server
// preserved after a reset or a rollback (never nil).
func (a *Archiver) preservedFiles(ctx context.Context) ([]ObjectInfo, error) {
	prefix := binlogsDir + a.server + historySep
	objs, err := a.Dest.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing the preserved histories of %s: %w", a.server, err)
	}
	files := []ObjectInfo{}
	for _, o := range objs {
		folder, file, ok := strings.Cut(strings.TrimPrefix(o.Key, binlogsDir), "/")
		if server, _, preserved := parseArchiveFolder(folder); ok && preserved && server == a.server && isBinlogObject(file) {
			files = append(files, o)
		}
	}
	return files, nil
}

// olderThanPreserved says whether the server's file (scanned: sc), which
// the current folder lacks and no preserved history holds, was opened
// before the last file of the newest preserved history of a.server
// (preserved: their files). The current folder holds only files opened
// after that one (inHistory), so such a file is of an earlier course: one
// the server kept through a rollback to a disk snapshot but the archive no
// longer has, because retention removed it as no kept backup needed it
// (or it never was archived there). Uploaded, it would become the current
// folder's oldest file, and a backup taken before the rollback, whose
// file is in the preserved history, would be looked for in the current
// folder (backupChain) and found missing. A file opened in the same second
// is not older: it may be the first of the new course. The head read is
// kept for the run (a.newestPreserved).
func (a *Archiver) olderThanPreserved(ctx context.Context, sc *binlogScan, preserved []ObjectInfo) (bool, error) {
	if sc.CreatedAt.IsZero() || len(preserved) == 0 {
		return false, nil
	}
	var newestOpened time.Time
	var files []ObjectInfo // the newest preserved history's
	for _, o := range preserved {
		folder, _, _ := strings.Cut(strings.TrimPrefix(o.Key, binlogsDir), "/")
		_, opened, _ := parseArchiveFolder(folder)
		switch {
		case len(files) == 0 || opened.After(newestOpened):
			newestOpened, files = opened, []ObjectInfo{o}
		case opened.Equal(newestOpened):
			files = append(files, o)
		}
	}
	sort.Slice(files, func(i, j int) bool { return binlogBefore(files[j].Key, files[i].Key) }) // last first
	if a.newestPreserved.key != files[0].Key || a.newestPreserved.size != files[0].Size {
		// (The last file that reads as a binlog: an object that does
		// not, left in the folder by hand, must not stop archiving.)
		var opened time.Time
		var readErr error
		for _, o := range files {
			head, err := archivedHead(ctx, a.Dest, o.Key)
			if err == nil {
				opened = head.CreatedAt
				break
			}
			if ctx.Err() != nil {
				return false, err
			}
			readErr = err
		}
		if opened.IsZero() && readErr != nil && a.Log != nil {
			a.Log.Warn("no file of the newest preserved history could be read: a server file older than it is archived into the current folder", "archive", a.server, "error", readErr)
		}
		a.newestPreserved.key, a.newestPreserved.size, a.newestPreserved.opened = files[0].Key, files[0].Size, opened
	}
	return sc.CreatedAt.Before(a.newestPreserved.opened), nil
}

// heldInPreserved says whether a preserved history (preserved: its files)
// already holds the server's file name (at path, scanned: sc): one of the
// same name, opened at the same time by the same server_id, of which the
// server's is a prefix or the whole, once the stream is done with it
// (finished); wait says the stream still receives a file that is a prefix
// so far. It is asked for every file the current folder lacks: after a
// rollback to a disk snapshot, the server's oldest files are the ones the
// snapshot kept, which the preserved course holds (the one it was cut in
// short, the events the server lost after it). Uploaded again, the two
// courses would share files in two histories, and a backup taken before
// the rollback could be replayed from neither (inHistory refuses a file
// opened outside its folder's history); left to the preserved history,
// that backup keeps its window there, the lost events included, and the
// current folder starts with the first file the server opened after the
// rollback.
func (a *Archiver) heldInPreserved(ctx context.Context, name, path string, sc *binlogScan, preserved []ObjectInfo, finished bool) (held, wait bool, err error) {
	for _, o := range preserved {
		if o.Key[strings.LastIndexByte(o.Key, '/')+1:] != name {
			continue
		}
		head, err := archivedHead(ctx, a.Dest, o.Key)
		if err != nil {
			return false, false, fmt.Errorf("comparing the server's %s with the preserved %s: %w", name, o.Key, err)
		}
		if head.Events == 0 || !head.CreatedAt.Equal(sc.CreatedAt) || head.ServerID != sc.ServerID {
			continue
		}
		if !finished && sc.Size < 2*a.compared[o.Key] {
			return false, true, nil // (read again once it has doubled)
		}
		diff, longer, err := comparePrefix(ctx, a.Dest, o.Key, path, sc.Size)
		if err != nil {
			return false, false, fmt.Errorf("comparing the server's %s with the preserved %s: %w", name, o.Key, err)
		}
		if diff >= 0 || (!longer && sc.Size != o.Size) {
			continue // (the server holds other or more bytes: its own)
		}
		if !finished {
			a.noteCompared(o.Key, sc.Size)
		}
		return finished, !finished, nil
	}
	return false, false, nil
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
	sortBinlogs(files, dir)
	return files, nil
}

// historyReset handles a local file of another history than the archive
// (otherHistory, which says why): it preserves the archived history,
// drops the local copies (files of the old history may still be there,
// and the stream's files must be fetched again from the server's oldest
// one) and the caught-up check, which was of the old history's files.
func (a *Archiver) historyReset(ctx context.Context, name, why string, uploaded map[string]int64) error {
	folder, moved, err := preserveHistory(ctx, a.Dest, a.server)
	if err != nil {
		return fmt.Errorf("the server's binary log no longer continues the archive (%s), and preserving the archived history failed; nothing is uploaded until it succeeds: %w", why, err)
	}
	a.Log.Warn("the server's binary log no longer continues the archive (RESET MASTER, a server rebuilt with the same identity, or one restored from a disk snapshot or a copy): the archived history was moved, whole, to a folder of its own, and archiving starts again from the server's oldest binlog that it does not hold",
		"archive", a.server, "file", name, "why", why, "preserved_in", binlogsDir+folder+"/", "objects", moved)
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
	listed := map[string]ObjectInfo{}
	for _, o := range objs {
		file := strings.TrimPrefix(o.Key, dir)
		if file == statusObject || file == statusObject+sigSuffix || strings.HasPrefix(file, ".") || strings.Contains(file, "/") {
			continue
		}
		move = append(move, o)
		listed[o.Key] = o
		if isBinlogObject(file) {
			data = append(data, o)
		}
	}
	// The destination is written down before anything is copied: a move
	// interrupted after deleting the newest files (retention may prune
	// the oldest before the rerun) is finished into the same folder, and
	// retention leaves the server's archives alone while it is there.
	folder, err := movingTo(ctx, dest, server)
	if err != nil {
		return "", 0, err
	}
	if len(data) == 0 {
		// (A marker left by a move that deleted every file: done.)
		if err := dest.Delete(ctx, dir+movingMarker); err != nil {
			return folder, 0, fmt.Errorf("removing the marker of a finished move: %w", err)
		}
		return folder, 0, nil
	}
	sortBinlogs(data, dir)
	if folder == "" {
		head, err := archivedHead(ctx, dest, data[0].Key)
		if err != nil {
			return "", 0, err
		}
		opened := head.CreatedAt
		if opened.IsZero() {
			opened = data[0].Updated // no format description time: the object's own, as stable
		}
		// A history preserved before may have the same oldest file (a
		// reset in the second that file was opened, or the shared files
		// of a rollback's two courses archived twice by an older
		// archiver): the next free second, never a folder that holds
		// anything.
		for {
			folder = historyFolder(server, opened)
			taken, err := dest.List(ctx, serverBinlogDir(folder))
			if err != nil {
				return "", 0, fmt.Errorf("listing %s: %w", serverBinlogDir(folder), err)
			}
			if len(taken) == 0 {
				break
			}
			opened = opened.Add(time.Second)
		}
		if err := dest.Put(ctx, dir+movingMarker, strings.NewReader(folder)); err != nil {
			return "", 0, fmt.Errorf("writing the marker of the move of %s's archived history: %w", server, err)
		}
	}
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
		if file := strings.TrimPrefix(o.Key, dir); !isBinlogObject(file) && !isListed(listed, strings.TrimSuffix(strings.TrimSuffix(o.Key, scanSuffix), sigSuffix)) {
			order = append(order, o.Key)
		}
	}
	for i := len(data) - 1; i >= 0; i-- {
		k := data[i].Key
		for _, key := range []string{k + sigSuffix, k + scanSuffix, k} {
			if isListed(listed, key) {
				order = append(order, key)
			}
		}
	}
	for _, key := range order {
		// Another archiver (a pod that outlived its replacement) may
		// have finished this move and uploaded the new history under
		// the same names since the listing: only the object copied goes.
		if same, err := unchanged(ctx, dest, listed[key]); err != nil || !same {
			if err != nil {
				return folder, 0, err
			}
			continue
		}
		if err := dest.Delete(ctx, key); err != nil {
			return folder, 0, fmt.Errorf("removing %s after copying it to %s (both copies are kept until a rerun finishes the move): %w", key, to, err)
		}
	}
	if err := dest.Delete(ctx, dir+movingMarker); err != nil {
		return folder, 0, fmt.Errorf("removing the marker of the finished move to %s: %w", to, err)
	}
	return folder, len(move), nil
}

// isListed says whether key is among the objects listed.
func isListed(listed map[string]ObjectInfo, key string) bool {
	_, ok := listed[key]
	return ok
}

// movingMarker, in a server's archive folder, names the folder its
// archived history is being moved to (preserveHistory).
const movingMarker = ".moving"

// movingTo reads the marker of a move of server's history under way: the
// destination folder, or "" when there is none.
func movingTo(ctx context.Context, dest Store, server string) (string, error) {
	b, err := readSmall(ctx, dest, serverBinlogDir(server)+movingMarker)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the marker of a move of %s's archived history: %w", server, err)
	}
	folder := string(b)
	if key, _, preserved := parseArchiveFolder(folder); !preserved || key != server {
		return "", fmt.Errorf("the marker %s%s names %q, not a history folder of %s: remove it after checking no move is under way", serverBinlogDir(server), movingMarker, folder, server)
	}
	return folder, nil
}

// unchanged says whether the object listed as o is still the one there:
// the same size and version (where both have one) or update time.
func unchanged(ctx context.Context, dest Store, o ObjectInfo) (bool, error) {
	rc, now, err := dest.Get(ctx, o.Key)
	if errors.Is(err, ErrNotFound) {
		return false, nil // gone already: nothing to delete
	}
	if err != nil {
		return false, fmt.Errorf("reading %s before removing it: %w", o.Key, err)
	}
	rc.Close()
	// (A listing and a read may not both give a version, and give the
	// update time at different precisions: seconds are compared.)
	switch {
	case now.Size != o.Size:
		return false, nil
	case now.Version != "" && o.Version != "":
		return now.Version == o.Version, nil
	}
	return now.Updated.Truncate(time.Second).Equal(o.Updated.Truncate(time.Second)), nil
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
	body := NewHashReader(rc)
	err = dest.Put(ctx, to, body)
	rc.Close()
	if err != nil {
		return fmt.Errorf("writing %s: %w", to, err)
	}
	if have, haveN, err = hashObject(ctx, dest, to); err != nil {
		return err
	}
	if haveN != body.Size() || hex.EncodeToString(have) != body.Sum() {
		return fmt.Errorf("the copy %s (%d bytes) differs from %s (%d bytes) after it was written", to, haveN, from, body.Size())
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
// snapshot (or, lacking that file, when its start was: currentStart),
// else the
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
		return c, inHistory(ctx, sc, archives, ar, c)
	}
	cur := archives[mm.ArchiveServer]
	if cur != nil && len(cur.Files) > 0 {
		probe, ok := all[serverBinlogDir(cur.Server)+mm.BinlogFile]
		if !ok {
			// Lacking m's file, the folder's start tells: its first
			// file opened after the newest preserved history began (one
			// opened before is a stray: currentStart).
			var err error
			if probe, ok, err = currentStart(ctx, sc, archives, cur); err != nil {
				return nil, err
			}
		}
		// (Its first events only: a restore of a backup of an older
		// history must not download, nor depend on the signature of, a
		// file of the current one. A wrong choice from a forged head ends
		// in a refusal: the chain chosen is checked whole.)
		if ok {
			opened, err := sc.opened(ctx, probe.Key)
			if err != nil {
				return nil, err
			}
			if opened.IsZero() || !opened.After(m.SnapshotAt.UTC()) {
				return chain(cur) // the history m was taken in
			}
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

// currentStart is where the current folder cur of a server began: its
// first file opened after the newest preserved history of the server
// began (its oldest file's opening, in its folder's name; every file, when
// none was preserved). A file opened before, or in that second, is a
// stray: a file of an earlier course, such as one the server kept through
// a rollback after retention had removed it from the archive (rotated
// often in the second the history's oldest file was opened), which an
// archiver before olderThanPreserved uploaded there. Counted as the folder's start, it
// made a backup taken before the rollback look taken in the current
// course, and ended the preserved history before it began. (Not the
// preserved history's last file: a file copied into it from a later
// history would move that bound past the current folder's real start.)
// ok is false when every file is a stray. A file whose opening is unknown
// counts as the start.
func currentStart(ctx context.Context, sc *scanner, archives map[string]*ServerArchive, cur *ServerArchive) (start ObjectInfo, ok bool, err error) {
	var began time.Time
	for _, h := range archives {
		if h.Key == cur.Key && h.Opened.After(began) {
			began = h.Opened
		}
	}
	for _, f := range cur.Files {
		t, err := sc.opened(ctx, f.Key)
		if err != nil {
			return ObjectInfo{}, false, err
		}
		if t.IsZero() || t.After(began) {
			return f, true, nil
		}
	}
	return ObjectInfo{}, false, nil
}

// inHistory cuts chain c, found in archive folder ar, at its first file
// opened outside ar's history: a preserved history (key~T) holds the files
// opened from T until the next history began (the next preserved one's T,
// or the current folder's oldest file's opening); the current folder
// those opened after the newest preserved history's newest file. A file
// outside was copied in from another history (its signature still
// verifies: it names the server and the file, not the history), and
// replaying it would apply another history's events. A chain whose first
// file is outside is an error; otherwise the window ends before it.
func inHistory(ctx context.Context, sc *scanner, archives map[string]*ServerArchive, ar *ServerArchive, c *Chain) error {
	openedAt := func(h *ServerArchive, i int) (time.Time, error) { return sc.opened(ctx, h.Files[i].Key) }
	var from, until time.Time // [from, until); from exclusive for the current folder
	strict := false
	var newest *ServerArchive // the newest preserved history, for the current folder
	for _, h := range archives {
		if h.Key != ar.Key || h == ar || len(h.Files) == 0 {
			continue
		}
		switch {
		case ar.Opened.IsZero():
			if !h.Opened.IsZero() && (newest == nil || h.Opened.After(newest.Opened)) {
				newest = h
			}
		case h.Opened.After(ar.Opened): // a later preserved history
			if until.IsZero() || h.Opened.Before(until) {
				until = h.Opened
			}
		case h.Opened.IsZero(): // the current folder, after every preserved history
			start, ok, err := currentStart(ctx, sc, archives, h)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			t, err := sc.opened(ctx, start.Key)
			if err != nil {
				return err
			}
			if !t.IsZero() && (until.IsZero() || t.Before(until)) {
				until = t
			}
		}
	}
	if ar.Opened.IsZero() {
		if newest != nil {
			t, err := openedAt(newest, len(newest.Files)-1)
			if err != nil {
				return err
			}
			from, strict = t, true
		}
	} else {
		from = ar.Opened
	}
	for i, f := range c.Files {
		out := !f.CreatedAt.IsZero() && (f.CreatedAt.Before(from) || (strict && f.CreatedAt.Equal(from)) || (!until.IsZero() && !f.CreatedAt.Before(until)))
		if !out {
			continue
		}
		why := "another history's file, copied in"
		shared, err := sharedFile(ctx, sc, archives, ar, f)
		if err != nil {
			return err
		}
		if shared != "" {
			why = fmt.Sprintf("%s holds a file of that name opened at the same time: another history's file copied in, or a file of a server rolled back to a disk snapshot, which an older archiver uploaded again after preserving the course the server lost (kept there: replay it by hand with mariadb-binlog, or restore the backup without --at)",
				binlogsDir+shared+"/")
		}
		return c.cutAt(i, fmt.Sprintf("the archived %s in %s was opened at %s, outside that history (opened from %s%s): %s",
			f.Name, binlogsDir+ar.Server+"/", f.CreatedAt.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339), untilText(until), why))
	}
	return nil
}

// sharedFile is the other archive folder of ar's server that holds a
// file of f's name opened at the same time (a history that parted from
// ar's after a rollback: the two share their files up to where they
// part), or "".
func sharedFile(ctx context.Context, sc *scanner, archives map[string]*ServerArchive, ar *ServerArchive, f BinlogFile) (string, error) {
	for _, h := range archives {
		if h.Key != ar.Key || h == ar {
			continue
		}
		for _, o := range h.Files {
			if strings.TrimPrefix(o.Key, serverBinlogDir(h.Server)) != f.Name {
				continue
			}
			opened, err := sc.opened(ctx, o.Key)
			if err != nil {
				return "", err
			}
			if opened.Equal(f.CreatedAt) {
				return h.Server, nil
			}
		}
	}
	return "", nil
}

func untilText(until time.Time) string {
	if until.IsZero() {
		return ""
	}
	return " until " + until.UTC().Format(time.RFC3339)
}

// opened is when the archived file key was opened (its format description
// event), read from its first events only, without verifying them (the
// chain that uses a file verifies it whole), once per scanner.
func (s *scanner) opened(ctx context.Context, key string) (time.Time, error) {
	if t, ok := s.heads[key]; ok {
		return t, nil
	}
	raw := s.raw
	if raw == nil {
		raw = s.dest
	}
	head, err := archivedHead(ctx, raw, key)
	if err != nil {
		return time.Time{}, err
	}
	if s.heads == nil {
		s.heads = map[string]time.Time{}
	}
	s.heads[key] = head.CreatedAt
	return head.CreatedAt, nil
}
