package backup

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Archiver copies a server's binary log to the destination continuously with
// `mariadb-binlog --read-from-remote-server --raw --stop-never`, uploading
// each finished file and, every FlushInterval, the one being written, under
// the server's own folder (ServerKey).
type Archiver struct {
	Server        MySQLServer
	Dest          Store
	WorkDir       string
	Tool          string // mariadb-binlog (default) or mysqlbinlog
	FlushInterval time.Duration
	Log           *slog.Logger
	// Metrics, when set, is updated on every flush.
	Metrics *Metrics
	// Keys, when they can sign, sign every uploaded binlog object
	// (binlog_sign.go): a restore that verifies refuses unsigned ones.
	Keys *Keys

	mu       sync.Mutex             // guards server, which a failover changes
	server   string                 // the server key: Preflight's, then followServer's
	serverID uint32                 // its server_id
	scans    map[string]*binlogScan // local files scanned so far
	status   ArchiveStatus
	// streamStart is the file the current stream started from.
	streamStart string
	// compared is, for a file the stream is still receiving, how much of
	// it was found equal to its archived (or preserved) copy, which is
	// longer: compared again once it has doubled (otherHistory).
	compared map[string]int64
	// newestPreserved is the last file of the newest preserved history
	// and when it was opened, as olderThanPreserved last read it.
	newestPreserved struct {
		key    string
		size   int64
		opened time.Time
	}

	unsignedOnce sync.Once // the warning that binlogs go up unsigned
}

// errOtherServer: another server answers at the address than the one
// being archived (a failover behind the same name).
var errOtherServer = errors.New("another server answers at the address")

// Preflight refuses a server without a ROW binary log, wrong credentials
// and an unwritable destination, and learns the server's identity.
func (a *Archiver) Preflight(ctx context.Context) error {
	si, err := a.identify(ctx)
	if err != nil {
		return err
	}
	if err := si.checkPointInTime(a.Server.addr()); err != nil {
		return err
	}
	a.setServer(si)
	if _, err := exec.LookPath(a.tool()); err != nil {
		return fmt.Errorf("archiving binlogs needs %s (Debian: apt-get install mariadb-client): %w", a.tool(), err)
	}
	return CheckWritable(ctx, a.Dest)
}

// ServerKey is the archive folder of the server archived now (known after
// Preflight; a failover behind the address changes it).
func (a *Archiver) ServerKey() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.server
}

func (a *Archiver) setServer(si serverInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.server, a.serverID = si.Key(), si.ServerID
}

// workDir is the work directory of the server archived now, under WorkDir.
func (a *Archiver) workDir() string { return filepath.Join(a.WorkDir, a.ServerKey()) }

// identify reads who answers at the address now.
func (a *Archiver) identify(ctx context.Context) (serverInfo, error) {
	pool, err := a.Server.open("")
	if err != nil {
		return serverInfo{}, err
	}
	defer pool.Close()
	if err := pool.PingContext(ctx); err != nil {
		return serverInfo{}, connectError(a.Server, err)
	}
	return readServerInfo(ctx, pool)
}

// followServer runs before every stream: a failover behind the same
// address (an RDS or Cloud SQL endpoint, a DNS name, a VIP) puts another
// server there, whose files are numbered from 1 again, so archiving it
// under the old server's folder would write over the old server's files
// and extend the old server's window with the new one's writes. What was
// received from the old server is flushed to its own folder (files whose
// events came from another server are dropped: the new server still has
// them), and archiving goes on under the new server's folder. The old
// server's archive is left as it is.
func (a *Archiver) followServer(ctx context.Context, uploaded map[string]int64) error {
	si, err := a.identify(ctx)
	if err != nil {
		return err
	}
	if si.Key() == a.server {
		return nil
	}
	if err := si.checkPointInTime(a.Server.addr()); err != nil {
		return err
	}
	old := a.server
	if err := a.flush(ctx, uploaded, true); err != nil && !errors.Is(err, errOtherServer) {
		return fmt.Errorf("archiving what was received from %s before another server answered at %s: %w", old, a.Server.addr(), err)
	}
	if err := os.RemoveAll(a.workDir()); err != nil {
		return fmt.Errorf("removing the work directory of %s: %w", old, err)
	}
	a.Log.Warn("another server answers at the address (a failover or a replaced server): its binlogs are archived under its own folder, and the old server's archive is kept as it is",
		"address", a.Server.addr(), "was", old, "now", si.Key())
	a.setServer(si)
	a.startServer(ctx)
	clear(uploaded)
	return nil
}

