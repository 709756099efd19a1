package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The binlog archive keeps each server's files apart:
//
//	binlogs/<server key>/<binlog file>             the file as the server wrote it
//	binlogs/<server key>/<binlog file>.scan.json   what scanning it proved (a cache, keyed by size)
//	binlogs/<server key>/<binlog file>.sig         its signature: size and SHA-256 of what was uploaded (binlog_sign.go)
//	binlogs/<server key>/status.json               the archiver's heartbeat and caught-up check
//	binlogs/<server key>~<unix seconds>/...         a history preserved after a reset (binlog_history.go)
//
// The server key is the server's identity (ServerKey), so a failover to a
// new primary, whose files are numbered from 1 again, never overwrites the
// old primary's files, and retention compares files of one server only.
const (
	scanSuffix   = ".scan.json"
	statusObject = "status.json"
)

func serverBinlogDir(server string) string { return binlogsDir + server + "/" }

// ArchiveStatus is binlogs/<server>/status.json, written by the archiver
// on every flush. It only ever extends a window the files themselves prove
// (CaughtUpAt counts only when the archived file really holds
// CaughtUpFile up to CaughtUpPosition); it is never needed to check one.
type ArchiveStatus struct {
	Server string `json:"server"`
	// HeartbeatAt is the archiver's last flush, whatever it achieved.
	HeartbeatAt time.Time `json:"heartbeat_at"`
	// At CaughtUpAt (the server's clock) the server's binary log ended at
	// CaughtUpFile:CaughtUpPosition and the archive held all of it.
	CaughtUpAt       time.Time `json:"caught_up_at,omitzero"`
	CaughtUpFile     string    `json:"caught_up_file,omitempty"`
	CaughtUpPosition uint64    `json:"caught_up_position,omitempty"`
	// ServerFile/ServerPosition is where the server was at the last flush;
	// BehindBytes how much of it the archive lacked (a stalled stream).
	ServerFile     string `json:"server_file,omitempty"`
	ServerPosition uint64 `json:"server_position,omitempty"`
	BehindBytes    int64  `json:"behind_bytes"`
}

// ServerArchive is the archived binary log of one server.
type ServerArchive struct {
	// Server is the archive's folder under binlogs/: the server key or,
	// for a history preserved after a reset, key~<unix seconds>.
	Server string
	// Key is the server key (Server without a history's suffix), and
	// Opened, for a preserved history, when its oldest file was opened
	// (zero for the server's current folder).
	Key    string
	Opened time.Time
	// Files are the archived files, oldest first (data objects only).
	Files []ObjectInfo
	// Status is the archiver's status, nil when missing or unreadable.
	Status *ArchiveStatus
}

// GapError says where an archive stops being continuous.
type GapError struct {
	Server string
	// After is the last file of the continuous run; Missing what should
	// follow it: the file its ROTATE names or, when it ends with a STOP,
	// its successor ("" when After itself is truncated or unfinished, or
	// stopped under a name without a sequence number, and newer files
	// exist).
	After, Missing string
	// Until is the time of the last event before the gap.
	Until time.Time
	// Reason explains the gap in words.
	Reason string
}

func (g *GapError) Error() string {
	return fmt.Sprintf("the binlog archive of server %s has a gap after %s (%s): point-in-time recovery from it reaches only %s",
		g.Server, g.After, g.Reason, g.Until.UTC().Format(time.RFC3339))
}

// Chain is a continuous run of archived files from a backup's position.
type Chain struct {
	Server string
	Files  []BinlogFile
	// Until is the latest time the run proves: its last event, or a later
	// caught-up check of the archiver that matches the files.
	Until time.Time
	// Gap, when set, is why the run ends before the newest archived file.
	Gap *GapError
}