// startServer begins archiving a.server: its status as last written, no
// local file scanned.
func (a *Archiver) startServer(ctx context.Context) {
	a.scans = map[string]*binlogScan{}
	a.status = ArchiveStatus{Server: a.server}
	if st, err := readStatus(ctx, a.Dest, serverBinlogDir(a.server)+statusObject); err == nil && st.Server == a.server {
		a.status = *st
	}
}

func (a *Archiver) tool() string {
	if a.Tool != "" {
		return a.Tool
	}
	return "mariadb-binlog"
}

// Run archives until ctx ends, restarting the streaming process when it
// exits (server restarts, network). Uploads finish before it returns.
func (a *Archiver) Run(ctx context.Context) error {
	if err := a.Preflight(ctx); err != nil {
		return err
	}
	if a.FlushInterval <= 0 {
		a.FlushInterval = 10 * time.Second
	}
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	a.startServer(ctx)
	uploaded := map[string]int64{}
	for {
		if err := a.followServer(ctx, uploaded); err != nil {
			if ctx.Err() != nil {
				return a.flush(context.WithoutCancel(ctx), uploaded, true)
			}
			// The server is away (a failover in progress, a restart):
			// try again, as after a stream that ended.
			a.Log.Warn("finding the server at the address failed; retrying", "address", a.Server.addr(), "error", err)
			select {
			case <-ctx.Done():
				return a.flush(context.WithoutCancel(ctx), uploaded, true)
			case <-time.After(5 * time.Second):
			}
			continue
		}
		if err := os.MkdirAll(a.workDir(), 0o750); err != nil {
			return fmt.Errorf("creating the work directory: %w", err)
		}
		start, err := a.startFile(ctx)
		if err != nil {
			return err
		}
		if err := a.beginStream(start, uploaded); err != nil {
			return err
		}
		a.Log.Info("archiving binlogs", "server", a.Server.addr(), "archive", a.server, "from", start, "destination", a.Dest.String())
		runErr := a.stream(ctx, start, uploaded)
		if ctx.Err() != nil {
			return a.flush(context.WithoutCancel(ctx), uploaded, true)
		}
		if errors.Is(runErr, errBinlogReset) {
			continue // the archive was preserved: start again from the server's oldest file
		}
		a.Log.Warn("binlog stream ended; restarting", "error", runErr)
		select {
		case <-ctx.Done():
			return a.flush(context.WithoutCancel(ctx), uploaded, true)
		case <-time.After(5 * time.Second):
		}
	}
}

// startFile is the newest file archived for this server (fetched again: it
// may be partial), or the oldest file the server still has. When the
// server no longer has the newest archived file, the archive has a gap:
// the window ends there (chainFrom reports it) and archiving goes on from
// what the server has.
func (a *Archiver) startFile(ctx context.Context) (string, error) {
	pool, err := a.Server.open("")
	if err != nil {
		return "", err
	}
	defer pool.Close()
	onServer, err := serverBinlogs(ctx, pool)
	if err != nil {
		return "", err
	}
	if len(onServer) == 0 {
		return "", errors.New("the server has no binary logs")
	}
	archives, _, err := listArchives(ctx, a.Dest)
	if err != nil {
		return "", err
	}
	if ar := archives[a.server]; ar != nil && len(ar.Files) > 0 {
		last := strings.TrimPrefix(ar.Files[len(ar.Files)-1].Key, serverBinlogDir(a.server))
		for _, f := range onServer {
			if f == last {
				return last, nil
			}
		}
		a.Log.Warn("the newest archived binlog is no longer on the server: the archive has a gap and the restore window ends before it",
			"archived", last, "oldest_on_server", onServer[0])
	}
	return onServer[0], nil
}

func serverBinlogs(ctx context.Context, pool *sql.DB) ([]string, error) {
	rows, err := pool.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("listing the server's binary logs (needs BINLOG MONITOR / REPLICATION CLIENT): %w", err)
	}
	defer rows.Close()
	var onServer []string
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		onServer = append(onServer, name)
	}
	return onServer, rows.Err()
}

func (a *Archiver) stream(ctx context.Context, start string, uploaded map[string]int64) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append([]string{"--read-from-remote-server", "--raw", "--stop-never"}, a.Server.cliArgs()...)
	args = append(args,
		"--stop-never-slave-server-id="+strconv.Itoa(4000000000+int(time.Now().UnixNano()%100000000)),
		"--result-file="+a.workDir()+string(filepath.Separator), start)
	cmd := exec.CommandContext(sctx, a.tool(), args...)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+a.Server.Password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", a.tool(), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(a.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			_ = a.flush(context.WithoutCancel(ctx), uploaded, false)
			return fmt.Errorf("%s exited: %v: %s", a.tool(), err, strings.TrimSpace(stderr.String()))
		case <-tick.C:
			err := a.flush(ctx, uploaded, false)
			if errors.Is(err, errOtherServer) || errors.Is(err, errBinlogReset) {
				cancel() // Run finds who answers now
				<-done   //nolint:errcheck // killed by the cancel: its exit status says nothing
				return err
			}
			if err != nil {
				a.Log.Warn("uploading binlogs failed; will retry", "error", err)
			}
		case <-ctx.Done():
			cancel()
			<-done           //nolint:errcheck // killed by the cancel: its exit status says nothing
			return ctx.Err() // Run uploads what arrived (its final flush)
		}
	}
}

// serverPosition is where the server's binary log ends, and the server's
// clock read just before: everything committed before At is at or before
// File:Position.
type serverPosition struct {
	At       time.Time
	File     string
	Position uint64
	// Server is the key of the server that answered.
	Server string
}

func readServerPosition(ctx context.Context, s MySQLServer) (serverPosition, error) {
	var p serverPosition
	pool, err := s.open("")
	if err != nil {
		return p, err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return p, connectError(s, err)
	}
	defer conn.Close()
	si, err := readServerInfo(ctx, conn)
	if err != nil {
		return p, err
	}
	p.Server = si.Key()
	var ts string
	if err := conn.QueryRowContext(ctx, "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')").Scan(&ts); err != nil {
		return p, fmt.Errorf("reading the server's clock: %w", err)
	}
	if p.At, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return p, err
	}
	p.File, p.Position, _, err = binaryLogStatus(ctx, conn)
	return p, err
}