// startsBackup checks that the chain's first file is the one m's binlog
// position lies in: opened no later than the snapshot, by m's server, and
// reaching the position. The archive is keyed by the server's identity
// (GTID domain and server_id on MariaDB, server_uuid on MySQL), which
// RESET MASTER and a server rebuilt with the same settings keep: the
// archiver moves the old history to a folder of its own before it
// uploads the new one (binlog_history.go, where backupChain finds it),
// but an archive written before it did, or by hand, may hold another
// history's file of the same name, and a replay from m's position would
// apply another history's events. When it is not, the backup cannot be
// rolled forward: a *GapError at its start.
func (c *Chain) startsBackup(m *Manifest) error {
	if len(c.Files) == 0 || m.MySQL == nil {
		return nil
	}
	f, mm := c.Files[0], m.MySQL
	var reason string
	switch {
	case !f.CreatedAt.IsZero() && f.CreatedAt.After(m.SnapshotAt.UTC()):
		reason = fmt.Sprintf("the archived %s was opened at %s, after backup %s's snapshot at %s: the server's binary log was reset "+
			"(RESET MASTER) or the server rebuilt with the same identity, and its new %s replaced the one the backup starts in",
			f.Name, f.CreatedAt.Format(time.RFC3339), m.ID, m.SnapshotAt.UTC().Format(time.RFC3339), f.Name)
	case mm.ServerID != 0 && f.ServerID != 0 && f.ServerID != mm.ServerID:
		reason = fmt.Sprintf("the archived %s was written by server_id %d, not by backup %s's server (server_id %d)", f.Name, f.ServerID, m.ID, mm.ServerID)
	case f.Complete && uint64(f.ValidSize) < mm.BinlogPosition:
		reason = fmt.Sprintf("the archived %s ends at %d, before backup %s's position %d", f.Name, f.ValidSize, m.ID, mm.BinlogPosition)
	default:
		return nil
	}
	return &GapError{Server: c.Server, After: "(nothing)", Missing: f.Name, Until: m.SnapshotAt, Reason: reason}
}

// cutAt ends the chain before its file i, for reason: the window ends
// at the file before it (a gap), or, when i is its first file, the chain
// cannot start (the error returned).
func (c *Chain) cutAt(i int, reason string) error {
	g := &GapError{Server: c.Server, After: "(nothing)", Missing: c.Files[i].Name, Until: c.Until, Reason: reason}
	if i == 0 {
		return g
	}
	g.After = c.Files[i-1].Name
	c.Files = c.Files[:i]
	c.Until = time.Time{}
	for _, f := range c.Files {
		if f.LastEventAt.After(c.Until) {
			c.Until = f.LastEventAt
		}
	}
	g.Until = c.Until
	c.Gap = g
	return nil
}

// scanner reads what an archived file holds: the cached scan when its size
// matches the object, else the file itself.
type scanner struct {
	dest Store
	// raw, when set, is dest without the verifying download: the reads
	// of a file's first events (inHistory) go to it.
	raw   Store
	cache map[string]*BinlogFile
	heads map[string]time.Time // when files were opened, read by inHistory
	// trustCache false rescans every file (restore does).
	trustCache bool
}

func (s *scanner) scan(ctx context.Context, server string, o ObjectInfo, objs map[string]ObjectInfo) (*BinlogFile, error) {
	if bf, ok := s.cache[o.Key]; ok {
		return bf, nil
	}
	name := strings.TrimPrefix(o.Key, serverBinlogDir(server))
	if s.trustCache {
		if c, ok := objs[o.Key+scanSuffix]; ok && c.Size < 1<<20 {
			if bf, err := s.readCache(ctx, c.Key); err == nil && bf.Size == o.Size && bf.Name == name {
				s.cache[o.Key] = bf
				return bf, nil
			}
		}
	}
	rc, _, err := s.dest.Get(ctx, o.Key)
	if err != nil {
		return nil, fmt.Errorf("reading archived binlog %s: %w", o.Key, err)
	}
	defer rc.Close()
	bf, err := scanBinlog(name, rc)
	if err != nil {
		return nil, fmt.Errorf("archived binlog %s of server %s: %w", name, server, err)
	}
	s.cache[o.Key] = bf
	return bf, nil
}

func (s *scanner) readCache(ctx context.Context, key string) (*BinlogFile, error) {
	rc, _, err := s.dest.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var bf BinlogFile
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&bf); err != nil {
		return nil, err
	}
	return &bf, nil
}