// flush uploads every local file that grew (with its scan), removes
// finished files once archived, and rewrites the archive status. Before
// it first uploads a file in this run, it checks that the file continues
// the archive: a file of another history (the server's binary log was
// reset) first moves the archived history to a folder of its own
// (binlog_history.go), and flush returns errBinlogReset. The
// status says the archive is caught up only when the server's position,
// read before the upload, is inside what was archived.
//
// Only a.server's own files are uploaded under its folder: when another
// server answers at the address, a file whose first event (the format
// description the server wrote) carries another server_id is not
// uploaded, the status keeps its last position, and flush returns
// errOtherServer once every file of the archived server is up. (A file
// whose first event carries a server_id the server had before a runtime
// change, while the server answers with the same key (MySQL keys by
// server_uuid), is its own; on MariaDB the key holds the server_id, so a
// runtime change starts a new folder, as a new server would.)
func (a *Archiver) flush(ctx context.Context, uploaded map[string]int64, final bool) error {
	pos, posErr := readServerPosition(ctx, a.Server)
	other := posErr == nil && pos.Server != a.server
	entries, err := os.ReadDir(a.workDir())
	if errors.Is(err, fs.ErrNotExist) {
		entries, err = nil, nil
	}
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool { return binlogBefore(names[i], names[j]) })
	var flushErr error
	var archived []ObjectInfo  // listed when a file is first seen
	var preserved []ObjectInfo // listed for the first file the current folder lacks
	listed := false
	foreign := false
	for i, n := range names {
		p := filepath.Join(a.workDir(), n)
		sc, err := a.scanLocal(n, p)
		if err != nil {
			return err
		}
		if sc.ServerID != 0 && sc.ServerID != a.serverID && (other || posErr != nil) {
			a.Log.Warn("not archived: the binlog's events come from another server than the one archived",
				"file", n, "server_id", sc.ServerID, "archive", a.server)
			foreign = true
			continue // the archived server's other files still go up
		}
		if _, seen := uploaded[n]; !seen {
			if sc.Events == 0 {
				continue // nothing received yet to tell its history by
			}
			if !listed {
				// A move of the archived history left unfinished (its
				// marker) is finished before anything new is uploaded.
				if folder, err := movingTo(ctx, a.Dest, a.server); err != nil || folder != "" {
					if err == nil {
						_, _, err = preserveHistory(ctx, a.Dest, a.server)
					}
					if err != nil {
						flushErr = fmt.Errorf("finishing the move of the archived history after a reset: %w", err)
						break
					}
				}
				if archived, err = archivedFiles(ctx, a.Dest, a.server); err != nil {
					flushErr = err
					break
				}
				listed = true
			}
			// (The listing came before the scan: a later file listed was
			// opened after this one was closed, so the scan has all of it.)
			finished := sc.Complete || i < len(names)-1
			// A file the current folder lacks may be one a preserved
			// history holds (the files a rollback's snapshot kept: left
			// there, the current folder starts after them; and a second
			// archiver of the server must not take them, missing below
			// the new course's first file, for a reset).
			if !slices.ContainsFunc(archived, func(o ObjectInfo) bool { return o.Key == serverBinlogDir(a.server)+n }) {
				if preserved == nil {
					if preserved, err = a.preservedFiles(ctx); err != nil {
						flushErr = err
						break
					}
				}
				held, wait, err := a.heldInPreserved(ctx, n, p, sc, preserved, finished)
				if err != nil {
					flushErr = err
					break
				}
				if wait {
					break // (nor any later file: decided on the next flush)
				}
				older := false
				if !held {
					if older, err = a.olderThanPreserved(ctx, sc, preserved); err != nil {
						flushErr = err
						break
					}
					if older && !finished {
						continue // (never uploaded: told again, and let go, once it is finished)
					}
				}
				if held || older {
					if older {
						a.Log.Warn("not archived: the file was opened before the last file of the newest preserved history, so it is of an earlier course than the one archived now (retention removed it from the archive, or it never was archived)",
							"file", n, "archive", a.server)
					} else {
						a.Log.Info("not archived again: a preserved history holds this file (the server was rolled back to a snapshot that kept it)", "file", n, "archive", a.server)
					}
					uploaded[n] = sc.Size
					if !final {
						_ = os.Remove(p) // (finished: nothing more comes)
						delete(a.scans, n)
					}
					continue
				}
			}
			verdict, why, err := a.otherHistory(ctx, n, p, sc, archived, finished)
			if err == nil && verdict == newHistory {
				if err = a.historyReset(ctx, n, why, uploaded); err == nil {
					err = errBinlogReset
				}
			}
			if err != nil {
				flushErr = err
				break
			}
			if verdict == notYet {
				break // (nor any later file: decided on the next flush)
			}
			if verdict == staleCopy {
				a.Log.Warn("not archived: a local copy an earlier run left, of which the archive holds more or other bytes", "file", n, "archive", a.server)
				uploaded[n] = sc.Size
				continue
			}
		}
		current := i == len(names)-1
		if uploaded[n] != sc.Size {
			if err := a.upload(ctx, n, p, sc); err != nil {
				flushErr = err
				break
			}
			uploaded[n] = sc.Size
		}
		if !current && !final {
			// Finished (a later file was listed: nothing more comes, a
			// file a crash closed without a rotate event included) and
			// archived.
			_ = os.Remove(p)
			delete(a.scans, n)
		}
	}
	now := time.Now().UTC()
	a.status.HeartbeatAt = now
	switch {
	case posErr != nil:
		a.Log.Warn("reading the server's binlog position failed", "error", posErr)
	case other:
		// Its position says nothing about this server's archive.
		foreign = true
	default:
		a.status.ServerFile, a.status.ServerPosition = pos.File, pos.Position
		a.status.BehindBytes = int64(pos.Position)
		if sc, ok := a.scans[pos.File]; ok && uploaded[pos.File] == sc.Size {
			a.status.BehindBytes = max(0, int64(pos.Position)-sc.ValidSize)
		}
		if flushErr == nil && a.status.BehindBytes == 0 {
			a.status.CaughtUpAt, a.status.CaughtUpFile, a.status.CaughtUpPosition = pos.At, pos.File, pos.Position
		}
	}
	if a.Metrics != nil {
		a.Metrics.archiverFlushed(a.status, a.lastEventAt())
	}
	if errors.Is(flushErr, errBinlogReset) && final {
		return nil // the stream is over: the next one starts from the server's oldest file
	}
	if flushErr != nil {
		return flushErr // an upload failed: retried before anything moves on
	}
	if foreign {
		return errOtherServer
	}
	if len(names) == 0 {
		return nil
	}
	return writeStatus(ctx, a.Dest, a.status, a.Keys)
}

// beginStream readies the work directory for a stream from start. Every
// local file from start on is one the stream will write again, from its
// beginning: what was scanned or uploaded of it says nothing about what
// comes now (after a rollback, the server holds other files under those
// names), so it is forgotten, and the copy itself moved to prev/ (kept
// until the next stream). So every file from start on in the work
// directory is the current stream's, and one followed by a later file is
// finished: the stream closes a file before it opens the next.
func (a *Archiver) beginStream(start string, uploaded map[string]int64) error {
	a.streamStart = start
	a.compared = map[string]int64{}
	entries, err := os.ReadDir(a.workDir())
	if err != nil {
		return fmt.Errorf("reading the work directory: %w", err)
	}
	prev := filepath.Join(a.workDir(), "prev")
	if err := os.RemoveAll(prev); err != nil {
		return fmt.Errorf("removing the previous stream's files: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || binlogBefore(n, start) {
			continue
		}
		if err := os.MkdirAll(prev, 0o750); err != nil {
			return fmt.Errorf("creating %s: %w", prev, err)
		}
		if err := os.Rename(filepath.Join(a.workDir(), n), filepath.Join(prev, n)); err != nil {
			return fmt.Errorf("setting the previous stream's %s aside: %w", n, err)
		}
	}
	// (Files uploaded whole were removed from the directory: forgotten
	// by name.)
	for n := range uploaded {
		if !binlogBefore(n, start) {
			delete(uploaded, n)
		}
	}
	for n := range a.scans {
		if !binlogBefore(n, start) {
			delete(a.scans, n)
		}
	}
	return nil
}

func (a *Archiver) lastEventAt() time.Time {
	var t time.Time
	for _, sc := range a.scans {
		if sc.LastEventAt.After(t) {
			t = sc.LastEventAt
		}
	}
	return t
}

// scanLocal scans the new part of a local file.
func (a *Archiver) scanLocal(name, path string) (*binlogScan, error) {
	sc := a.scans[name]
	if sc == nil {
		sc = &binlogScan{BinlogFile: BinlogFile{Name: name}}
		a.scans[name] = sc
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(sc.ValidSize, io.SeekStart); err != nil {
		return nil, err
	}
	if err := sc.feed(f); err != nil {
		return nil, fmt.Errorf("the binlog %s received from the server: %w", name, err)
	}
	return sc, nil
}

// upload archives a file: the data first, then its signature (when the
// archiver has a key: the size and SHA-256 of the bytes uploaded), then
// its scan (the scan is a cache keyed by size; a reader rescans a file
// whose size differs).
func (a *Archiver) upload(ctx context.Context, name, path string, sc *binlogScan) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	key := serverBinlogDir(a.server) + name
	body := NewHashReader(io.LimitReader(f, sc.Size))
	if err := a.Dest.Put(ctx, key, body); err != nil {
		return fmt.Errorf("archiving binlog %s: %w", name, err)
	}
	if a.Keys.canSign() {
		if err := writeBinlogSig(ctx, a.Dest, a.Keys, a.server, key, name, body.Size(), body.Sum()); err != nil {
			return err
		}
	} else {
		a.unsignedOnce.Do(func() {
			if a.Log == nil {
				return
			}
			a.Log.Warn("no signing key (" + EnvSigningKey + " or " + EnvEd25519PrivateKey + "): archived binlogs are not signed, and a restore that verifies signatures refuses them without --allow-unsigned")
		})
	}
	b, _ := json.Marshal(sc.BinlogFile)
	if err := a.Dest.Put(ctx, key+scanSuffix, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("archiving binlog %s: %w", name, err)
	}
	return nil
}