// sortBinlogs orders the binlog objects of the archive folder dir by
// sequence number (binlogBefore).
func sortBinlogs(objs []ObjectInfo, dir string) {
	sort.Slice(objs, func(i, j int) bool {
		return binlogBefore(strings.TrimPrefix(objs[i].Key, dir), strings.TrimPrefix(objs[j].Key, dir))
	})
}

// listArchives reads every archive at dest, by folder: each server's
// current one and the histories preserved after a reset.
func listArchives(ctx context.Context, dest Store) (map[string]*ServerArchive, map[string]ObjectInfo, error) {
	objs, err := dest.List(ctx, binlogsDir)
	if err != nil {
		return nil, nil, err
	}
	all := map[string]ObjectInfo{}
	out := map[string]*ServerArchive{}
	for _, o := range objs {
		all[o.Key] = o
		rest := strings.TrimPrefix(o.Key, binlogsDir)
		server, file, ok := strings.Cut(rest, "/")
		if !ok || file == "" || strings.Contains(file, "/") {
			continue // the flat layout of spinops before 0.2 is not read
		}
		a := out[server]
		if a == nil {
			key, opened, _ := parseArchiveFolder(server)
			a = &ServerArchive{Server: server, Key: key, Opened: opened}
			out[server] = a
		}
		switch {
		case file == statusObject:
			if st, err := readStatus(ctx, dest, o.Key); err == nil && a.Opened.IsZero() {
				a.Status = st // a preserved history has none: its archiver went on
			}
		case isBinlogObject(file):
			a.Files = append(a.Files, o)
		}
	}
	for _, a := range out {
		sortBinlogs(a.Files, serverBinlogDir(a.Server))
	}
	return out, all, nil
}