func portOr(p int) int {
	if p == 0 {
		return 3306
	}
	return p
}

// replay applies archived binlogs from a backup's position up to a time,
// one database at a time (--database, --rewrite-db for renamed targets):
// `mariadb-binlog ... | mariadb`.
type replay struct {
	tool, client string
	log          *slog.Logger
}

// run replays the chain's local copies (paths) into the target databases
// (source name → database the rows go to), after checkReplay read every
// statement it would apply and found none that reaches past its database
// (binlog_statements.go): nothing runs when one does, and a statement that
// names its own database by name runs rewritten to name the target.
func (r replay) run(ctx context.Context, mm *MySQLManifest, paths []string, at time.Time, into map[string]string, s MySQLServer) error {
	tool, client := r.tool, r.client
	if tool == "" {
		tool = "mariadb-binlog"
	}
	if client == "" {
		client = "mariadb"
	}
	stop := at.UTC().Format("2006-01-02 15:04:05")
	dbs, err := serverDatabases(ctx, s)
	if err != nil {
		return err
	}
	rewrites, err := checkReplay(ctx, paths, mm.BinlogPosition, at, into, dbs)
	if err != nil {
		return err
	}
	for _, d := range mm.Databases {
		args := []string{"--start-position=" + strconv.FormatUint(mm.BinlogPosition, 10), "--stop-datetime=" + stop, "--database=" + d.Name}
		if target := into[d.Name]; target != d.Name {
			args = append(args, "--rewrite-db="+d.Name+"->"+target)
		}
		args = append(args, paths...)
		var filter func(io.Reader, io.Writer) error
		if plan := rewrites[d.Name]; len(plan) > 0 {
			filter = rewriteFilter(plan)
			r.log.Info("binlog statements naming the database rewritten to name the restored copy", "database", d.Name, "target", into[d.Name], "statements", len(plan))
		}
		if err := r.pipe(ctx, tool, args, nil, client, s, filter); err != nil {
			return fmt.Errorf("database %s: %w", d.Name, err)
		}
		r.log.Info("binlog replayed", "database", d.Name, "files", len(paths), "until", stop)
	}
	return nil
}

// serverDatabases lists the databases of s the user can see, lower case.
func serverDatabases(ctx context.Context, s MySQLServer) (map[string]bool, error) {
	pool, err := s.open("")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	names, err := queryStrings(ctx, pool, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("listing the databases of %s before the binlog replay: %w", s.addr(), connectError(s, err))
	}
	out := map[string]bool{}
	for _, n := range names {
		out[strings.ToLower(n)] = true
	}
	return out, nil
}