func readStatus(ctx context.Context, dest Store, key string) (*ArchiveStatus, error) {
	rc, _, err := dest.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var st ArchiveStatus
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// chainFrom follows the archive of a from file start: every file but the
// last must be complete and followed by the file the server wrote next:
// the one its ROTATE event names or, after a STOP event (the server shut
// down cleanly), binlogSuccessor's name, the one a restarted server opens.
// It returns the run and, when the archive goes on past a break, the gap.
func (a *ServerArchive) chainFrom(ctx context.Context, sc *scanner, all map[string]ObjectInfo, start string) (*Chain, error) {
	c := &Chain{Server: a.Server}
	i := -1
	for j, o := range a.Files {
		if strings.TrimPrefix(o.Key, serverBinlogDir(a.Server)) == start {
			i = j
			break
		}
	}
	if i < 0 {
		return nil, &GapError{Server: a.Server, After: "(nothing)", Missing: start,
			Reason: "the archive does not hold " + start + ", where the backup starts"}
	}
	for ; i < len(a.Files); i++ {
		bf, err := sc.scan(ctx, a.Server, a.Files[i], all)
		if err != nil {
			return nil, err
		}
		// A file the server wrote next was opened no earlier than the
		// last event of the one before it (event times are when their
		// statement began, before the rotation): one opened earlier is
		// another history's file of that name, copied in (signatures
		// name the server and the file, not the history).
		if n := len(c.Files); n > 0 && !bf.CreatedAt.IsZero() && bf.CreatedAt.Before(c.Files[n-1].LastEventAt) {
			prev := c.Files[n-1]
			c.Gap = &GapError{Server: a.Server, After: prev.Name, Missing: bf.Name, Until: c.Until,
				Reason: fmt.Sprintf("the archive's %s was opened at %s, before the last event of %s (%s): it is not the file the server wrote next (another history's file of that name?)",
					bf.Name, bf.CreatedAt.UTC().Format(time.RFC3339), prev.Name, prev.LastEventAt.UTC().Format(time.RFC3339))}
			return c, nil
		}
		c.Files = append(c.Files, *bf)
		if bf.LastEventAt.After(c.Until) {
			c.Until = bf.LastEventAt
		}
		last := i == len(a.Files)-1
		switch {
		case bf.Complete && last:
			// The server rotated or stopped and the archive has not received
			// the next file yet.
		case bf.Complete && bf.Next != "":
			next := strings.TrimPrefix(a.Files[i+1].Key, serverBinlogDir(a.Server))
			if next != bf.Next {
				c.Gap = &GapError{Server: a.Server, After: bf.Name, Missing: bf.Next, Until: c.Until,
					Reason: fmt.Sprintf("%s rotates into %s, which the archive does not have (next archived: %s)", bf.Name, bf.Next, next)}
				return c, nil
			}
		case bf.Complete:
			// A STOP event: no file is named, but a restarted server opens
			// the successor; any other next file (one purged while the
			// archiver was away) is a gap.
			next := strings.TrimPrefix(a.Files[i+1].Key, serverBinlogDir(a.Server))
			succ, ok := binlogSuccessor(bf.Name)
			if !ok {
				c.Gap = &GapError{Server: a.Server, After: bf.Name, Until: c.Until,
					Reason: fmt.Sprintf("the server stopped after %s, whose name has no sequence number, so the archive's next file %s cannot be shown to follow it", bf.Name, next)}
				return c, nil
			}
			if next != succ {
				c.Gap = &GapError{Server: a.Server, After: bf.Name, Missing: succ, Until: c.Until,
					Reason: fmt.Sprintf("the server stopped after %s and the archive's next file is %s, not its successor %s", bf.Name, next, succ)}
				return c, nil
			}
		case !last:
			c.Gap = &GapError{Server: a.Server, After: bf.Name, Until: c.Until,
				Reason: fmt.Sprintf("%s was not archived to its end (%d bytes, no rotate event) yet newer files exist", bf.Name, bf.Size)}
			return c, nil
		}
	}
	if st := a.Status; st != nil && c.Gap == nil && len(c.Files) > 0 {
		tail := c.Files[len(c.Files)-1]
		if st.CaughtUpFile == tail.Name && uint64(tail.ValidSize) >= st.CaughtUpPosition && st.CaughtUpAt.After(c.Until) {
			c.Until = st.CaughtUpAt
		}
	}
	return c, nil
}

// binlogSuccessor is the name of the file a server opens after name, as
// on a restart: the same basename with the next sequence number,
// zero-padded to six digits (MySQL's and MariaDB's find_uniq_filename
// print "%06lu"), so mysql-bin.999999 is followed by mysql-bin.1000000.
// ok is false when name has no numeric extension.
func binlogSuccessor(name string) (succ string, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 || dot == len(name)-1 {
		return "", false
	}
	ext := name[dot+1:]
	for _, r := range ext {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	n, err := strconv.ParseUint(ext, 10, 63)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("%s.%06d", name[:dot], n+1), true
}

// writeStatus replaces the archive status of a server and, when keys can
// sign, its signature (status.json.sig): the caught-up check extends the
// window a restore accepts past the last archived event, so a restore
// that verifies takes it only signed.
func writeStatus(ctx context.Context, dest Store, st ArchiveStatus, keys *Keys) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	key := serverBinlogDir(st.Server) + statusObject
	if err := dest.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("writing the archive status: %w", err)
	}
	if keys.canSign() {
		sig, err := keys.sign(statusPayload(b))
		if err != nil {
			return err
		}
		if err := dest.Put(ctx, key+sigSuffix, bytes.NewReader(sig)); err != nil {
			return fmt.Errorf("writing the archive status's signature: %w", err)
		}
	}
	return nil
}

// statusSigFormat tells the archive status's signed bytes from a
// manifest's and a binlog's (all are signed with the same keys).
const statusSigFormat = "spinops-binlog-status/1\n"

func statusPayload(b []byte) []byte { return append([]byte(statusSigFormat), b...) }

// verifiedStatus reads server's archive status and returns it when its
// signature verifies with keys (and it is server's), else nil.
func verifiedStatus(ctx context.Context, dest Store, keys *Keys, server string) *ArchiveStatus {
	key := serverBinlogDir(server) + statusObject
	b, err := readSmall(ctx, dest, key)
	if err != nil {
		return nil
	}
	sb, err := readSmall(ctx, dest, key+sigSuffix)
	if err != nil {
		return nil
	}
	if keys.verify(statusPayload(b), sb) != nil {
		return nil
	}
	var st ArchiveStatus
	if json.Unmarshal(b, &st) != nil || st.Server != server {
		return nil
	}
	return &st
}

// errNoArchive is returned when a backup's server has no archive at all.
var errNoArchive = errors.New("no binlog archive")