// pipe runs `tool args | client` into s (toolEnv is added to the tool's
// environment); with filter, the tool's output
// goes through it on its way to the client. When the filter fails, the
// client's input is closed where the filter stopped (the server rolls back
// a transaction left open) and the tool is stopped.
func (r replay) pipe(ctx context.Context, tool string, args, toolEnv []string, client string, s MySQLServer, filter func(io.Reader, io.Writer) error) error {
	dump := exec.CommandContext(ctx, tool, args...)
	dump.Env = append(append(os.Environ(), "TZ=UTC"), toolEnv...)
	apply := exec.CommandContext(ctx, client, append(s.cliArgs(), "--binary-mode")...)
	apply.Env = append(os.Environ(), "MYSQL_PWD="+s.Password, "TZ=UTC")
	var dumpErr, applyErr bytes.Buffer
	dump.Stderr, apply.Stderr = &dumpErr, &applyErr
	out, err := dump.StdoutPipe()
	if err != nil {
		return err
	}
	var in io.WriteCloser
	if filter == nil {
		apply.Stdin = out
	} else if in, err = apply.StdinPipe(); err != nil {
		return err
	}
	if err := dump.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", tool, err)
	}
	if err := apply.Start(); err != nil {
		_ = dump.Process.Kill()
		_ = dump.Wait()
		return fmt.Errorf("starting %s: %w", client, err)
	}
	var ferr error
	if filter != nil {
		ferr = filter(out, in)
		in.Close()
		if ferr != nil {
			_ = dump.Process.Kill()
		}
	}
	aerr := apply.Wait()
	derr := dump.Wait()
	switch {
	case ferr != nil && aerr != nil: // the client failing closes the filter's output
		return fmt.Errorf("%s: %v: %s", client, aerr, lastLines(applyErr.String()))
	case ferr != nil: // the tool was stopped: its exit says nothing
		return ferr
	case derr != nil:
		return fmt.Errorf("%s: %v: %s", tool, derr, lastLines(dumpErr.String()))
	case aerr != nil:
		return fmt.Errorf("%s: %v: %s", client, aerr, lastLines(applyErr.String()))
	}
	return nil
}

// lastLines is the end of a tool's error output: the client prints the
// whole failing statement (a BINLOG statement can be megabytes of base64)
// before the error itself.
func lastLines(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= 2000 {
		return s
	}
	return "..." + s[len(s)-2000:]
}

// fetchChain downloads the archive of m's server from m's binlog file into
// dir, scanning every file as it arrives (the bucket's cached scans are not
// trusted here), and returns the continuous chain and the local paths.
// When keys can verify (and AllowUnsigned is not set), every file must
// carry a valid signature (binlog_sign.go), and only its signed prefix is
// kept and scanned: the chain (its files' ends, Until) is what was signed.
func fetchChain(ctx context.Context, dest Store, keys *Keys, m *Manifest, dir string) (*Chain, []string, error) {
	mm := m.MySQL
	if mm.BinlogFile == "" {
		return nil, nil, fmt.Errorf("backup %s has no binlog position (the server ran without --log-bin): it cannot be rolled forward", m.ID)
	}
	archives, all, err := listArchives(ctx, dest)
	if err != nil {
		return nil, nil, err
	}
	var local Store = &downloadingStore{Store: dest, dir: dir}
	if keys.CanVerify() && !keys.AllowUnsigned {
		// Every history of the server is signed with its key.
		local = &verifyingStore{Store: dest, dir: dir, keys: keys, server: mm.ArchiveServer}
		// The caught-up check extends the window past the last event:
		// only a signed one.
		if ar := archives[mm.ArchiveServer]; ar != nil {
			ar.Status = verifiedStatus(ctx, dest, keys, ar.Server)
		}
	}
	sc := &scanner{dest: local, raw: dest, cache: map[string]*BinlogFile{}}
	c, err := backupChain(ctx, archives, all, sc, m)
	if errors.Is(err, errNoArchive) || mm.ArchiveServer == "" {
		return nil, nil, fmt.Errorf("%w for server %q of backup %s: is `spinops backup archive-binlogs` running?", errNoArchive, mm.ArchiveServer, m.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	paths := make([]string, len(c.Files))
	for i, f := range c.Files {
		paths[i] = filepath.Join(dir, f.Name)
	}
	return c, paths, nil
}

// downloadingStore keeps a local copy of every object read through it.
type downloadingStore struct {
	Store
	dir string
}

func (d *downloadingStore) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	rc, info, err := d.Store.Get(ctx, key)
	if err != nil {
		return nil, info, err
	}
	f, err := os.Create(filepath.Join(d.dir, filepath.Base(key)))
	if err != nil {
		rc.Close()
		return nil, info, err
	}
	return &teeCloser{Reader: io.TeeReader(rc, f), closers: []io.Closer{rc, f}}, info, nil
}

type teeCloser struct {
	io.Reader
	closers []io.Closer
}

func (t *teeCloser) Close() error {
	var first error
	for _, c := range t.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
